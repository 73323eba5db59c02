"""The model's rows: features, derived inputs (momentum score, market context) and the label per
(date, ticker), read from the market store for training (every date up to the run's last closed
session) and for drift (each ticker's latest row), built the same way in both.

Only pandas and numpy: DriftDetection builds today's rows without importing the model stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from alpha_engine.store import MarketStore, TradingCalendar, content_digest

from ._labels import to_long, vol_bucket_relative_labels
from ._momentum import momentum_score

__all__ = [
    "DEFAULT_EXECUTION_LAG",
    "DRIFT_HISTORY_DAYS",
    "build_dataset",
    "data_vintage",
    "latest_model_inputs",
    "macro_features",
    "model_rows",
    "training_rows",
]

DRIFT_HISTORY_DAYS = 120  # calendar days read for today's rows: the market context needs 50 sessions
DEFAULT_EXECUTION_LAG = 1  # TrainingConfig.execution_lag's default: trade at the close after the features' last


def macro_features(close: pd.DataFrame, market: pd.Series | None, price_vs_ma50: pd.DataFrame) -> pd.DataFrame:
    """Per-date market context (wide: dates x names), causal: the market's 20-day log return and
    annualized vol, and breadth (the fraction of names above their 50-day mean)."""
    out = pd.DataFrame(index=close.index)
    if market is not None:
        m = market.reindex(close.index)
        log_ret = np.log(m).diff()
        out["macro_market_20d_return"] = np.log(m / m.shift(20))
        out["macro_market_20d_vol"] = log_ret.rolling(20).std() * np.sqrt(252)
    else:
        out["macro_market_20d_return"] = np.nan
        out["macro_market_20d_vol"] = np.nan
    valid = price_vs_ma50.notna()
    out["macro_market_breadth"] = (price_vs_ma50 > 0).where(valid).sum(axis=1) / valid.sum(axis=1).replace(0, np.nan)
    return out


def build_dataset(frames: Mapping[str, pd.DataFrame], market: pd.Series | None, *, horizon: int,
                  label_clip: float, execution_lag: int = DEFAULT_EXECUTION_LAG) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long rows (date, ticker) of features + L1 momentum + macro context + label; and the wide closes.

    Every column but ``label`` uses data at dates <= its row's date only (tested by perturbing the
    inputs after t). The label of date t is the vol-bucket-relative log return from close
    t + ``execution_lag`` to close t + ``execution_lag`` + ``horizon``.
    """
    close = pd.DataFrame({t: f["Close"] for t, f in frames.items()}).sort_index()
    close.index = pd.DatetimeIndex(close.index, name="date")
    long = pd.concat({t: f.drop(columns=["source"], errors="ignore") for t, f in frames.items()},
                     names=["ticker", "date"]).swaplevel().sort_index()
    long.index = long.index.set_names(["date", "ticker"])
    wide_ma50 = long["price_vs_ma50"].unstack("ticker") if "price_vs_ma50" in long else close * np.nan
    macro = macro_features(close, market, wide_ma50.reindex(close.index))
    long = long.join(macro, on="date")
    long["momentum_score"] = momentum_score(long)
    labels = vol_bucket_relative_labels(close, horizon=horizon, clip=label_clip, lag=execution_lag)
    long["label"] = to_long(labels, "label").reindex(long.index)
    return long, close


def data_vintage(frames: Mapping[str, pd.DataFrame], as_of: date, digest: str) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "tickers": len(frames), "rows": int(sum(len(f) for f in frames.values())),
            "sha256": digest}


def model_rows(store: MarketStore, as_of: date, market_symbol: str, *, horizon: int, label_clip: float,
               start: date | None = None, execution_lag: int = DEFAULT_EXECUTION_LAG,
               ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The model's rows (features, derived inputs, label) from the market store up to ``as_of``,
    and the per-ticker frames they were built from."""
    frames = store.read_many(start=start, end=as_of)
    macro = store.read_macro([market_symbol], start=start, end=as_of)
    market = macro[market_symbol]["Close"] if market_symbol in macro else None
    dataset, _ = build_dataset(frames, market, horizon=horizon, label_clip=label_clip, execution_lag=execution_lag)
    return dataset, frames


def training_rows(store: MarketStore, calendar: TradingCalendar, as_of: date, market_symbol: str, *,
                  horizon: int, label_clip: float, execution_lag: int = DEFAULT_EXECUTION_LAG,
                  ) -> tuple[pd.DataFrame, dict[str, Any], dict[str, int]]:
    """Every row up to ``as_of``, the data vintage (as of, size, sha256) and each ticker's staleness."""
    dataset, frames = model_rows(store, as_of, market_symbol, horizon=horizon, label_clip=label_clip,
                                 execution_lag=execution_lag)
    vintage = data_vintage(frames, as_of, content_digest(frames))
    stale = {t: calendar.trading_days_stale(f.index[-1].date(), as_of) for t, f in frames.items() if len(f)}
    return dataset, vintage, stale


def latest_model_inputs(store: MarketStore, as_of: date, market_symbol: str, *, horizon: int, label_clip: float,
                        lookback_days: int = 10) -> pd.DataFrame:
    """Each ticker's latest row at or before ``as_of`` (within ``lookback_days``), built the way
    training builds rows, so derived inputs (momentum score, market context) are there too."""
    start = (pd.Timestamp(as_of) - pd.Timedelta(days=DRIFT_HISTORY_DAYS)).date()
    dataset, _ = model_rows(store, as_of, market_symbol, horizon=horizon, label_clip=label_clip, start=start)
    dates = dataset.index.get_level_values("date")
    recent = dataset[(dates <= pd.Timestamp(as_of)) & (dates > pd.Timestamp(as_of) - pd.Timedelta(days=lookback_days))]
    return recent.groupby(level="ticker").tail(1).droplevel("date")
