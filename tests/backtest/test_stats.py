"""Statistics: formulas on hand-made NAV paths, seeded intervals, the Wilson interval."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alpha_engine.backtest import (
    ExecutorConfig,
    backtest_statistics,
    nav_statistics,
    simulate_vectorized,
    stationary_bootstrap_indices,
    synthetic_inputs,
)


def test_point_statistics_follow_their_formulas() -> None:
    nav = np.array([[101.0, 99.0, 102.0, 100.0]])
    stats = nav_statistics(nav, 100.0, np.array([10.0, 10.5, 10.0, 11.0]))
    returns = np.array([0.01, 99 / 101 - 1, 102 / 99 - 1, 100 / 102 - 1])
    assert stats["total_return"][0] == pytest.approx(0.0)
    assert stats["sharpe"][0] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    downside = math.sqrt(np.mean(np.minimum(returns, 0) ** 2))
    assert stats["sortino"][0] == pytest.approx(returns.mean() / downside * math.sqrt(252))
    assert stats["max_drawdown"][0] == pytest.approx(99 / 101 - 1)
    assert stats["alpha"][0] == pytest.approx(0.0 - 0.1)


def test_a_flat_path_has_zero_sharpe_and_no_calmar() -> None:
    stats = nav_statistics(np.full((1, 5), 100.0), 100.0)
    assert stats["sharpe"][0] == 0.0 and math.isnan(stats["calmar"][0])


def test_stationary_bootstrap_is_seeded_and_keeps_blocks() -> None:
    a = stationary_bootstrap_indices(100, n_resamples=50, mean_block=10.0, seed=3)
    assert np.array_equal(a, stationary_bootstrap_indices(100, n_resamples=50, mean_block=10.0, seed=3))
    assert not np.array_equal(a, stationary_bootstrap_indices(100, n_resamples=50, mean_block=10.0, seed=4))
    steps = np.diff(a, axis=1) % 100
    assert 0.8 < np.mean(steps == 1) < 0.95  # about 1 - 1/10 of steps continue a block


def test_result_statistics_are_deterministic_with_intervals_around_the_point() -> None:
    inputs = synthetic_inputs(40, 300, seed=2)
    (result,) = simulate_vectorized(inputs, [ExecutorConfig()])
    first = backtest_statistics(result, inputs.index_close, n_bootstrap=300, seed=5)
    assert first == backtest_statistics(result, inputs.index_close, n_bootstrap=300, seed=5)
    assert first.sharpe_ci[0] <= first.sharpe <= first.sharpe_ci[1]
    assert first.win_rate_ci[0] <= first.win_rate <= first.win_rate_ci[1]
    assert first.n_trades == int(np.sum(result.orders.side < 0)) and first.turnover > 0
    assert first.atr_method == "close_to_close"
