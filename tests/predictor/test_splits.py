"""Splitters: expanding walk-forward and combinatorial purged CV over dates; row mapping."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_engine.predictor._splits import (
    CombinatorialPurgedCV,
    WalkForward,
    cpcv_splits,
    rows_for_dates,
    unique_dates,
    walk_forward_splits,
)


def _dates(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n, name="date")


def _assert_purged(train: np.ndarray, test: np.ndarray, purge: int, embargo: int) -> None:
    """No train date has a test date within `purge` dates after it or within `embargo` dates before it."""
    gaps = test[None, :] - train[:, None]  # > 0: test after train
    assert not ((gaps > 0) & (gaps <= purge)).any(), "train date inside the purge window before a test date"
    assert not ((gaps < 0) & (-gaps <= embargo)).any(), "train date inside the embargo window after a test date"
    assert np.intersect1d(train, test).size == 0


def test_walk_forward_default_layout() -> None:
    folds = list(WalkForward().split(_dates(1000)))
    assert len(folds) == (1000 - 504 - 21) // 126 == 3
    tests = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(tests, np.arange(1000 - 3 * 126, 1000))  # contiguous, tiles the tail
    for train, test in folds:
        np.testing.assert_array_equal(train, np.arange(test[0] - 21))
        assert len(train) >= 504 and len(test) == 126
        _assert_purged(train, test, purge=21, embargo=0)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    n=st.integers(20, 400),
    min_train=st.integers(1, 100),
    test_dates=st.integers(1, 60),
    purge=st.integers(0, 30),
)
def test_walk_forward_invariants(n: int, min_train: int, test_dates: int, purge: int) -> None:
    folds = walk_forward_splits(n, min_train_dates=min_train, test_dates=test_dates, purge=purge)
    assert len(folds) == max(0, (n - min_train - purge) // test_dates)
    for i, (train, test) in enumerate(folds):
        assert len(train) >= min_train and len(test) == test_dates
        assert train.max() < test.min() - purge
        _assert_purged(train, test, purge, 0)
        if i + 1 < len(folds):
            assert folds[i + 1][1][0] == test[-1] + 1
    if folds:
        assert folds[-1][1][-1] == n - 1


def test_walk_forward_too_few_dates() -> None:
    cv = WalkForward(min_train_dates=100, test_dates=50, purge=10)
    assert cv.get_n_splits(_dates(159)) == 0
    with pytest.raises(ValueError, match="WalkForward: 159 unique dates < .* = 160"):
        list(cv.split(_dates(159)))
    assert cv.get_n_splits(_dates(160)) == 1


def test_walk_forward_groups_rows_by_date() -> None:
    index = pd.MultiIndex.from_product([_dates(300), ["A", "B", "C"]], names=["date", "ticker"])
    cv = WalkForward(min_train_dates=100, test_dates=50, purge=5)
    by_rows = [(a.tolist(), b.tolist()) for a, b in cv.split(index)]
    by_dates = [(a.tolist(), b.tolist()) for a, b in cv.split(_dates(300))]
    assert by_rows == by_dates


def test_walk_forward_validates_in_split_not_init() -> None:
    cv = WalkForward(test_dates=0)
    with pytest.raises(ValueError, match="WalkForward: test_dates must be >= 1"):
        list(cv.split(_dates(1000)))
    with pytest.raises(ValueError, match="WalkForward: purge"):
        list(WalkForward(purge=-1).split(_dates(1000)))
    with pytest.raises(TypeError, match="WalkForward: min_train_dates must be an int"):
        WalkForward(min_train_dates=1.5).get_n_splits(_dates(1000))  # type: ignore[arg-type]


def test_cpcv_default_count_and_coverage() -> None:
    cv = CombinatorialPurgedCV()
    folds = list(cv.split(_dates(1000)))
    assert len(folds) == cv.get_n_splits() == math.comb(10, 2) == 45
    counts = np.zeros(1000, dtype=int)
    for _, test in folds:
        counts[test] += 1
    assert (counts == math.comb(9, 1)).all()
    assert cv.get_n_test_sets_per_date() == 9


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    n=st.integers(30, 300),
    n_groups=st.integers(3, 8),
    data=st.data(),
)
def test_cpcv_purge_embargo_and_coverage(n: int, n_groups: int, data: st.DataObject) -> None:
    n_test = data.draw(st.integers(1, n_groups - 1))
    purge = data.draw(st.integers(0, 10))
    embargo = data.draw(st.integers(0, 10))
    folds = cpcv_splits(n, n_groups=n_groups, n_test_groups=n_test, purge=purge, embargo=embargo)
    assert len(folds) == math.comb(n_groups, n_test)
    counts = np.zeros(n, dtype=int)
    for train, test in folds:
        counts[test] += 1
        _assert_purged(train, test, purge, embargo)
        # Everything not test and not within purge/embargo of a test date is kept for training.
        near = np.zeros(n, dtype=bool)
        for t in test:
            near[max(0, t - purge) : t] = True
            near[t + 1 : t + 1 + embargo] = True
        expected = np.flatnonzero(~near & ~np.isin(np.arange(n), test))
        np.testing.assert_array_equal(train, expected)
    assert (counts == math.comb(n_groups - 1, n_test - 1)).all()


def test_cpcv_groups_are_contiguous_and_balanced() -> None:
    folds = cpcv_splits(23, n_groups=4, n_test_groups=1, purge=0, embargo=0)
    tests = [test.tolist() for _, test in folds]
    assert tests == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), list(range(18, 23))]


def test_cpcv_validates_in_split() -> None:
    cv = CombinatorialPurgedCV(n_groups=4, n_test_groups=4)
    with pytest.raises(ValueError, match=r"n_test_groups \(4\) must be < n_groups \(4\)"):
        list(cv.split(_dates(100)))
    with pytest.raises(ValueError, match="9 unique dates < n_groups"):
        list(CombinatorialPurgedCV().split(_dates(9)))
    with pytest.raises(ValueError, match="no training dates"):
        list(CombinatorialPurgedCV(n_groups=3, n_test_groups=2, purge=50, embargo=50).split(_dates(30)))


def test_rows_for_dates_maps_positions_to_rows() -> None:
    index = pd.MultiIndex.from_tuples(
        [(pd.Timestamp("2024-01-02"), "A"), (pd.Timestamp("2024-01-02"), "B"),
         (pd.Timestamp("2024-01-03"), "A"), (pd.Timestamp("2024-01-04"), "B")],
        names=["date", "ticker"],
    )
    dates = unique_dates(index)
    assert list(dates) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04")]
    np.testing.assert_array_equal(rows_for_dates(index, np.array([0, 2]), dates), [0, 1, 3])
    np.testing.assert_array_equal(rows_for_dates(index, np.array([], dtype=np.int64), dates), [])
    with pytest.raises(ValueError, match="rows_for_dates: index date 2024-01-04 .* not in unique_dates"):
        rows_for_dates(index, np.array([0]), dates[:2])
    with pytest.raises(ValueError, match="out of range"):
        rows_for_dates(index, np.array([3]), dates)
