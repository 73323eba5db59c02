"""Input validation names the array and the fix; signals.json documents become aligned arrays."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from alpha_engine.backtest import BacktestInputError, ExecutorConfig, signals_panel, synthetic_inputs


def test_a_wrong_shape_names_the_array() -> None:
    inputs = synthetic_inputs(3, 10, seed=0)
    with pytest.raises(BacktestInputError, match=r"score must be a float64 array of shape \(10, 3\)"):
        replace(inputs, score=np.zeros((10, 2)))


def test_a_non_positive_close_names_the_ticker_and_day() -> None:
    inputs = synthetic_inputs(3, 10, seed=0)
    close = inputs.close.copy()
    close[4, 1] = 0.0
    with pytest.raises(BacktestInputError, match="close of T0001 on 2015-01-08"):
        replace(inputs, close=close)


def test_config_rejects_a_reduce_after_the_exit() -> None:
    with pytest.raises(ValueError, match="time_decay_reduce_days"):
        ExecutorConfig(time_decay_reduce_days=20, time_decay_exit_days=10)


def test_signals_documents_land_on_the_next_trading_day_and_candidates_win() -> None:
    dates = np.array(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"], dtype="datetime64[D]")
    documents = {date(2024, 1, 6): {
        "market_regime": "bear",
        "universe": [{"ticker": "A", "signal": "HOLD", "score": 50}, {"ticker": "Z", "signal": "ENTER", "score": 90}],
        "buy_candidates": [{"ticker": "A", "signal": "ENTER", "score": 80, "conviction": "rising",
                            "sector_rating": "overweight", "price_target_upside": 0.2}]}}
    arrays, notes = signals_panel(documents, dates, ["A", "B"])
    assert arrays["signal_day"].tolist() == [False, True, False, False]
    assert arrays["regime"].tolist() == [0, 2, 2, 2]
    assert arrays["action"][1].tolist() == [1, 0] and arrays["score"][1, 0] == 80.0
    assert arrays["conviction"][1, 0] == 1 and arrays["sector_rating"][1, 0] == 1
    assert notes == ["1 signalled tickers are not in the panel and were ignored: Z"]


def test_synthetic_inputs_are_seeded() -> None:
    a, b = synthetic_inputs(5, 20, seed=9), synthetic_inputs(5, 20, seed=9)
    assert np.array_equal(a.close, b.close, equal_nan=True) and np.array_equal(a.action, b.action)
