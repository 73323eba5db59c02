"""Building and refreshing the market store: the work of DataPhase1 and MorningEnrich.

Both end the same way (:func:`write_with_features`): the bars that passed the write-time gate
are aligned into a panel, every feature is recomputed over the full history (features are
causal, so history rows come out identical and only new or changed rows are written), and
each ticker is upserted. An upsert of identical rows writes nothing, so running an ingest
twice for the same run_date leaves the market store byte-identical.
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
from .features import FEATURE_ORDER, compute_features, schema_hash

__all__ = [
    "EnrichReport",
    "IngestReport",
    "enrich_prior_session",
    "ingest_market_data",
    "latest_cross_section",
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


def write_with_features(store: MarketStore, bars: Mapping[str, pd.DataFrame], macro: Mapping[str, pd.DataFrame],
                        *, market_symbol: str, sector_of: Mapping[str, str]) -> WriteOutcome:
    """Recompute features over ``bars`` (full histories) and upsert every ticker and macro series."""
    features = compute_features(panel_from_frames(bars), macro, market_symbol=market_symbol, sector_of=sector_of)
    frames: dict[str, pd.DataFrame] = {}
    by_ticker = features.by_ticker()
    for ticker, frame in bars.items():
        own = by_ticker[ticker].reindex(frame.index)
        frames[ticker] = pd.concat([frame[[*PRICE_COLUMNS, SOURCE_COLUMN]], own], axis=1)
    with store.writer():
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


def ingest_market_data(*, provider: Any, store: MarketStore, calendar: TradingCalendar, run_date: date,
                       history_years: int, min_coverage: float, max_stale: int, postflight_sample: int,
                       upgrade_to_block: Sequence[str] = (), macro_provider: Any = None,
                       log: logging.Logger | logging.LoggerAdapter[logging.Logger] = _log) -> IngestReport:
    """DataPhase1: universe, prices, macro, features -> market store, then the postflight."""
    as_of = calendar.as_of_session(run_date)
    start = _years_before(as_of, history_years)
    universe = provider.universe(run_date)
    log.info("universe: %d tickers from %s; bars %s..%s", len(universe), provider.name, start, as_of)
    bars = provider.daily_bars(universe, start, as_of)
    missing = coverage_gate(universe, bars.keys(), min_fraction=min_coverage)
    clean, anomalies = _gate_rows(bars, {}, upgrade_to_block)
    before = store.last_dates() if store.libraries_present() else {}
    after = {t: f.index[-1].date() for t, f in clean.items()}
    regressions = backfill_regression(before, after)
    if regressions:
        raise QualityGateError("refusing the rebuild: it would move last dates backwards: "
                               + "; ".join(a.message for a in regressions[:20]))
    macro = provider.macro_series(None, start, as_of)
    if macro_provider is not None:
        macro = {**macro, **macro_provider.macro_series(None, start, as_of)}
    log.info("writing %d tickers and %d macro series with %d features", len(clean), len(macro), len(FEATURE_ORDER))
    outcome = write_with_features(store, clean, macro, market_symbol=provider.market_symbol,
                                  sector_of=provider.sector_map())
    postflight = run_postflight(store, calendar, as_of, market_symbol=provider.market_symbol,
                                max_stale=max_stale, sample=postflight_sample, seed=run_date.toordinal())
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


def run_postflight(store: MarketStore, calendar: TradingCalendar, as_of: date, *, market_symbol: str,
                   max_stale: int, sample: int, seed: int) -> dict[str, Any]:
    """Latest close present for the market symbol and a seeded universe sample fresh; raise if not."""
    macro_last = store.macro_last_dates()
    if market_symbol not in macro_last:
        raise QualityGateError(f"postflight: market symbol {market_symbol} is not in the macro library")
    market_stale = calendar.trading_days_stale(macro_last[market_symbol], as_of)
    if market_stale > max_stale:
        raise QualityGateError(
            f"postflight: {market_symbol} last close {macro_last[market_symbol]} is {market_stale} trading days "
            f"behind {as_of} (max {max_stale})"
        )
    stale = freshness_gate(store.last_dates(), as_of, calendar, max_stale=max_stale, sample=sample, seed=seed)
    return {"market_symbol_last_date": macro_last[market_symbol].isoformat(),
            "market_symbol_stale_days": market_stale, "sample_max_stale_days": max(stale.values(), default=0),
            "sample_size": len(stale), "max_stale": max_stale}


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
    tickers = store.tickers()
    fresh = _window_bars(provider, tickers, window)
    history = store.read_many(tickers, columns=[*PRICE_COLUMNS, SOURCE_COLUMN])
    prior = {t: h.loc[h.index < pd.Timestamp(window[0])] for t, h in history.items()}
    clean, anomalies = _gate_rows(fresh, prior, upgrade_to_block)
    combined = {}
    for ticker, frame in history.items():
        rows = clean.get(ticker)
        merged = frame if rows is None else pd.concat([frame.loc[~frame.index.isin(rows.index)], rows]).sort_index()
        combined[ticker] = merged
    macro_symbols = store.macro_symbols()
    stored_macro = store.read_macro(macro_symbols)
    new_macro = provider.macro_series(macro_symbols, window[0], target)
    if macro_provider is not None:
        new_macro = {**new_macro, **macro_provider.macro_series(None, window[0], target)}
    macro = {}
    for symbol, frame in stored_macro.items():
        rows = new_macro.get(symbol)
        base = frame[[*PRICE_COLUMNS, SOURCE_COLUMN]]
        macro[symbol] = base if rows is None else pd.concat(
            [base.loc[~base.index.isin(rows.index)], rows]).sort_index()
    outcome = write_with_features(store, combined, macro, market_symbol=provider.market_symbol,
                                  sector_of=provider.sector_map())
    newest = max((f.index[-1].date() for f in combined.values() if len(f)), default=None)
    summary = {"status": "ok", "target_session": target.isoformat(), "window": [window[0].isoformat(),
               target.isoformat()], "tickers": len(tickers), "refreshed": len(clean), "writes": outcome.modes(),
               "newest_bar": newest.isoformat() if newest else None,
               "quality": anomalies_summary(anomalies)}
    return EnrichReport(summary, anomalies)


