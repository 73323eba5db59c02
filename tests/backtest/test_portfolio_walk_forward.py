"""The walk-forward is causal: each window fits only on days before its test window. Every check is
shown failing on a planted leak: a splitter that trains on the test window, overlapping test
windows, returns shifted forward by a day, and returns scaled by a whole-history statistic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alpha_engine.backtest import (
    LookAheadError,
    LowestVarianceSelection,
    check_causal_splits,
    check_no_look_ahead,
    equal_weight,
    minimum_variance,
    pre_selected,
    returns_from_closes,
    walk_forward,
)

TRAIN, TEST = 120, 20


def _closes(n_days: int = 400, n_assets: int = 6, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vols = np.linspace(0.005, 0.03, n_assets)
    returns = rng.normal(0.0003, vols, size=(n_days, n_assets))
    dates = pd.bdate_range("2020-01-01", periods=n_days + 1)
    prices = 100 * np.vstack([np.ones(n_assets), np.cumprod(1 + returns, axis=0)])
    return pd.DataFrame(prices, index=dates, columns=[f"T{i}" for i in range(n_assets)])


class _Splits:
    """A splitter that yields the folds it is given (to plant bad ones)."""

    def __init__(self, folds: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.folds = folds

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield from self.folds


def test_each_window_fits_before_its_test_window_and_the_oos_days_are_the_test_windows() -> None:
    returns = returns_from_closes(_closes())
    oos = walk_forward(returns, minimum_variance("ledoit_wolf"), train_days=TRAIN, test_days=TEST)
    assert oos.n_folds == (len(returns) - TRAIN) // TEST
    assert (oos.train_ends < oos.test_starts).all()
    assert oos.dates[0] == returns.index[TRAIN] and len(oos.dates) == oos.n_folds * TEST
    assert oos.weights.shape == (oos.n_folds, returns.shape[1])
    np.testing.assert_allclose(oos.weights.sum(axis=1), 1.0, atol=1e-6)
    first_window = returns.iloc[TRAIN:TRAIN + TEST].to_numpy() @ oos.weights[0]
    np.testing.assert_allclose(oos.returns[:TEST], first_window, rtol=1e-12)


def test_a_splitter_that_trains_on_its_test_window_is_refused_before_anything_is_fitted() -> None:
    returns = returns_from_closes(_closes())
    oracle = _Splits([(np.arange(k, k + TEST), np.arange(k, k + TEST)) for k in range(TRAIN, 300, TEST)])
    with pytest.raises(LookAheadError, match="fold 0 fits on .* which is not before its test window"):
        walk_forward(returns, minimum_variance("empirical"), train_days=TRAIN, test_days=TEST, cv=oracle)


def test_a_window_that_trains_past_its_test_start_is_refused() -> None:
    dates = pd.bdate_range("2021-01-01", periods=100)
    with pytest.raises(LookAheadError, match="fold 1 fits on 2021-03-12, which is not before its test window starting 2021-03-12"):
        check_causal_splits([(np.arange(0, 40), np.arange(40, 50)), (np.arange(10, 51), np.arange(50, 60))], dates)


def test_overlapping_test_windows_are_refused() -> None:
    dates = pd.bdate_range("2021-01-01", periods=100)
    with pytest.raises(LookAheadError, match="fold 1: its test window .* overlaps"):
        check_causal_splits([(np.arange(0, 40), np.arange(40, 50)), (np.arange(0, 45), np.arange(45, 55))], dates)


def test_the_look_ahead_check_passes_an_honest_walk_forward() -> None:
    closes = _closes()
    reference = walk_forward(returns_from_closes(closes), minimum_variance("ledoit_wolf"), train_days=TRAIN,
                             test_days=TEST)
    check = check_no_look_ahead(closes, lambda: minimum_variance("ledoit_wolf"), reference, train_days=TRAIN,
                                test_days=TEST, seed=1)
    assert check.folds_compared == reference.n_folds // 2 + 1 and check.max_weight_change == 0.0


def _forward_returns(closes: pd.DataFrame) -> pd.DataFrame:
    """Planted leak: each day's row holds the next day's return."""
    return returns_from_closes(closes).shift(-1).dropna()


def _scaled_by_whole_history(closes: pd.DataFrame) -> pd.DataFrame:
    """Planted leak: returns divided by each asset's volatility over the whole history."""
    returns = returns_from_closes(closes)
    return returns / returns.std()


@pytest.mark.parametrize("prepare", [_forward_returns, _scaled_by_whole_history])
def test_the_look_ahead_check_catches_a_planted_future_leak(prepare: Any) -> None:
    closes = _closes()
    reference = walk_forward(prepare(closes), minimum_variance("ledoit_wolf"), train_days=TRAIN, test_days=TEST)
    with pytest.raises(LookAheadError, match="moved the weights of fold .* its fit used data from on or after"):
        check_no_look_ahead(closes, lambda: minimum_variance("ledoit_wolf"), reference, train_days=TRAIN,
                            test_days=TEST, seed=1, prepare=prepare)


def test_equal_weight_holds_equal_weights_in_every_window() -> None:
    oos = walk_forward(returns_from_closes(_closes()), equal_weight(), train_days=TRAIN, test_days=TEST)
    np.testing.assert_allclose(oos.weights, 1 / 6)


def test_the_pre_selection_keeps_the_lowest_variance_names_of_each_training_window() -> None:
    returns = returns_from_closes(_closes(n_assets=8))  # volatility rises with the column
    returns.iloc[:, 7] *= 0.01  # the last name is the calmest by far
    oos = walk_forward(returns, pre_selected(minimum_variance("ledoit_wolf"), 3), train_days=TRAIN, test_days=TEST)
    assert oos.weights.shape == (oos.n_folds, 8)
    np.testing.assert_allclose(oos.weights.sum(axis=1), 1.0)
    for k, start in enumerate(oos.test_starts):
        train = returns.loc[:start].iloc[-TRAIN - 1:-1]
        kept = set(np.argsort(train.var().to_numpy(), kind="stable")[:3])
        assert set(np.flatnonzero(oos.weights[k] > 1e-9)) <= kept
        assert 7 in kept


def test_the_look_ahead_check_passes_a_pre_selected_walk_forward() -> None:
    closes = _closes(n_assets=8)
    make = lambda: pre_selected(minimum_variance("ledoit_wolf"), 4)  # noqa: E731
    reference = walk_forward(returns_from_closes(closes), make(), train_days=TRAIN, test_days=TEST)
    check = check_no_look_ahead(closes, make, reference, train_days=TRAIN, test_days=TEST, seed=1)
    assert check.max_weight_change == 0.0


def test_the_pre_selection_counts_only_the_training_window() -> None:
    # A name calm before a fold's test window and wild inside it is kept for that fold: a selector that
    # saw the test window would drop it.
    returns = returns_from_closes(_closes(n_assets=6))
    returns.iloc[:, 5] *= 0.01
    returns.iloc[TRAIN:TRAIN + TEST, 5] *= 1000.0
    selector = LowestVarianceSelection(2).fit(returns.iloc[:TRAIN])
    assert selector.support_[5] and selector.get_feature_names_out()[-1] == "T5"
    oos = walk_forward(returns, pre_selected(equal_weight(), 2), train_days=TRAIN, test_days=TEST)
    assert oos.weights[0, 5] == 0.5
