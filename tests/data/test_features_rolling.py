"""Window primitives of the feature engine: agree with pandas, window-local, strict about NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_engine.data.features._rolling import (
    rolling_max,
    rolling_min,
    rolling_std,
    rolling_sum,
    shift,
    simple_return,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=st.integers(1, 80), window=st.integers(1, 90), seed=st.integers(0, 2**32 - 1))
def test_rolling_reductions_agree_with_pandas(rows: int, window: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(100.0, 5.0, (rows, 3))
    frame = pd.DataFrame(x).rolling(window)
    np.testing.assert_allclose(rolling_sum(x, window), frame.sum().to_numpy(), rtol=1e-12, atol=1e-9)
    assert np.array_equal(rolling_max(x, window), frame.max().to_numpy(), equal_nan=True)
    assert np.array_equal(rolling_min(x, window), frame.min().to_numpy(), equal_nan=True)
    if window > 1:
        np.testing.assert_allclose(rolling_std(x, window), frame.std().to_numpy(), rtol=1e-8, atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(window=st.integers(1, 70), drop=st.integers(0, 60), seed=st.integers(0, 2**32 - 1))
def test_rolling_values_depend_only_on_their_window(window: int, drop: int, seed: int) -> None:
    x = np.random.default_rng(seed).normal(0.0, 1.0, (140, 2))
    for reduce in (rolling_sum, rolling_max, rolling_std):
        full, trimmed = reduce(x, window), reduce(x[drop:], window)
        assert np.array_equal(full[drop + window - 1:], trimmed[window - 1:], equal_nan=True)  # bit for bit


def test_a_nan_poisons_exactly_the_windows_that_hold_it() -> None:
    x = np.arange(10.0).reshape(10, 1)
    x[4] = np.nan
    got = rolling_sum(x, 3)[:, 0]
    assert np.isnan(got[:2]).all() and np.isnan(got[4:7]).all()
    assert got[2] == 3.0 and got[3] == 6.0 and got[7] == 18.0


def test_flat_window_has_exactly_zero_std() -> None:
    x = np.full((30, 2), 2.215)
    x[:5, 1] = [1.0, 2.0, 3.0, 4.0, 5.0]
    std = rolling_std(x, 20)
    assert (std[19:, 0] == 0.0).all()
    assert (std[19:24, 1] > 0.0).all() and std[24, 1] == 0.0


def test_shift_and_simple_return() -> None:
    x = np.array([[1.0], [2.0], [4.0]])
    assert np.array_equal(shift(x, 1), np.array([[np.nan], [1.0], [2.0]]), equal_nan=True)
    assert np.isnan(shift(x, 5)).all()
    assert np.array_equal(simple_return(x, 2), np.array([[np.nan], [np.nan], [3.0]]), equal_nan=True)


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window must be >= 1"):
        rolling_sum(np.zeros((3, 1)), 0)
