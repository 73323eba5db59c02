"""Shared helpers for the feature-engine tests: tiny hand-made panels, the synthetic market and the
bundled close-only sample (skfolio's S&P 500 dataset), all built offline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from alpha_engine.data._synthetic import synthetic_bars, synthetic_sector_map
from alpha_engine.data.features import FEATURE_ORDER, FeatureSet, compute_features, feature_spec
from alpha_engine.store import Panel, normalize_ticker_frame, panel_from_frames

BAR_FIELDS = ("Open", "High", "Low", "Volume")
SAMPLE_MISSING_MACRO = ("VIX", "VIX3M", "TNX", "IRX", "GLD", "USO", "sector_etf")


def dates(n: int, start: str = "2020-01-01") -> pd.DatetimeIndex:
    return pd.bdate_range(start, periods=n, name="date")


def panel_of(columns: Mapping[str, Mapping[str, Sequence[float]]], start: str = "2020-01-01") -> Panel:
    """A panel from {ticker: {field: values}}; absent fields are NaN."""
    frames = {}
    for ticker, fields in columns.items():
        n = len(next(iter(fields.values())))
        frames[ticker] = normalize_ticker_frame(pd.DataFrame(dict(fields), index=dates(n, start)), source="test")
    return panel_from_frames(frames)


def macro_of(closes: Mapping[str, Sequence[float]], start: str = "2020-01-01") -> dict[str, pd.DataFrame]:
    return {symbol: normalize_ticker_frame(pd.DataFrame({"Close": list(values)}, index=dates(len(values), start)),
                                           source="test")
            for symbol, values in closes.items()}


@cache
def synthetic_market(n_tickers: int = 24, n_days: int = 420, seed: int = 3
                     ) -> tuple[Panel, dict[str, pd.DataFrame], dict[str, str]]:
    bars, macro = synthetic_bars(n_tickers, n_days, seed=seed)
    return panel_from_frames(bars), macro, synthetic_sector_map(n_tickers)


@cache
def sample_market() -> tuple[Panel, dict[str, pd.DataFrame]]:
    """skfolio's 20 S&P 500 closes (1990-2022) as a close-only panel, and 'SP500' as the benchmark."""
    from skfolio.datasets import load_sp500_dataset, load_sp500_index

    prices = load_sp500_dataset()
    index = load_sp500_index()
    frames = {t: normalize_ticker_frame(pd.DataFrame({"Close": prices[t]}), source="sample") for t in prices.columns}
    macro = {"SP500": normalize_ticker_frame(pd.DataFrame({"Close": index["SP500"]}), source="sample")}
    return panel_from_frames(frames), macro


def truncate_macro(macro: Mapping[str, pd.DataFrame], end: pd.Timestamp) -> dict[str, pd.DataFrame]:
    return {symbol: frame.loc[:end] for symbol, frame in macro.items()}


def compute_synthetic(n_tickers: int = 24, n_days: int = 420, seed: int = 3) -> FeatureSet:
    panel, macro, sectors = synthetic_market(n_tickers, n_days, seed)
    return compute_features(panel, macro, sector_of=sectors)


def needs_any(name: str, inputs: Sequence[str]) -> bool:
    return bool(set(feature_spec(name).inputs) & set(inputs))


def row(features: FeatureSet, i: int) -> np.ndarray:
    """All features at row i: (features, tickers)."""
    return np.stack([features.frames[name].to_numpy()[i] for name in FEATURE_ORDER])
