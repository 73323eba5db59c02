"""The model's rows, read from the market store: for training (every date up to the run's last
closed session) and for drift (each ticker's latest row), built the same way in both."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from alpha_engine.store import MarketStore, TradingCalendar, content_digest

from ._training import build_dataset, data_vintage

__all__ = ["DRIFT_HISTORY_DAYS", "latest_model_inputs", "model_rows", "training_rows"]

DRIFT_HISTORY_DAYS = 120  # calendar days read for today's rows: the market context needs 50 sessions


def model_rows(store: MarketStore, as_of: date, market_symbol: str, *, horizon: int, label_clip: float,
               start: date | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The model's rows (features, derived inputs, label) from the market store up to ``as_of``,
    and the per-ticker frames they were built from."""
    frames = store.read_many(start=start, end=as_of)
    macro = store.read_macro([market_symbol], start=start, end=as_of)
    market = macro[market_symbol]["Close"] if market_symbol in macro else None
    dataset, _ = build_dataset(frames, market, horizon=horizon, label_clip=label_clip)
    return dataset, frames


def training_rows(store: MarketStore, calendar: TradingCalendar, as_of: date, market_symbol: str, *,
                  horizon: int, label_clip: float) -> tuple[pd.DataFrame, dict[str, Any], dict[str, int]]:
    """Every row up to ``as_of``, the data vintage (as of, size, sha256) and each ticker's staleness."""
    dataset, frames = model_rows(store, as_of, market_symbol, horizon=horizon, label_clip=label_clip)
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
