"""Building and refreshing the market store: the work of DataPhase1 and MorningEnrich.

Both merge the rows that passed the write-time gate into the published store's bars (new rows
win on a shared date; a blocked row never enters, so the stored row, if any, stays) and end the
same way (:func:`write_with_features`): every feature is recomputed over exactly those merged
histories, the bars that will be stored, with the merged macro series (features are causal, so
history rows come out identical and only new or changed rows are written), and every ticker and
macro series is upserted in one writer session, which publishes them together when it ends (a
failure halfway publishes nothing: readers keep the previous generation). An upsert of identical
rows writes nothing, so running an ingest twice for the same run_date leaves the market store
byte-identical.

DataPhase1 checks all of its input before its first write (:func:`ingest_market_data`): coverage,
the write-time row gate, the market index (present, covering the bars, fresh), backfill regression
of tickers and macro series, and the freshness of a seeded sample; a refusal writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from alpha_engine.store import (
    PRICE_COLUMNS,
    SOURCE_COLUMN,
    MarketStore,
    MarketStoreError,
    TradingCalendar,
    UpsertResult,
    content_digest,
    panel_from_frames,
)

from ._errors import QualityGateError
from ._quality import (
    Anomaly,
    anomalies_summary,
    backfill_regression,
    check_new_rows,
    coverage_gate,
    freshness_gate,
    split_blocked,
)
from .features import FEATURE_ORDER, FEATURES, compute_features, schema_hash

__all__ = [
    "MARKET_FEATURES",
    "EnrichReport",
    "IngestReport",
    "enrich_prior_session",
    "ingest_market_data",
    "latest_cross_section",
    "merge_rows",
    "published_bars",
    "require_market_index",
    "write_with_features",
]

_log = logging.getLogger(__name__)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def latest_cross_section(store: MarketStore, as_of: date, columns: Sequence[str] | None = None, *,
                         lookback_days: int = 10) -> pd.DataFrame:
    """Each ticker's latest stored row at or before ``as_of`` (within ``lookback_days``), one row
    per ticker, with the row's date in column ``date`` (YYYY-MM-DD)."""
    start = (pd.Timestamp(as_of) - pd.Timedelta(days=lookback_days)).date()
    frames = store.read_many(start=start, end=as_of, columns=list(columns) if columns is not None else None)
    rows = {t: f.iloc[-1] for t, f in frames.items() if len(f)}
    table = pd.DataFrame(rows).T
    table["date"] = [frames[t].index[-1].date().isoformat() for t in table.index]
    return table


@dataclass(frozen=True)
class WriteOutcome:
    upserts: tuple[UpsertResult, ...]
    frames: dict[str, pd.DataFrame]

    def modes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for result in self.upserts:
            out[result.mode] = out.get(result.mode, 0) + 1
        return dict(sorted(out.items()))


_BAR_COLUMNS = [*PRICE_COLUMNS, SOURCE_COLUMN]
MARKET_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if "SPY" in f.inputs)


