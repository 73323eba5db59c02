"""What the simulators read: a close panel and the research signals as aligned arrays.

Shapes: ``D`` trading days, ``T`` tickers, ``S`` sectors. Everything is a numpy array aligned on
``dates`` x ``tickers``; :func:`signals_panel` builds the signal arrays from ``signals.json``
documents (the research contract), :func:`synthetic_inputs` a seeded random panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from ._errors import BacktestInputError

__all__ = ["ACTIONS", "CONVICTIONS", "REGIMES", "SECTOR_RATINGS", "BacktestInputs", "close_panel", "signals_panel",
           "synthetic_inputs"]

# Codes of the int8 signal arrays; index = code.
ACTIONS = ("HOLD", "ENTER", "EXIT", "REDUCE")
CONVICTIONS = ("stable", "rising", "declining")
SECTOR_RATINGS = ("market_weight", "overweight", "underweight")
REGIMES = ("neutral", "bull", "bear")

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BacktestInputs:
    """A close panel with its research signals, day-aligned.

    Attributes
    ----------
    dates : datetime64[D] array of shape (D,), strictly increasing trading days
    tickers : tuple of T names
    close : float64 array of shape (D, T); NaN = no price that day (not tradable)
    sector_of : int64 array of shape (T,), index into ``sectors``
    sectors : tuple of S names
    signal_day : bool array of shape (D,); research actions, entries included, apply on these days only
    regime : int8 array of shape (D,), codes of :data:`REGIMES` (carried forward between signal days)
    action : int8 array of shape (D, T), codes of :data:`ACTIONS` (HOLD where a ticker has no record)
    score : float64 (D, T) research score 0..100 (NaN = none)
    conviction : int8 (D, T) codes of :data:`CONVICTIONS`
    sector_rating : int8 (D, T) codes of :data:`SECTOR_RATINGS`
    upside : float64 (D, T) price-target upside (NaN = none)
    veto : bool (D, T) the predictor's veto of an entry
    confidence : float64 (D, T) prediction confidence 0..1 for sizing (NaN = none: no adjustment)
    sector_close : float64 (D, S) or None; a sector benchmark (e.g. its ETF). None: the equal-weight
        mean of the sector members' returns stands in for it
    index_close : float64 (D,) or None; the market index, for alpha
    """

    dates: npt.NDArray[np.datetime64]
    tickers: tuple[str, ...]
    close: F64
    sector_of: npt.NDArray[np.int64]
    sectors: tuple[str, ...]
    signal_day: npt.NDArray[np.bool_]
    regime: npt.NDArray[np.int8]
    action: npt.NDArray[np.int8]
    score: F64
    conviction: npt.NDArray[np.int8]
    sector_rating: npt.NDArray[np.int8]
    upside: F64
    veto: npt.NDArray[np.bool_]
    confidence: F64
    sector_close: F64 | None = None
    index_close: F64 | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n_days, n_tickers = len(self.dates), len(self.tickers)
        if n_days < 2 or n_tickers < 1:
            raise BacktestInputError(f"backtest inputs: need at least 2 days and 1 ticker, got {n_days} x {n_tickers}")
        if not np.all(np.diff(self.dates.astype("datetime64[D]").astype(np.int64)) > 0):
            raise BacktestInputError("backtest inputs: dates must be strictly increasing; sort and deduplicate them")
        if len(set(self.tickers)) != n_tickers:
            raise BacktestInputError("backtest inputs: tickers must be unique")
        grid = {"close": (self.close, np.float64), "action": (self.action, np.int8), "score": (self.score, np.float64),
                "conviction": (self.conviction, np.int8), "sector_rating": (self.sector_rating, np.int8),
                "upside": (self.upside, np.float64), "veto": (self.veto, np.bool_),
                "confidence": (self.confidence, np.float64)}
        for name, (array, dtype) in grid.items():
            _check(name, array, (n_days, n_tickers), dtype)
        _check("signal_day", self.signal_day, (n_days,), np.bool_)
        _check("regime", self.regime, (n_days,), np.int8)
        _check("sector_of", self.sector_of, (n_tickers,), np.int64)
        if self.sector_of.min() < 0 or self.sector_of.max() >= len(self.sectors):
            raise BacktestInputError(f"backtest inputs: sector_of must index sectors (0..{len(self.sectors) - 1})")
        if self.sector_close is not None:
            _check("sector_close", self.sector_close, (n_days, len(self.sectors)), np.float64)
        if self.index_close is not None:
            _check("index_close", self.index_close, (n_days,), np.float64)
        for name, array, top in (("action", self.action, len(ACTIONS)), ("conviction", self.conviction, len(CONVICTIONS)),
                                 ("sector_rating", self.sector_rating, len(SECTOR_RATINGS)),
                                 ("regime", self.regime, len(REGIMES))):
            if array.size and (array.min() < 0 or array.max() >= top):
                raise BacktestInputError(f"backtest inputs: {name} has codes outside 0..{top - 1}")
        if np.any(self.close <= 0.0):
            day, col = np.argwhere(self.close <= 0.0)[0]
            raise BacktestInputError(f"backtest inputs: close of {self.tickers[col]} on {self.dates[day]} is not "
                                     "positive; drop the bar or set it to NaN")

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.dates), len(self.tickers)


def _check(name: str, array: Any, shape: tuple[int, ...], dtype: type) -> None:
    if not isinstance(array, np.ndarray) or array.shape != shape or array.dtype != np.dtype(dtype):
        got = f"{type(array).__name__} {getattr(array, 'shape', '?')} {getattr(array, 'dtype', '?')}"
        raise BacktestInputError(f"backtest inputs: {name} must be a {np.dtype(dtype)} array of shape {shape}, got {got}")
    if not array.flags.c_contiguous:
        raise BacktestInputError(f"backtest inputs: {name} must be C-contiguous (np.ascontiguousarray)")


def _empty_signals(n_days: int, n_tickers: int) -> dict[str, Any]:
    return {"signal_day": np.zeros(n_days, np.bool_), "regime": np.zeros(n_days, np.int8),
            "action": np.zeros((n_days, n_tickers), np.int8), "score": np.full((n_days, n_tickers), np.nan),
            "conviction": np.zeros((n_days, n_tickers), np.int8),
            "sector_rating": np.zeros((n_days, n_tickers), np.int8), "upside": np.full((n_days, n_tickers), np.nan),
            "veto": np.zeros((n_days, n_tickers), np.bool_), "confidence": np.full((n_days, n_tickers), np.nan)}


def signals_panel(documents: Mapping[date, Mapping[str, Any]], dates: Sequence[date] | npt.NDArray[np.datetime64],
                  tickers: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The signal arrays of :class:`BacktestInputs` from ``signals/{date}/signals.json`` documents.

    A document dated ``d`` (a Saturday run) applies on the first trading day on or after ``d``.
    Records come from ``universe`` then ``buy_candidates`` (a buy candidate wins a duplicate
    ticker). The regime carries forward to the next document. Returns the arrays (keyword
    arguments of :class:`BacktestInputs`) and notes on what was dropped (tickers outside the
    panel, documents after the last day).
    """
    day_axis = np.asarray(dates, dtype="datetime64[D]")
    column = {ticker: i for i, ticker in enumerate(tickers)}
    arrays = _empty_signals(len(day_axis), len(column))
    notes: list[str] = []
    regime_from: list[tuple[int, int]] = []
    unknown: set[str] = set()
    for when in sorted(documents):
        document = documents[when]
        day = int(np.searchsorted(day_axis, np.datetime64(when, "D")))
        if day >= len(day_axis):
            notes.append(f"signals of {when} fall after the last day of the panel; ignored")
            continue
        arrays["signal_day"][day] = True
        regime_from.append((day, REGIMES.index(str(document.get("market_regime", "neutral")))))
        records = {str(r["ticker"]): r for r in document.get("universe", [])}
        records.update({str(r["ticker"]): r for r in document.get("buy_candidates", [])})
        for ticker, record in records.items():
            col = column.get(ticker)
            if col is None:
                unknown.add(ticker)
                continue
            arrays["action"][day, col] = ACTIONS.index(str(record.get("signal", "HOLD")))
            score = record.get("score")
            arrays["score"][day, col] = np.nan if score is None else float(score)
            arrays["conviction"][day, col] = CONVICTIONS.index(str(record.get("conviction", "stable")))
            arrays["sector_rating"][day, col] = SECTOR_RATINGS.index(str(record.get("sector_rating", "market_weight")))
            upside = record.get("price_target_upside")
            arrays["upside"][day, col] = np.nan if upside is None else float(upside)
    for (start, code), (stop, _) in zip(regime_from, [*regime_from[1:], (len(day_axis), 0)], strict=True):
        arrays["regime"][start:stop] = code
    if unknown:
        notes.append(f"{len(unknown)} signalled tickers are not in the panel and were ignored: "
                     f"{', '.join(sorted(unknown)[:10])}")
    return arrays, notes


