"""The statistics behind the gate and the sweeps: the stationary bootstrap, Sharpe, volatility,
drawdown, turnover and the Bonferroni level."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_engine.backtest import (
    annual_volatility,
    annualised_sharpe,
    bonferroni_confidence,
    bootstrap_interval,
    max_drawdown,
    one_way_turnover,
    stationary_bootstrap_indices,
)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 300), block=st.floats(1.0, 50.0), seed=st.integers(0, 2**31))
def test_bootstrap_indices_are_in_range_and_the_same_for_a_seed(n: int, block: float, seed: int) -> None:
    first = stationary_bootstrap_indices(n, n_resamples=20, mean_block=block, seed=seed)
    assert first.shape == (20, n) and first.min() >= 0 and first.max() < n
    np.testing.assert_array_equal(first, stationary_bootstrap_indices(n, n_resamples=20, mean_block=block, seed=seed))


def test_blocks_continue_with_the_next_day_and_have_the_mean_length_asked_for() -> None:
    indices = stationary_bootstrap_indices(5000, n_resamples=40, mean_block=20.0, seed=0)
    continues = np.diff(indices, axis=1) % 5000 == 1
    # A new block starts with probability 1/20 (and lands on the next day by chance 1/5000 of the time).
    assert 1 / (1 - continues.mean()) == pytest.approx(20.0, rel=0.05)


def test_a_mean_block_of_one_resamples_days_independently() -> None:
    indices = stationary_bootstrap_indices(1000, n_resamples=50, mean_block=1.0, seed=0)
    assert (np.diff(indices, axis=1) % 1000 == 1).mean() < 0.01


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        stationary_bootstrap_indices(1, n_resamples=5, mean_block=2, seed=0)
    with pytest.raises(ValueError, match="mean_block must be >= 1"):
        stationary_bootstrap_indices(10, n_resamples=5, mean_block=0.5, seed=0)
    with pytest.raises(ValueError, match="n_compared must be >= 1"):
        bonferroni_confidence(0.95, 0)


def test_sharpe_and_volatility_are_annualised_over_252_days() -> None:
    r = np.array([0.01, -0.005, 0.002, 0.004])
    assert float(annualised_sharpe(r)) == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert float(annual_volatility(r)) == pytest.approx(r.std(ddof=1) * math.sqrt(252))
    assert math.isnan(float(annualised_sharpe(np.full(5, 0.001))))  # no risk: no ratio


def test_max_drawdown_is_the_largest_fall_from_a_peak_including_the_start() -> None:
    assert float(max_drawdown(np.array([0.1, -0.5, 0.2]))) == pytest.approx(0.5)
    assert float(max_drawdown(np.array([-0.2, 0.1]))) == pytest.approx(0.2)
    assert float(max_drawdown(np.array([0.01, 0.02]))) == 0.0
    np.testing.assert_allclose(max_drawdown(np.array([[0.1, -0.5], [-0.1, 0.0]])), [0.5, 0.1])


def test_turnover_is_half_the_absolute_weight_change_between_rebalances() -> None:
    weights = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(one_way_turnover(weights), [0.0, 0.5, 1.0])


def test_a_paired_difference_of_a_series_with_itself_is_exactly_zero() -> None:
    r = np.random.default_rng(1).normal(0, 0.01, 500)
    indices = stationary_bootstrap_indices(500, n_resamples=200, mean_block=10, seed=3)
    interval = bootstrap_interval(lambda p: annualised_sharpe(p[0]) - annualised_sharpe(p[1]),
                                  np.vstack([r, r]), indices, 0.95)
    assert (interval.estimate, interval.ci_low, interval.ci_high) == (0.0, 0.0, 0.0)


def test_the_interval_holds_the_estimate_and_widens_with_the_level() -> None:
    r = np.random.default_rng(2).normal(0.0005, 0.01, 1000)
    indices = stationary_bootstrap_indices(1000, n_resamples=1000, mean_block=10, seed=4)
    narrow = bootstrap_interval(annualised_sharpe, r, indices, 0.9)
    wide = bootstrap_interval(annualised_sharpe, r, indices, 0.99)
    assert wide.ci_low < narrow.ci_low < narrow.estimate < narrow.ci_high < wide.ci_high
    assert narrow.to_json()["confidence"] == 0.9
