"""The optimizer gate decides on evidence: the out-of-sample Sharpe difference to equal weight with
a paired stationary-block-bootstrap interval, passing only when its lower bound is above 0.

Planted flaws it must not pass: an optimizer that *is* the baseline, and an honest optimizer on
returns where equal weight is already optimal (same mean, same volatility, independent assets). A
look-ahead optimizer (weights chosen on the test window itself) does pass the gate on those same
returns, which is why the walk-forward refuses to produce one. A real edge (assets with very
different volatilities, so minimum variance improves the Sharpe ratio) passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alpha_engine.backtest import (
    LookAheadError,
    OutOfSample,
    bonferroni_confidence,
    equal_weight,
    minimum_variance,
    optimizer_gate,
    stationary_bootstrap_indices,
    walk_forward,
)

TRAIN, TEST = 252, 21


def _returns(vols: np.ndarray, n_days: int = 1512, mean: float = 0.0004, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(mean, vols, size=(n_days, len(vols)))
    return pd.DataFrame(values, index=pd.bdate_range("2015-01-01", periods=n_days),
                        columns=[f"T{i}" for i in range(len(vols))])


def _gate(optimizer: OutOfSample, baseline: OutOfSample, seed: int = 5) -> tuple[float, float, bool]:
    indices = stationary_bootstrap_indices(len(baseline.returns), n_resamples=1000, mean_block=21, seed=seed)
    decision = optimizer_gate(optimizer.returns, baseline.returns, indices=indices, confidence=0.95)
    return decision.sharpe_difference.ci_low, decision.sharpe_difference.estimate, decision.passes


def _walk(returns: pd.DataFrame, estimator: object) -> OutOfSample:
    return walk_forward(returns, estimator, train_days=TRAIN, test_days=TEST)


def _look_ahead(returns: pd.DataFrame, baseline: OutOfSample) -> OutOfSample:
    """Planted flaw: each window's weights are the maximum-Sharpe portfolio of that window itself."""
    from skfolio.optimization import MeanRisk, ObjectiveFunction

    weights, days = [], []
    for start in range(TRAIN, TRAIN + baseline.n_folds * TEST, TEST):
        window = returns.iloc[start:start + TEST]
        w = MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO).fit(window).weights_
        weights.append(w)
        days.append(window.to_numpy() @ w)
    return OutOfSample(dates=baseline.dates, returns=np.concatenate(days), weights=np.vstack(weights),
                       test_starts=baseline.test_starts, train_ends=baseline.train_ends)


@pytest.fixture(scope="module")
def irrelevant() -> pd.DataFrame:
    """Equal means, equal volatilities, independent: nothing for an optimizer to find."""
    return _returns(np.full(8, 0.012))


def test_an_optimizer_that_is_the_baseline_does_not_pass(irrelevant: pd.DataFrame) -> None:
    baseline = _walk(irrelevant, equal_weight())
    low, estimate, passes = _gate(_walk(irrelevant, equal_weight()), baseline)
    assert estimate == 0.0 and low == 0.0 and not passes


def test_an_honest_optimizer_does_not_pass_where_equal_weight_is_optimal(irrelevant: pd.DataFrame) -> None:
    baseline = _walk(irrelevant, equal_weight())
    low, _, passes = _gate(_walk(irrelevant, minimum_variance("ledoit_wolf")), baseline)
    assert not passes and low < 0


def test_a_look_ahead_optimizer_passes_the_gate_so_the_walk_forward_never_builds_one(irrelevant: pd.DataFrame) -> None:
    baseline = _walk(irrelevant, equal_weight())
    low, estimate, passes = _gate(_look_ahead(irrelevant, baseline), baseline)
    assert passes and low > 1.0 and estimate > 3.0  # a "Sharpe edge" from seeing the test window

    class TrainOnTest:
        def split(self, X: object, y: object = None, groups: object = None):  # type: ignore[no-untyped-def]
            for start in range(TRAIN, len(irrelevant) - TEST, TEST):
                yield np.arange(start, start + TEST), np.arange(start, start + TEST)

    with pytest.raises(LookAheadError):
        walk_forward(irrelevant, minimum_variance("ledoit_wolf"), train_days=TRAIN, test_days=TEST, cv=TrainOnTest())


def test_a_real_edge_passes() -> None:
    # Same mean, volatilities from 0.4% to 4% a day: minimum variance has a far higher Sharpe ratio.
    returns = _returns(np.geomspace(0.004, 0.04, 8))
    low, _, passes = _gate(_walk(returns, minimum_variance("ledoit_wolf")), _walk(returns, equal_weight()))
    assert passes and low > 0


def test_the_gate_needs_two_series_over_the_same_days() -> None:
    with pytest.raises(ValueError, match="one length"):
        optimizer_gate(np.zeros(10), np.zeros(11), indices=np.zeros((2, 10), dtype=int), confidence=0.95)


def test_the_bonferroni_interval_of_a_selection_is_wider_than_the_single_one() -> None:
    returns = _returns(np.geomspace(0.004, 0.04, 8))
    optimizer, baseline = _walk(returns, minimum_variance("oas")), _walk(returns, equal_weight())
    indices = stationary_bootstrap_indices(len(baseline.returns), n_resamples=2000, mean_block=21, seed=2)
    single = optimizer_gate(optimizer.returns, baseline.returns, indices=indices, confidence=0.95).sharpe_difference
    level = bonferroni_confidence(0.95, 6)
    corrected = optimizer_gate(optimizer.returns, baseline.returns, indices=indices,
                               confidence=level).sharpe_difference
    assert level == pytest.approx(1 - 0.05 / 6)
    assert corrected.estimate == single.estimate
    assert corrected.ci_low < single.ci_low and corrected.ci_high > single.ci_high
