"""What the Backtester simulates on: the market store's closes over the window, the index, the
sectors, and the weekly signals (stored, or synthetic when too few are stored).

Every check raises :class:`BacktestInputError` naming the store or key, what is wrong and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ._backtester_options import BacktesterOptions
from ._errors import BacktestInputError
from ._inputs import BacktestInputs, close_panel, signals_panel
from ._synthetic_signals import SYNTHETIC_SIGNAL_NOTE, synthetic_signal_arrays

if TYPE_CHECKING:
    from alpha_engine.store import MarketStore

__all__ = ["BacktesterData", "load_backtester_data", "stored_signal_keys"]

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class BacktesterData:
    """The inputs, which signals they carry (``stored`` | ``synthetic``) and the notes to report."""

    inputs: BacktestInputs
    signal_source: str
    signal_keys: tuple[str, ...]
    notes: tuple[str, ...]


def stored_signal_keys(list_keys: Callable[[str], list[str]], prefix: str, matches: Callable[[str], bool],
                       start: date, end: date) -> list[tuple[date, str]]:
    """The signals documents dated in [start, end], oldest first."""
    out = []
    for key in list_keys(prefix):
        found = _DATE.search(key)
        if matches(key) and found and start.isoformat() <= found.group(1) <= end.isoformat():
            out.append((date.fromisoformat(found.group(1)), key))
    return sorted(out)


def _read_documents(keys: Sequence[tuple[date, str]], read_json: Callable[[str], Any]) -> dict[date, Mapping[str, Any]]:
    documents: dict[date, Mapping[str, Any]] = {}
    for when, key in keys:
        try:
            document = read_json(key)
        except Exception as exc:  # the store's errors (corrupt JSON, broken contract) name the key already
            raise BacktestInputError(f"signals {key!r} cannot be read: {exc}; rerun Research for {when} or remove "
                                     "the document") from exc
        if not isinstance(document, Mapping):
            raise BacktestInputError(f"signals {key!r} is not a JSON object; rerun Research for {when}")
        documents[when] = document
    return documents


def load_backtester_data(market: MarketStore, *, as_of: date, options: BacktesterOptions, market_symbol: str,
                         sector_map: Mapping[str, str], signal_keys: Sequence[tuple[date, str]],
                         read_json: Callable[[str], Any]) -> BacktesterData:
    """Closes of every universe ticker over the last ``options.years`` up to ``as_of`` (gaps of up
    to 5 days carried forward), the index ``market_symbol`` on the same days, and the signals."""
    where = f"market store {market.uri}"
    if not market.libraries_present() or not (tickers := market.tickers()):
        raise BacktestInputError(f"{where} has no universe tickers: DataPhase1 builds it (run it for this run_date)")
    start = as_of - timedelta(days=int(round(options.years * 365.25)))
    frames = {t: f for t, f in market.read_many(tickers, start=start, end=as_of, columns=["Close"]).items() if len(f)}
    if not frames:
        raise BacktestInputError(f"{where}: no closes between {start} and {as_of} for any of {len(tickers)} tickers; "
                                 "run DataPhase1 for this run_date")
    dates, names, close = close_panel(frames)
    bad = ~np.isnan(close) & ~(np.isfinite(close) & (close > 0))
    if bad.any():
        day, col = np.argwhere(bad)[0]
        raise BacktestInputError(f"{where}: universe/{names[col]} has a close of {close[day, col]} on {dates[day]} "
                                 "(closes must be positive and finite); repair its bars (rerun DataPhase1)")
    if len(dates) < 250:
        raise BacktestInputError(f"{where}: {len(dates)} sessions of closes between {dates[0]} and {dates[-1]}; the "
                                 "backtester needs at least 250 (load more history)")
    notes: list[str] = []
    index_close = None
    if market_symbol and market_symbol in market.macro_symbols():
        import pandas as pd

        series = market.read_macro([market_symbol], start=start, end=as_of)[market_symbol]["Close"].astype(float)
        series.index = pd.DatetimeIndex(series.index).normalize()
        aligned = series.reindex(pd.DatetimeIndex(dates.astype("datetime64[ns]"))).ffill(limit=5)
        index_close = np.ascontiguousarray(aligned.to_numpy(dtype=np.float64))
    else:
        notes.append(f"no market index {market_symbol!r} in the market store: alpha against the index is undefined")
    sector_names = sorted({sector_map.get(t, "unknown") for t in names})
    sector_of = np.asarray([sector_names.index(sector_map.get(t, "unknown")) for t in names], np.int64)
    documents = _read_documents(signal_keys, read_json)
    early = [when for when in documents if np.datetime64(when, "D") < dates[0]]
    for when in early:  # before the first session of closes: nothing to act on
        del documents[when]
    if early:
        notes.append(f"{len(early)} stored signal date(s) before the first session {dates[0]} were left out")
    use_stored = options.signal_source == "stored" or (
        options.signal_source == "auto" and len(documents) >= options.min_signal_dates)
    if use_stored:
        if len(documents) < 2:
            raise BacktestInputError(f"signal_source 'stored' needs stored signals/{{date}}/signals.json of past weeks; "
                                     f"{len(documents)} found between {start} and {as_of} (run Research weekly, or set "
                                     "signal_source = 'auto')")
        arrays, signal_notes = signals_panel(documents, dates, names)
        notes.extend(signal_notes)
        source = "stored"
    else:
        arrays = synthetic_signal_arrays(dates, close, min_score=options.synthetic_min_score,
                                         top_n=options.synthetic_top_n, exit_below=options.synthetic_exit_below)
        source = "synthetic"
        only = " (only this week's)" if len(documents) == 1 else ""
        notes.append(f"{SYNTHETIC_SIGNAL_NOTE}: {len(documents)} stored signal date(s) in the window{only}, fewer "
                     f"than min_signal_dates = {options.min_signal_dates}")
    inputs = BacktestInputs(dates=dates, tickers=names, close=close, sector_of=sector_of, sectors=tuple(sector_names),
                            index_close=index_close, notes=tuple(notes), **arrays)
    if not inputs.signal_day.any():
        raise BacktestInputError(f"no signal day falls inside the window {dates[0]}..{dates[-1]}: nothing to simulate")
    return BacktesterData(inputs=inputs, signal_source=source, signal_keys=tuple(k for _, k in signal_keys),
                          notes=tuple(notes))
