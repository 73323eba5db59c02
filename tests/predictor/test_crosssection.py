"""Dense per-date layout: round trips, ranks and rank ICs equal their per-date references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alpha_engine.predictor._crosssection import DateBlocks, rank_rows
from alpha_engine.predictor._metrics import daily_ic_matrix
from alpha_engine.predictor._volatility import rank_normalize_by_date


def _ragged(seed: int = 0) -> pd.DataFrame:
    """Shuffled long rows; dates have different numbers of names; NaN and inf sprinkled in."""
    rng = np.random.default_rng(seed)
    rows = [(d, f"T{t:02d}") for d in pd.bdate_range("2021-01-01", periods=40) for t in range(rng.integers(1, 25))]
    index = pd.MultiIndex.from_tuples(rows, names=["date", "ticker"])
    values = rng.normal(size=(len(index), 3)).round(1)  # rounding makes ties
    values[rng.random(values.shape) < 0.1] = np.nan
    values[rng.random(values.shape) < 0.02] = np.inf
    frame = pd.DataFrame(values, index=index, columns=["a", "b", "c"])
    return frame.iloc[rng.permutation(len(frame))]


def test_rows_go_to_their_date_and_come_back() -> None:
    frame = _ragged()
    blocks = DateBlocks(frame.index.get_level_values("date"))
    assert list(blocks.dates) == sorted(set(frame.index.get_level_values("date")))
    dense = blocks.to_dense(frame.to_numpy())
    np.testing.assert_array_equal(blocks.to_rows(dense), frame.to_numpy())
    one = blocks.to_dense(frame["a"].to_numpy())
    np.testing.assert_array_equal(blocks.to_rows(one), frame["a"].to_numpy())
    # every cell of a date row belongs to that date
    for code, day in enumerate(blocks.dates):
        assert (~np.isnan(one[code])).sum() == frame.loc[day, "a"].notna().sum()


def test_a_subset_of_rows_scatters_into_its_own_cells() -> None:
    frame = _ragged(1)
    blocks = DateBlocks(frame.index.get_level_values("date"))
    rows = np.arange(0, len(frame), 3)
    dense = blocks.to_dense(frame["b"].to_numpy()[rows], rows=rows)
    assert np.isfinite(dense).sum() == np.isfinite(frame["b"].to_numpy()[rows]).sum()
    np.testing.assert_array_equal(dense[blocks.codes[rows], blocks.slots[rows]], frame["b"].to_numpy()[rows])


def test_rank_rows_equals_scipy_average_ranks_ignoring_nan() -> None:
    rng = np.random.default_rng(2)
    matrix = rng.integers(0, 6, size=(50, 12)).astype(float)
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    ranks = rank_rows(matrix)
    for row, ranked in zip(matrix, ranks, strict=True):
        known = ~np.isnan(row)
        np.testing.assert_array_equal(ranked[known], stats.rankdata(row[known]))
        assert np.isnan(ranked[~known]).all()


def test_rank_normalize_equals_the_per_date_definition() -> None:
    frame = _ragged(3)
    ours = rank_normalize_by_date(frame)
    clean = frame.replace([np.inf, -np.inf], np.nan)
    for day, group in clean.groupby(level="date"):
        for column in group:
            known = group[column].dropna()
            expected = (stats.rankdata(known) - 1) / (len(known) - 1) if len(known) > 1 else np.full(len(known), 0.5)
            np.testing.assert_allclose(ours.loc[known.index, column].to_numpy(), expected, rtol=0, atol=1e-15)
            assert ours.loc[group.index[group[column].isna()], column].isna().all(), (day, column)
    assert ours.index.equals(frame.index)


def test_daily_ic_matrix_equals_scipy_spearman_per_row() -> None:
    rng = np.random.default_rng(4)
    pred = rng.normal(size=(30, 20)).round(1)
    label = pred * 0.3 + rng.normal(size=(30, 20))
    pred[rng.random(pred.shape) < 0.15] = np.nan
    label[rng.random(label.shape) < 0.15] = np.inf
    pred[3, 5:] = np.nan  # 5 valid pairs at most: kept only if all 5 are valid
    pred[4] = 1.0  # constant
    ic = daily_ic_matrix(pred, label, min_names=5)
    for p, y, value in zip(pred, label, ic, strict=True):
        valid = np.isfinite(p) & np.isfinite(y)
        if valid.sum() < 5 or np.ptp(p[valid]) == 0:
            assert np.isnan(value)
        else:
            assert value == pytest.approx(stats.spearmanr(p[valid], y[valid]).statistic, abs=1e-12)
    assert np.isnan(ic[4])