def merge_rows(stored: Mapping[str, pd.DataFrame], new: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each symbol's bars as the store will hold them after upserting ``new``: the stored rows plus
    the new ones, a new row winning on a shared date (an upsert never deletes a row)."""
    out = {symbol: frame[_BAR_COLUMNS] for symbol, frame in stored.items() if symbol not in new}
    for symbol, rows in new.items():
        old = stored.get(symbol)
        if old is None:
            out[symbol] = rows[_BAR_COLUMNS]
        else:
            kept = old.loc[~old.index.isin(rows.index), _BAR_COLUMNS]
            out[symbol] = pd.concat([kept, rows[_BAR_COLUMNS]]).sort_index(kind="stable")
    return dict(sorted(out.items()))


def published_bars(store: MarketStore) -> tuple[int | None, dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The published generation, and its ticker bars and macro bars (no features); all empty for a
    store that does not exist yet."""
    if not store.libraries_present():
        return None, {}, {}
    generation = store.published_generation()
    bars = store.read_many(columns=_BAR_COLUMNS)
    macro = {s: f[_BAR_COLUMNS] for s, f in store.read_macro().items()}
    return generation, bars, macro


def write_with_features(store: MarketStore, bars: Mapping[str, pd.DataFrame], macro: Mapping[str, pd.DataFrame],
                        *, market_symbol: str, sector_of: Mapping[str, str],
                        read_generation: int | None) -> WriteOutcome:
    """Recompute features over ``bars`` and upsert every ticker and macro series, published together.

    ``bars`` and ``macro`` must be the full histories the store will hold (:func:`merge_rows` of the
    published rows and the new ones), so every stored feature is computed from exactly the stored
    bars. ``read_generation`` is the generation they were read from (:func:`published_bars`): if
    another writer published since, nothing is written and :class:`MarketStoreError` says so.
    """
    features = compute_features(panel_from_frames(bars), macro, market_symbol=market_symbol, sector_of=sector_of)
    frames: dict[str, pd.DataFrame] = {}
    by_ticker = features.by_ticker()
    for ticker, frame in bars.items():
        own = by_ticker[ticker].reindex(frame.index)
        frames[ticker] = pd.concat([frame[_BAR_COLUMNS], own], axis=1)
    with store.writer():
        if store.published_generation() != read_generation:
            raise MarketStoreError(f"market store {store.uri}: another writer published generation "
                                   f"{store.published_generation()} after this one read generation "
                                   f"{read_generation}; nothing was written: run the stage again")
        store.ensure_libraries()
        results = [store.upsert_macro(symbol, macro[symbol]) for symbol in sorted(macro)]
        results += store.upsert_many(frames)
    return WriteOutcome(tuple(results), frames)


def _gate_rows(bars: Mapping[str, pd.DataFrame], history: Mapping[str, pd.DataFrame],
               upgrade_to_block: Sequence[str]) -> tuple[dict[str, pd.DataFrame], list[Anomaly]]:
    clean: dict[str, pd.DataFrame] = {}
    anomalies: list[Anomaly] = []
    for ticker in sorted(bars):
        found = check_new_rows(ticker, bars[ticker], history.get(ticker), upgrade_to_block=upgrade_to_block)
        kept, _ = split_blocked(bars[ticker], found)
        anomalies.extend(found)
        if len(kept):
            clean[ticker] = kept
    return clean, anomalies


@dataclass(frozen=True)
class IngestReport:
    """What DataPhase1 built: JSON-ready facts, no wall-clock values (so reruns are identical)."""

    manifest: dict[str, Any]
    validation: dict[str, Any]
    constituents: dict[str, Any]
    modes: dict[str, int] = field(default_factory=dict)


def _last_dates(frames: Mapping[str, pd.DataFrame]) -> dict[str, date]:
    return {symbol: frame.index[-1].date() for symbol, frame in frames.items() if len(frame)}


def require_market_index(provider: Any, macro: Mapping[str, pd.DataFrame], start: date, as_of: date) -> None:
    """Raise :class:`QualityGateError` if the provider's macro series lack its market index: the
    market-relative features would be NaN for every ticker and date."""
    symbol = provider.market_symbol
    if symbol in macro:
        return
    location = getattr(provider, "macro_location", None)
    expected = f" (expected {location(symbol)})" if callable(location) else ""
    raise QualityGateError(
        f"market index missing: provider '{provider.name}' returned no {symbol} series for {start}..{as_of}"
        f"{expected}. The market-relative features ({', '.join(MARKET_FEATURES)}) need it: supply it, or set "
        f"data.provider_options.market_symbol to the index the source has. Nothing was written.")


def _check_market_index(bars: Mapping[str, pd.DataFrame], macro: Mapping[str, pd.DataFrame], market_symbol: str,
                        calendar: TradingCalendar, as_of: date, max_stale: int) -> dict[str, Any]:
    """The merged market index covers the merged bars (starts no later than the first bar) and is
    fresh; its facts for the manifest."""
    index = macro[market_symbol]
    first_bars = {t: f.index[0].date() for t, f in bars.items() if len(f)}
    if first_bars and len(index):
        earliest = min(first_bars.values())
        if index.index[0].date() > earliest:
            ticker = min(first_bars, key=lambda t: (first_bars[t], t))
            raise QualityGateError(
                f"market index {market_symbol} starts {index.index[0].date()}, after the first bar {earliest} "
                f"({ticker}): the market-relative features before it would be NaN; supply the index's history "
                f"from {earliest}, or lower data.history_years. Nothing was written.")
    last = index.index[-1].date() if len(index) else None
    stale = calendar.trading_days_stale(last, as_of) if last is not None else None
    if last is None or stale is None or stale > max_stale:
        raise QualityGateError(f"market index {market_symbol}: last close {last} is {stale} trading days behind "
                               f"{as_of} (max {max_stale}). Nothing was written.")
    return {"market_symbol_last_date": last.isoformat(), "market_symbol_stale_days": stale}


def ingest_market_data(*, provider: Any, store: MarketStore, calendar: TradingCalendar, run_date: date,
                       history_years: int, min_coverage: float, max_stale: int, postflight_sample: int,
                       upgrade_to_block: Sequence[str] = (), macro_provider: Any = None,
                       log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log) -> IngestReport:
    """DataPhase1: universe, prices, macro; every check; then features and one published write.

    Every check runs before the first write (a refusal leaves the store untouched, even on a fresh
    workspace): ticker coverage, the write-time row gate, the market index (present in the
    provider's macro series, covering the bars, fresh), backfill regression of tickers and macro
    series against the published store, and the freshness of a seeded universe sample. The checks
    and the features use the bars the store will hold: the published rows merged with the new ones.
    """
    as_of = calendar.as_of_session(run_date)
    start = _years_before(as_of, history_years)
    universe = provider.universe(run_date)
    log.info("universe: %d tickers from %s; bars %s..%s", len(universe), provider.name, start, as_of)
    bars = provider.daily_bars(universe, start, as_of)
    missing = coverage_gate(universe, bars.keys(), min_fraction=min_coverage)
    clean, anomalies = _gate_rows(bars, {}, upgrade_to_block)
    new_macro = provider.macro_series(None, start, as_of)
    if macro_provider is not None:
        new_macro = {**new_macro, **macro_provider.macro_series(None, start, as_of)}
    require_market_index(provider, new_macro, start, as_of)
    generation, stored, stored_macro = published_bars(store)
    after = _last_dates(clean)
    regressions = backfill_regression(_last_dates(stored), after)
    regressions += backfill_regression(_last_dates(stored_macro), _last_dates(new_macro))
    if regressions:
        raise QualityGateError("refusing the rebuild: it would move last dates backwards: "
                               + "; ".join(a.message for a in regressions[:20]) + ". Nothing was written.")
    merged, macro = merge_rows(stored, clean), merge_rows(stored_macro, new_macro)
    market = _check_market_index(merged, macro, provider.market_symbol, calendar, as_of, max_stale)
    stale = freshness_gate(_last_dates(merged), as_of, calendar, max_stale=max_stale, sample=postflight_sample,
                           seed=run_date.toordinal())
    postflight = {**market, "sample_max_stale_days": max(stale.values(), default=0), "sample_size": len(stale),
                  "max_stale": max_stale}
    log.info("writing %d tickers and %d macro series with %d features", len(merged), len(macro), len(FEATURE_ORDER))
    outcome = write_with_features(store, merged, macro, market_symbol=provider.market_symbol,
                                  sector_of=provider.sector_map(), read_generation=generation)
    blocked = {(a.ticker, a.day) for a in anomalies if a.severity == "block"}  # rows, not anomalies
    manifest = {
        "run_date": run_date.isoformat(),
        "as_of_session": as_of.isoformat(),
        "history": {"start": start.isoformat(), "end": as_of.isoformat()},
        "provider": provider.name,
        "caveats": list(provider.caveats),
        "market_symbol": provider.market_symbol,
        "universe": {"expected": len(universe), "received": len(bars), "written": len(clean),
                     "missing": missing},
        "rows": int(sum(len(f) for f in outcome.frames.values())),
        "last_dates": {t: d.isoformat() for t, d in sorted(after.items())},
        "macro_symbols": sorted(macro),
        "features": {"count": len(FEATURE_ORDER), "schema_hash": schema_hash()},
        "data_sha256": content_digest(outcome.frames),
        "quality": {**anomalies_summary(anomalies), "blocked_rows": len(blocked)},
        "postflight": postflight,
    }
    validation = {"run_date": run_date.isoformat(), "anomalies": [a.to_json() for a in anomalies]}
    constituents = {"run_date": run_date.isoformat(), "provider": provider.name, "tickers": sorted(universe),
                    "count": len(universe), "sector_map": dict(sorted(provider.sector_map().items())),
                    "caveats": list(provider.caveats)}
    return IngestReport(manifest, validation, constituents, outcome.modes())


def _window_bars(provider: Any, tickers: Sequence[str], window: Sequence[date]) -> dict[str, pd.DataFrame]:
    """The window's bars: one grouped-daily request per session where the provider has it
    (polygon: 5 requests instead of one per ticker), else a per-ticker range request."""
    if not hasattr(provider, "grouped_daily"):
        return dict(provider.daily_bars(tickers, window[0], window[-1]))
    rows: dict[str, list[pd.DataFrame]] = {}
    for session in window:
        for ticker, row in provider.grouped_daily(session, tickers).items():
            rows.setdefault(ticker, []).append(row)
    return {ticker: pd.concat(parts).sort_index() for ticker, parts in rows.items()}


@dataclass(frozen=True)
class EnrichReport:
    summary: dict[str, Any]
    anomalies: list[Anomaly]


def enrich_prior_session(*, provider: Any, store: MarketStore, calendar: TradingCalendar, run_date: date,
                         window_sessions: int = 5, upgrade_to_block: Sequence[str] = (),
                         macro_provider: Any = None,
                         log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log) -> EnrichReport:
    """MorningEnrich: refetch the last sessions up to the prior trading day and re-append them."""
    if not store.libraries_present() or not store.tickers():
        log.info("the market store is empty: nothing to refresh (DataPhase1 builds it)")
        return EnrichReport({"status": "skipped", "reason": "market store empty"}, [])
    target = calendar.as_of_session(run_date)
    window = calendar.sessions(_years_before(target, 1), target)[-window_sessions:]
    generation, history, stored_macro = published_bars(store)
    tickers = sorted(history)
    fresh = _window_bars(provider, tickers, window)
    prior = {t: h.loc[h.index < pd.Timestamp(window[0])] for t, h in history.items()}
    clean, anomalies = _gate_rows(fresh, prior, upgrade_to_block)
    combined = merge_rows(history, {t: rows for t, rows in clean.items() if t in history})
    new_macro = provider.macro_series(sorted(stored_macro), window[0], target)
    if macro_provider is not None:
        new_macro = {**new_macro, **macro_provider.macro_series(None, window[0], target)}
    macro = merge_rows(stored_macro, {s: rows for s, rows in new_macro.items() if s in stored_macro})
    outcome = write_with_features(store, combined, macro, market_symbol=provider.market_symbol,
                                  sector_of=provider.sector_map(), read_generation=generation)
    newest = max((f.index[-1].date() for f in combined.values() if len(f)), default=None)
    summary = {"status": "ok", "target_session": target.isoformat(), "window": [window[0].isoformat(),
               target.isoformat()], "tickers": len(tickers), "refreshed": len(clean), "writes": outcome.modes(),
               "newest_bar": newest.isoformat() if newest else None,
               "quality": anomalies_summary(anomalies)}
    return EnrichReport(summary, anomalies)