def synthetic_inputs(n_tickers: int, n_days: int, *, seed: int, n_sectors: int = 11, signal_every: int = 5,
                     enter_per_signal: int = 20, exit_per_signal: int = 3, reduce_per_signal: int = 2,
                     gap_probability: float = 0.002, vol_range: tuple[float, float] = (0.01, 0.03),
                     veto_probability: float = 0.05, sector_correlation: float = 0.3) -> BacktestInputs:
    """A seeded random panel: geometric random-walk closes with a few NaN gaps, a weekly signal day
    (``signal_every`` trading days) with ``enter_per_signal`` ENTERs by score and a few research
    EXITs and REDUCEs, random regimes, ratings, convictions, upsides, vetoes and confidences.
    Two names of one sector have return correlation ``sector_correlation``.
    Same arguments, same arrays."""
    rng = np.random.default_rng(seed)
    vol = rng.uniform(*vol_range, size=n_tickers)
    drift = rng.normal(0.0002, 0.0004, size=n_tickers)
    sector_of = rng.integers(0, n_sectors, size=n_tickers).astype(np.int64)
    factor = rng.standard_normal((n_days, n_sectors))[:, sector_of]
    shocks = (np.sqrt(sector_correlation) * factor
              + np.sqrt(1.0 - sector_correlation) * rng.standard_normal((n_days, n_tickers)))
    log_returns = shocks * vol + drift
    close = 50.0 * np.exp(np.cumsum(log_returns, axis=0) + rng.uniform(-1.0, 2.0, size=n_tickers))
    close[rng.random((n_days, n_tickers)) < gap_probability] = np.nan
    arrays = _empty_signals(n_days, n_tickers)
    signal_days = np.arange(0, n_days, signal_every)
    arrays["signal_day"][signal_days] = True
    regime = 0
    for day in signal_days:
        regime = int(rng.choice(3, p=(0.5, 0.35, 0.15))) if rng.random() < 0.2 else regime
        arrays["regime"][day:] = regime
        score = rng.uniform(20.0, 100.0, size=n_tickers)
        arrays["score"][day] = score
        order = np.argsort(-score, kind="stable")
        arrays["action"][day, order[:enter_per_signal]] = 1
        rest = rng.permutation(order[enter_per_signal:])
        arrays["action"][day, rest[:exit_per_signal]] = 2
        arrays["action"][day, rest[exit_per_signal:exit_per_signal + reduce_per_signal]] = 3
        arrays["conviction"][day] = rng.choice(3, size=n_tickers, p=(0.6, 0.25, 0.15))
        arrays["sector_rating"][day] = rng.choice(3, size=n_tickers, p=(0.6, 0.2, 0.2))
        arrays["upside"][day] = np.where(rng.random(n_tickers) < 0.2, np.nan, rng.normal(0.1, 0.1, n_tickers))
        arrays["veto"][day] = rng.random(n_tickers) < veto_probability
        arrays["confidence"][day] = np.where(rng.random(n_tickers) < 0.3, np.nan, rng.uniform(0.0, 1.0, n_tickers))
    dates = np.busday_offset(np.datetime64("2015-01-02", "D"), np.arange(n_days), roll="forward")
    index_close = 100.0 * np.exp(np.cumsum(rng.standard_normal(n_days) * 0.01 + 0.0003))
    return BacktestInputs(dates=dates, tickers=tuple(f"T{i:04d}" for i in range(n_tickers)),
                          close=np.ascontiguousarray(close),
                          sector_of=sector_of, sectors=tuple(f"S{i:02d}" for i in range(n_sectors)),
                          index_close=index_close, notes=(f"synthetic panel, seed {seed}",), **arrays)


def close_panel(frames: Mapping[str, Any], *, max_fill_days: int = 5) -> tuple[npt.NDArray[np.datetime64],
                                                                              tuple[str, ...], F64]:
    """(dates, tickers, close) from per-ticker bar frames (``MarketStore.read_many``, a provider's
    ``daily_bars``: a DatetimeIndex and a ``Close`` column). Days are the union of the frames'
    days; a missing close is carried forward at most ``max_fill_days`` days (ref §1.1), then NaN."""
    import pandas as pd

    if not frames:
        raise BacktestInputError("close_panel: no bar frames given; read some tickers first")
    tickers = tuple(sorted(frames))
    wide = pd.concat({t: frames[t]["Close"].astype("float64") for t in tickers}, axis=1).sort_index()
    wide = wide.ffill(limit=max_fill_days) if max_fill_days > 0 else wide
    dates = wide.index.to_numpy().astype("datetime64[D]")
    return dates, tickers, np.ascontiguousarray(wide.to_numpy(dtype=np.float64))
