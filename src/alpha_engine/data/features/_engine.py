"""Compute the whole feature catalog for a panel in one vectorized pass.

:func:`compute_features` turns a :class:`~alpha_engine.data._bars.Panel` (dates x tickers per bar
field) and the macro closes into a :class:`FeatureSet`: one wide float64 frame per feature, in
:data:`FEATURE_ORDER`. Work is numpy/pandas over all tickers at once; nothing loops over tickers
or days.

**Close-only policy.** A feature whose inputs (see its :class:`FeatureSpec`) are missing is NaN,
never a proxy: with no Open/High/Low/Volume (the bundled sample has closes only) the features that
need them are all-NaN; a macro symbol absent from ``macro`` (the sample has no VIX, TNX, IRX, GLD,
USO or sector ETFs) makes the features that need it all-NaN, interactions included; no ``sector_of``
makes the sector features all-NaN. Everything computed from Close (and the market benchmark) alone
works on close-only data.

**Causality.** The value at date t uses only data at dates <= t: rolling windows look back, EWMs and
cumulative sums run forward, cross-sectional statistics use the date's own row, macro closes are
matched on the exact date. Computing on ``panel.truncate(t)`` (macro truncated alike) therefore
gives the row at t bit for bit -- whether the history is computed whole or appended a day at a time.
Same inputs give byte-identical outputs.

**Snapshot semantics.** Upstream's snapshot filled NaN with 0.0; :meth:`FeatureSet.latest` keeps
NaN and leaves filling to the consumer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alpha_engine.store import Panel

from .._errors import DataError
from ._cross_sectional import dispersion_rows, robust_zscore_rows
from ._interactions import interaction_features
from ._macro import MACRO_SYMBOLS, align_close, macro_features
from ._registry import FEATURE_ORDER, FEATURE_PARAMS, ZSCORED_FEATURES
from ._rolling import log_return
from ._technical import BarArrays, technical_features

__all__ = ["FeatureSet", "compute_features"]


@dataclass(frozen=True)
class FeatureSet:
    """Features of a panel: ``frames`` maps each name of FEATURE_ORDER (in that order) to a wide float64
    frame (dates x tickers). Macro features are the same in every column (read-only broadcast views)."""

    frames: dict[str, pd.DataFrame]

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.frames[FEATURE_ORDER[0]].index)

    @property
    def tickers(self) -> list[str]:
        return [str(t) for t in self.frames[FEATURE_ORDER[0]].columns]

    def for_ticker(self, ticker: str) -> pd.DataFrame:
        """One ticker's features: dates x FEATURE_ORDER, float32."""
        columns = self.frames[FEATURE_ORDER[0]].columns
        if ticker not in columns:
            raise KeyError(f"features: ticker {ticker!r} is not in this feature set")
        j = columns.get_loc(ticker)
        values = np.empty((len(FEATURE_ORDER), len(self.dates)), dtype=np.float32)
        for i, name in enumerate(FEATURE_ORDER):
            values[i] = self.frames[name].to_numpy()[:, j]
        return pd.DataFrame(values.T, index=self.dates, columns=list(FEATURE_ORDER), copy=False)

    def by_ticker(self) -> dict[str, pd.DataFrame]:
        """:meth:`for_ticker` for every ticker, cut from one (tickers, features, dates) float32 array."""
        tickers = self.tickers
        stacked = np.empty((len(tickers), len(FEATURE_ORDER), len(self.dates)), dtype=np.float32)
        for i, name in enumerate(FEATURE_ORDER):
            stacked[:, i, :] = self.frames[name].to_numpy().T
        columns = list(FEATURE_ORDER)
        # stacked[j].T is (dates, features) F-ordered: pandas keeps it as one block without copying
        return {ticker: pd.DataFrame(stacked[j].T, index=self.dates, columns=columns, copy=False)
                for j, ticker in enumerate(tickers)}

    def latest(self) -> pd.DataFrame:
        """The last date's row: tickers x FEATURE_ORDER, float32 (NaN kept). Its date is ``dates[-1]``."""
        tickers = pd.Index(self.tickers, name="ticker")
        if len(self.dates) == 0:
            return pd.DataFrame(np.full((len(tickers), len(FEATURE_ORDER)), np.nan, dtype=np.float32),
                                index=tickers, columns=list(FEATURE_ORDER))
        values = np.stack([self.frames[name].to_numpy()[-1] for name in FEATURE_ORDER], axis=1)
        return pd.DataFrame(values.astype(np.float32), index=tickers, columns=list(FEATURE_ORDER))


