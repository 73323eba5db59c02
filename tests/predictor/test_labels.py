"""Labels: forward log returns, vol-bucket-relative and market-relative labels, long layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alpha_engine.predictor._labels import (
    default_n_buckets,
    forward_log_return,
    market_relative_labels,
    realized_vol,
    to_long,
    vol_bucket_relative_labels,
    vol_buckets,
)


def _dates(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2024-01-01", periods=n, name="date")


def _random_close(n_dates: int, n_tickers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # Ticker-specific vol levels so buckets are meaningful.
    sigma = np.linspace(0.005, 0.04, n_tickers)
    rets = rng.standard_normal((n_dates, n_tickers)) * sigma
    return pd.DataFrame(100 * np.exp(np.cumsum(rets, axis=0)), index=_dates(n_dates),
                        columns=[f"T{i:03d}" for i in range(n_tickers)])


def _reference_labels(close: pd.DataFrame, horizon: int, vol_window: int, clip: float) -> pd.DataFrame:
    """Slow per-date reference: explicit loop over dates with pandas qcut-free ordinal buckets."""
    logs = np.log(close)
    fwd = logs.shift(-horizon) - logs
    vol = logs.diff().rolling(vol_window).std()
    out = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    for t in close.index:
        v = vol.loc[t].dropna()
        if v.empty:
            continue
        k = default_n_buckets(len(v))
        order = v.sort_values(kind="stable").index  # ties broken by column order, as rank(method="first")
        bucket = pd.Series(np.arange(len(v)) * k // len(v), index=order)
        f = fwd.loc[t, bucket.index].dropna()
        means = f.groupby(bucket[f.index]).mean()
        out.loc[t, f.index] = (f - means[bucket[f.index]].to_numpy()).clip(-clip, clip)
    return out


def test_forward_log_return_hand_values_and_tail_nan() -> None:
    close = pd.DataFrame({"A": [100.0, 110.0, 121.0, 133.1], "B": [50.0, np.nan, 40.0, 45.0]}, index=_dates(4))
    fwd = forward_log_return(close, horizon=2)
    assert fwd.loc[close.index[0], "A"] == pytest.approx(np.log(1.21))
    assert fwd.loc[close.index[1], "A"] == pytest.approx(np.log(1.21))
    assert fwd.loc[close.index[0], "B"] == pytest.approx(np.log(40 / 50))
    assert np.isnan(fwd.loc[close.index[1], "B"])  # missing close at t
    assert fwd.iloc[2:].isna().all().all()  # t + h beyond the data


def test_forward_log_return_treats_nonpositive_close_as_missing() -> None:
    close = pd.DataFrame({"A": [100.0, 0.0, 90.0]}, index=_dates(3))
    fwd = forward_log_return(close, horizon=1)
    assert np.isnan(fwd.iloc[0, 0]) and np.isnan(fwd.iloc[1, 0])


def test_vol_bucket_labels_hand_case() -> None:
    # A, B calm; C, D wild; 2 buckets. horizon 1, vol_window 2 -> first label at row 2.
    close = pd.DataFrame({
        "A": [100.0, 101.0, 100.0, 102.0],
        "B": [100.0, 100.5, 100.0, 97.0],
        "C": [100.0, 120.0, 100.0, 110.0],
        "D": [100.0, 80.0, 100.0, 105.0],
    }, index=_dates(4))
    labels = vol_bucket_relative_labels(close, horizon=1, vol_window=2, n_buckets=2, clip=1.0)
    t = close.index[2]
    fa, fb, fc, fd = np.log(1.02), np.log(0.97), np.log(1.10), np.log(1.05)
    assert labels.loc[t, "A"] == pytest.approx(fa - (fa + fb) / 2)
    assert labels.loc[t, "B"] == pytest.approx(fb - (fa + fb) / 2)
    assert labels.loc[t, "C"] == pytest.approx(fc - (fc + fd) / 2)
    assert labels.loc[t, "D"] == pytest.approx(fd - (fc + fd) / 2)
    assert labels.drop(index=t).isna().all().all()


def test_vol_bucket_labels_match_slow_reference() -> None:
    close = _random_close(60, 23, seed=3)
    close.iloc[10:14, 4] = np.nan  # a gap: vol and forward returns around it are missing
    got = vol_bucket_relative_labels(close, horizon=5, vol_window=10, clip=0.05)
    want = _reference_labels(close, horizon=5, vol_window=10, clip=0.05)
    pd.testing.assert_frame_equal(got, want, check_freq=False, atol=1e-12, rtol=0)
    assert got.notna().sum().sum() > 500


def test_perturbing_closes_after_t_plus_h_leaves_label_unchanged() -> None:
    close = _random_close(80, 30, seed=1)
    t, h = 40, 5
    base = vol_bucket_relative_labels(close, horizon=h)
    perturbed = close.copy()
    perturbed.iloc[t + h + 1 :] *= np.random.default_rng(9).uniform(0.5, 2.0, perturbed.iloc[t + h + 1 :].shape)
    after = vol_bucket_relative_labels(perturbed, horizon=h)
    pd.testing.assert_frame_equal(base.iloc[: t + 1], after.iloc[: t + 1])
    assert not base.iloc[t + 1 : t + 30].equals(after.iloc[t + 1 : t + 30])  # the perturbation does reach later labels


def test_perturbing_data_after_t_does_not_change_buckets_at_t() -> None:
    close = _random_close(60, 40, seed=2)
    t = 30
    base = vol_buckets(close)
    perturbed = close.copy()
    perturbed.iloc[t + 1 :] = perturbed.iloc[t + 1 :].to_numpy()[:, ::-1]  # shuffle who is volatile later
    perturbed.iloc[t + 5, :10] = np.nan
    after = vol_buckets(perturbed)
    pd.testing.assert_frame_equal(base.iloc[: t + 1], after.iloc[: t + 1])
    assert not base.iloc[t + 1 :].equals(after.iloc[t + 1 :])


def test_labels_are_clipped() -> None:
    close = _random_close(40, 20, seed=4)
    close.iloc[30:, 0] *= 3.0  # a jump far beyond 0.15
    labels = vol_bucket_relative_labels(close, horizon=5, clip=0.15)
    assert labels.abs().max().max() == pytest.approx(0.15)
    assert labels.iloc[25:30, 0].eq(0.15).all()


@pytest.mark.parametrize(("n_tickers", "sizes"), [(20, {5}), (23, {5, 6}), (100, {10}), (4, {4}), (250, {25})])
def test_default_bucket_sizes(n_tickers: int, sizes: set[int]) -> None:
    buckets = vol_buckets(_random_close(30, n_tickers, seed=5))
    row = buckets.iloc[-1]
    assert row.notna().all()
    assert set(row.value_counts().to_numpy()) == sizes
    assert int(row.max()) + 1 == default_n_buckets(n_tickers)


def test_bucket_zero_holds_lowest_vol() -> None:
    close = _random_close(40, 20, seed=6)
    vol = realized_vol(close).iloc[-1]
    buckets = vol_buckets(close).iloc[-1]
    assert vol[buckets == 0].max() < vol[buckets == 3].min()


def test_explicit_n_buckets_is_capped_at_names() -> None:
    buckets = vol_buckets(_random_close(30, 10, seed=7), n_buckets=3).iloc[-1]
    assert sorted(buckets.value_counts().to_numpy()) == [3, 3, 4]
    assert vol_buckets(_random_close(30, 3, seed=7), n_buckets=10).iloc[-1].nunique() == 3


def test_default_n_buckets_rule() -> None:
    assert [default_n_buckets(n) for n in (1, 4, 5, 20, 99, 100, 500)] == [1, 1, 1, 4, 19, 10, 10]


def test_market_relative_labels_hand_case() -> None:
    close = pd.DataFrame({"A": [100.0, 110.0, 99.0], "B": [10.0, 10.0, 10.0]}, index=_dates(3))
    market = pd.Series([200.0, 202.0, 204.0], index=_dates(3))
    labels = market_relative_labels(close, market, horizon=1, clip=0.05)
    assert labels.iloc[0, 0] == pytest.approx(0.05)  # log(1.1) - log(1.01) clipped
    assert labels.iloc[0, 1] == pytest.approx(-np.log(1.01))
    assert labels.iloc[1, 0] == pytest.approx(-0.05)
    assert labels.iloc[2].isna().all()


def test_to_long_layout() -> None:
    wide = pd.DataFrame({"B": [1.0, np.nan], "A": [2.0, 3.0]}, index=pd.DatetimeIndex(["2024-01-03", "2024-01-02"]))
    long = to_long(wide, "label")
    assert long.name == "label"
    assert list(long.index.names) == ["date", "ticker"]
    assert list(long.index) == [
        (pd.Timestamp("2024-01-02"), "A"),
        (pd.Timestamp("2024-01-03"), "A"),
        (pd.Timestamp("2024-01-03"), "B"),
    ]
    assert list(long) == [3.0, 2.0, 1.0]


def test_bad_parameters_raise_with_the_function_name() -> None:
    close = _random_close(10, 3)
    with pytest.raises(ValueError, match="forward_log_return: horizon"):
        forward_log_return(close, horizon=0)
    with pytest.raises(ValueError, match="vol_bucket_relative_labels: clip"):
        vol_bucket_relative_labels(close, clip=-1.0)
    with pytest.raises(ValueError, match="sorted"):
        forward_log_return(close.iloc[::-1])
    with pytest.raises(TypeError, match="DataFrame"):
        forward_log_return(close["T000"])


@pytest.mark.parametrize("lag", [1, 2, 5])
def test_a_lagged_label_starts_at_the_close_lag_sessions_later(lag: int) -> None:
    close = _random_close(60, 7, seed=6)
    h = 5
    got = forward_log_return(close, h, lag=lag)
    values = close.to_numpy()
    for t in (0, 17, 60 - h - lag - 1):
        np.testing.assert_allclose(got.iloc[t].to_numpy(), np.log(values[t + lag + h] / values[t + lag]),
                                   rtol=0, atol=1e-12)
    assert got.iloc[60 - h - lag:].isna().all().all() and got.iloc[: 60 - h - lag].notna().all().all()
    # The vol-bucket label is the same lagged return minus its bucket's mean (one bucket: the cross-section mean).
    labels = vol_bucket_relative_labels(close, horizon=h, n_buckets=1, clip=10.0, lag=lag)
    fwd = np.log(values[20 + lag + h] / values[20 + lag])
    np.testing.assert_allclose(labels.iloc[20].to_numpy(), fwd - fwd.mean(), rtol=0, atol=1e-12)
    market = pd.Series(values[:, 0], index=close.index)
    relative = market_relative_labels(close, market, horizon=h, clip=10.0, lag=lag)
    np.testing.assert_allclose(relative.iloc[20].to_numpy(), fwd - fwd[0], atol=1e-12)


def test_lag_zero_reproduces_the_unlagged_labels_exactly() -> None:
    close = _random_close(70, 23, seed=7)
    close.iloc[10:14, 4] = np.nan
    pd.testing.assert_frame_equal(forward_log_return(close, 5, lag=0), forward_log_return(close, 5))
    pd.testing.assert_frame_equal(vol_bucket_relative_labels(close, horizon=5, lag=0),
                                  _reference_labels(close, horizon=5, vol_window=20, clip=0.15),
                                  check_freq=False, atol=1e-12, rtol=0)


def test_perturbing_closes_after_t_plus_lag_plus_h_leaves_the_lagged_label_unchanged() -> None:
    close = _random_close(80, 30, seed=1)
    t, h, lag = 40, 5, 2
    base = vol_bucket_relative_labels(close, horizon=h, lag=lag)
    perturbed = close.copy()
    later = perturbed.iloc[t + lag + h + 1 :]
    perturbed.iloc[t + lag + h + 1 :] *= np.random.default_rng(9).uniform(0.5, 2.0, later.shape)
    after = vol_bucket_relative_labels(perturbed, horizon=h, lag=lag)
    pd.testing.assert_frame_equal(base.iloc[: t + 1], after.iloc[: t + 1])
    assert not base.iloc[t + 1 : t + 30].equals(after.iloc[t + 1 : t + 30])


def test_a_negative_lag_is_refused() -> None:
    with pytest.raises(ValueError, match="lag must be an integer >= 0"):
        forward_log_return(_random_close(30, 3), 5, lag=-1)
