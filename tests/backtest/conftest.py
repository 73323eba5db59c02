"""Helpers: a hand-built panel with known closes and signals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alpha_engine.backtest import BacktestInputs


def hand_panel(closes: Sequence[Sequence[float]], *, enter: dict[int, Sequence[int]], sectors: Sequence[int] | None = None,
               score: float = 90.0) -> BacktestInputs:
    """Closes as rows of days x tickers; ``enter`` maps a signal day to the tickers with an ENTER."""
    close = np.ascontiguousarray(np.asarray(closes, np.float64))
    n_days, n_tickers = close.shape
    action = np.zeros((n_days, n_tickers), np.int8)
    signal_day = np.zeros(n_days, np.bool_)
    for day, tickers in enter.items():
        signal_day[day] = True
        action[day, list(tickers)] = 1
    sector_of = np.asarray(sectors if sectors is not None else range(n_tickers), np.int64)
    return BacktestInputs(
        dates=np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-01") + n_days),
        tickers=tuple(f"T{i}" for i in range(n_tickers)), close=close, sector_of=sector_of,
        sectors=tuple(f"S{i}" for i in range(int(sector_of.max()) + 1)), signal_day=signal_day,
        regime=np.zeros(n_days, np.int8), action=action, score=np.full((n_days, n_tickers), score),
        conviction=np.zeros((n_days, n_tickers), np.int8), sector_rating=np.zeros((n_days, n_tickers), np.int8),
        upside=np.full((n_days, n_tickers), np.nan), veto=np.zeros((n_days, n_tickers), np.bool_),
        confidence=np.full((n_days, n_tickers), np.nan))