def compute_features(panel: Panel, macro: Mapping[str, pd.DataFrame], *, market_symbol: str = "SPY",
                     sector_of: Mapping[str, str] | None = None) -> FeatureSet:
    """Every feature of the catalog for every ticker and date of ``panel``.

    ``macro`` maps a symbol to its macro frame (its Close is used): the market benchmark
    ``market_symbol`` (``"SP500"`` for the bundled sample), VIX, VIX3M, TNX, IRX, GLD, USO and the sector
    ETFs named by ``sector_of`` (ticker -> sector ETF symbol). Missing pieces give NaN features (the
    close-only policy in the module docstring). Raises DataError for a panel whose dates are not
    unique and increasing or whose tickers repeat, and for a macro frame without Close.
    """
    params = FEATURE_PARAMS
    dates, tickers = _panel_axes(panel)
    bars = BarArrays(*(_field(getattr(panel, name), name, dates, tickers)
                       for name in ("open", "high", "low", "close", "volume")))
    market = align_close(macro, market_symbol, dates)
    sector_symbols = sorted({sector_of[t] for t in tickers if sector_of is not None and t in sector_of})
    position = {symbol: k for k, symbol in enumerate(sector_symbols)}
    sector_index = np.array([position[sector_of[t]] if sector_of is not None and t in sector_of else -1
                             for t in tickers], dtype=np.intp)
    sector_close = np.empty((len(dates), len(sector_symbols)))
    for k, symbol in enumerate(sector_symbols):
        sector_close[:, k] = align_close(macro, symbol, dates)

    technical = technical_features(bars, market, sector_close, sector_index, params)
    macro_values = macro_features({s: align_close(macro, s, dates) for s in MACRO_SYMBOLS}, params)
    macro_values["xsect_dispersion"] = dispersion_rows(log_return(bars.close))
    interactions = interaction_features(technical, macro_values["vix_level"], market, params)
    zscores = {f"{base}_zscore": robust_zscore_rows(technical[base], mad_scale=float(params["zscore_mad_scale"]),
                                                    clip=float(params["zscore_clip"]))
               for base in ZSCORED_FEATURES}

    computed: dict[str, np.ndarray] = {**technical, **macro_values, **interactions, **zscores}
    if set(computed) != set(FEATURE_ORDER):
        missing, extra = set(FEATURE_ORDER) - set(computed), set(computed) - set(FEATURE_ORDER)
        raise RuntimeError(f"features: engine out of step with the catalog (missing {sorted(missing)}, "
                           f"extra {sorted(extra)})")
    shape = (len(dates), len(tickers))
    frames = {}
    for name in FEATURE_ORDER:
        values = computed[name]
        if values.ndim == 1:  # one value per date, the same for every ticker
            values = np.broadcast_to(values[:, None], shape)
        frames[name] = pd.DataFrame(values, index=dates, columns=tickers, copy=False)
    return FeatureSet(frames)


def _panel_axes(panel: Panel) -> tuple[pd.DatetimeIndex, pd.Index]:
    close = panel.close
    if not isinstance(close.index, pd.DatetimeIndex):
        raise DataError(f"features: panel dates must be a DatetimeIndex, got {type(close.index).__name__}")
    dates = pd.DatetimeIndex(close.index)
    if not dates.is_unique:
        raise DataError(f"features: panel has duplicate date {dates[dates.duplicated()][0].date()}")
    if not dates.is_monotonic_increasing:
        raise DataError("features: panel dates are not in increasing order")
    tickers = close.columns
    if not tickers.is_unique:
        raise DataError(f"features: panel has duplicate ticker {tickers[tickers.duplicated()][0]!r}")
    return dates, tickers


def _field(frame: pd.DataFrame, name: str, dates: pd.DatetimeIndex, tickers: pd.Index) -> np.ndarray:
    """One bar field as a C-contiguous float64 array on the close's axes (absent cells NaN)."""
    if not (frame.index.equals(dates) and frame.columns.equals(tickers)):
        if not (frame.index.is_unique and frame.columns.is_unique):
            raise DataError(f"features: panel field {name!r} has duplicate dates or tickers")
        frame = frame.reindex(index=dates, columns=tickers)
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float64, na_value=np.nan))
