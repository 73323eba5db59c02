"""IC statistics: daily rank IC, bootstrap summary, deflated Sharpe ratio, hit rate."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alpha_engine.predictor._metrics import (
    ICSummary,
    daily_ic,
    deflated_sharpe_from_stats,
    deflated_sharpe_ratio,
    fixed_b_critical_value,
    hit_rate,
    newey_west_variance,
    summarize_ic,
)

_GAMMA = 0.5772156649015329


def _panel(n_dates: int, n_names: int, seed: int, signal: float = 0.0) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [pd.bdate_range("2022-01-03", periods=n_dates), [f"T{i:02d}" for i in range(n_names)]],
        names=["date", "ticker"],
    )
    pred = rng.standard_normal(len(index))
    label = signal * pred + rng.standard_normal(len(index))
    return pd.Series(pred, index=index, name="pred"), pd.Series(label, index=index, name="label")


def test_daily_ic_equals_scipy_spearman_per_date() -> None:
    pred, label = _panel(30, 12, seed=0, signal=0.3)
    pred = pred.round(1)  # ties
    label.iloc[::7] = np.nan
    dates = pred.index.get_level_values("date").unique()
    label[label.index.get_level_values("date") == dates[5]] = np.nan  # a date with no valid pairs
    label = label.drop(index=dates[6])  # a date missing from the label: inner join
    ic = daily_ic(pred, label)
    assert ic.name == "ic" and ic.index.name == "date"
    expected = {}
    for d in dates:
        if d in (dates[5], dates[6]):
            continue
        p, y = pred.xs(d, level="date"), label.xs(d, level="date")
        ok = p.notna() & y.reindex(p.index).notna()
        expected[d] = stats.spearmanr(p[ok], y.reindex(p.index)[ok]).statistic
    want = pd.Series(expected)
    assert list(ic.index) == list(want.index)
    np.testing.assert_allclose(ic.to_numpy(), want.to_numpy(), atol=1e-12)


def test_daily_ic_perfect_and_reversed_predictors() -> None:
    _, label = _panel(20, 8, seed=1)
    assert np.allclose(daily_ic(np.exp(label), label), 1.0)
    assert np.allclose(daily_ic(-label * 3 + 1, label), -1.0)


def test_daily_ic_skips_thin_and_constant_dates() -> None:
    pred, label = _panel(3, 6, seed=2)
    dates = pred.index.get_level_values("date").unique()
    pred[pred.index.get_level_values("date") == dates[0]] = 1.0  # constant: undefined
    label.loc[(dates[1], "T00")] = np.nan  # 5 valid pairs left
    assert list(daily_ic(pred, label, min_names=5).index) == [dates[1], dates[2]]
    assert list(daily_ic(pred, label, min_names=6).index) == [dates[2]]
    with pytest.raises(ValueError, match="daily_ic: min_names"):
        daily_ic(pred, label, min_names=1)


def test_summary_fields_by_hand() -> None:
    ic = pd.Series([0.1, -0.05, 0.2, 0.0, 0.15])
    s = summarize_ic(ic, n_boot=200, block=2, seed=3)
    assert s.mean == pytest.approx(0.08)
    assert s.std == pytest.approx(np.std(ic, ddof=1))
    assert s.ir == pytest.approx(0.08 / s.std)
    assert s.naive_t == pytest.approx(s.ir * math.sqrt(5))
    assert s.hit_rate == pytest.approx(0.6)
    assert (s.n_dates, s.block, s.n_boot, s.seed, s.confidence) == (5, 2, 200, 3, 0.95)
    assert -0.05 <= s.ci_low <= s.mean <= s.ci_high <= 0.2


def test_shuffled_labels_ci_contains_zero() -> None:
    pred, label = _panel(400, 30, seed=4)
    s = summarize_ic(daily_ic(pred, label), seed=0)
    assert s.ci_low < 0.0 < s.ci_high
    assert abs(s.mean) < 0.02


def test_real_signal_ci_excludes_zero() -> None:
    pred, label = _panel(400, 30, seed=4, signal=0.2)
    s = summarize_ic(daily_ic(pred, label), seed=0)
    assert s.ci_low > 0.05


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    ic = pd.Series(np.random.default_rng(5).normal(0.02, 0.1, 300))
    assert summarize_ic(ic, seed=11) == summarize_ic(ic, seed=11)
    assert summarize_ic(ic, seed=11).bootstrap_ci_low != summarize_ic(ic, seed=12).bootstrap_ci_low


def test_block_bootstrap_widens_ci_for_autocorrelated_ics() -> None:
    # Overlapping 21-day labels: a moving sum of noise is strongly autocorrelated.
    noise = np.random.default_rng(6).standard_normal(1020)
    ic = pd.Series(np.convolve(noise, np.ones(21) / 21, mode="valid") * 0.1)
    iid = summarize_ic(ic, block=1, seed=0)
    blocked = summarize_ic(ic, block=21, seed=0)
    assert (blocked.ci_high - blocked.ci_low) > 2 * (iid.ci_high - iid.ci_low)


def test_summary_to_json_is_strict_json() -> None:
    s = summarize_ic(pd.Series([0.1, 0.1, 0.1]), n_boot=10)
    payload = s.to_json()
    assert payload["ir"] is None and payload["naive_t"] is None  # zero std
    assert set(payload) == set(ICSummary.__dataclass_fields__)
    json.dumps(payload, allow_nan=False)


def _hac_t(values: np.ndarray, lag: int) -> np.ndarray:
    """The Newey-West t-statistic of each row's mean (rows: i.i.d. series)."""
    n = values.shape[1]
    return np.array([row.mean() / math.sqrt(newey_west_variance(row, lag) / n) for row in values])


@pytest.mark.parametrize("lag", [10, 40])
def test_fixed_b_critical_values_match_a_simulation_and_exceed_the_normal_ones(lag: int) -> None:
    """Under the null the HAC t-statistic is wider than N(0, 1) at these bandwidths; the fixed-b
    values cover it (within simulation error, a little conservatively), the normal ones do not."""
    t = _hac_t(np.random.default_rng(lag).standard_normal((3000, 300)), lag)
    for quantile, simulated in ((0.975, np.quantile(np.abs(t), 0.95)), (0.95, np.quantile(t, 0.95))):
        value = fixed_b_critical_value(quantile, lag, 300)
        assert simulated == pytest.approx(value, rel=0.05) and value > stats.norm.ppf(quantile) * 1.03
    assert np.mean(np.abs(t) > stats.norm.ppf(0.975)) > 0.06  # the normal value under-covers (nominal 5%)
    with pytest.raises(ValueError, match="quantile must be one of"):
        fixed_b_critical_value(0.9, lag, 300)


def test_the_summary_interval_uses_the_fixed_b_critical_value() -> None:
    ic = pd.Series(np.random.default_rng(0).standard_normal(200) * 0.1)
    s = summarize_ic(ic, block=21)
    assert s.critical_value == pytest.approx(fixed_b_critical_value(0.975, 42, 200))
    assert s.ci_high - s.mean == pytest.approx(s.critical_value * s.se)
    assert s.n_effective_fixed_b < s.n_effective
    assert f"fixed-b critical value {s.critical_value:.3f}" in s.ci_method


def test_summary_validation() -> None:
    with pytest.raises(ValueError, match="summarize_ic: need at least 2"):
        summarize_ic(pd.Series([0.1, np.nan]))
    with pytest.raises(ValueError, match="summarize_ic: block"):
        summarize_ic(pd.Series([0.1, 0.2]), block=0)
    with pytest.raises(ValueError, match="confidence must be 0.90 or 0.95"):
        summarize_ic(pd.Series([0.1, 0.2, 0.3]), confidence=0.99)


def test_dsr_paper_example() -> None:
    # Bailey & Lopez de Prado (2014), section 6: annual SR 2.5 over 1250 days, 100 trials with annualized
    # SR variance 0.5, skew -3, kurtosis 10 -> DSR ~ 0.9004.
    dsr = deflated_sharpe_from_stats(
        2.5 / math.sqrt(250), n_obs=1250, skew=-3.0, kurtosis=10.0, n_trials=100, trials_sr_variance=0.5 / 250
    )
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_dsr_of_series_matches_hand_formula() -> None:
    x = np.random.default_rng(7).standard_t(5, 500) * 0.05 + 0.01
    t = x.size
    sr = x.mean() / x.std(ddof=1)
    centred = x - x.mean()
    m2 = (centred**2).mean()
    skew = (centred**3).mean() / m2**1.5
    kurt = (centred**4).mean() / m2**2
    v = 1 / (t - 1)
    n = 10
    sr0 = math.sqrt(v) * ((1 - _GAMMA) * stats.norm.ppf(1 - 1 / n) + _GAMMA * stats.norm.ppf(1 - 1 / (n * math.e)))
    want = stats.norm.cdf((sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2))
    assert deflated_sharpe_ratio(x, n_trials=n) == pytest.approx(want, rel=1e-12)
    assert 0.0 < want < 1.0


def test_dsr_decreases_with_trials() -> None:
    x = np.random.default_rng(8).normal(0.03, 0.1, 300)
    values = [deflated_sharpe_ratio(x, n_trials=n) for n in (1, 2, 5, 10, 100, 1000)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    # One trial: no deflation, the probabilistic Sharpe ratio against 0.
    sr = x.mean() / x.std(ddof=1)
    spread = 1 - stats.skew(x) * sr + (stats.kurtosis(x, fisher=False) - 1) / 4 * sr**2
    assert values[0] == pytest.approx(stats.norm.cdf(sr * math.sqrt(299) / math.sqrt(spread)))


def test_dsr_periods_per_year_only_sets_the_variance_unit() -> None:
    x = np.random.default_rng(9).normal(0.02, 0.1, 250)
    assert deflated_sharpe_ratio(x, periods_per_year=252) == deflated_sharpe_ratio(x)
    assert deflated_sharpe_ratio(x, periods_per_year=252, trials_sr_variance=0.5) == pytest.approx(
        deflated_sharpe_ratio(x, trials_sr_variance=0.5 / 252)
    )


def test_dsr_validation() -> None:
    with pytest.raises(ValueError, match="deflated_sharpe_ratio: need at least 3"):
        deflated_sharpe_ratio(np.array([0.1, np.nan, 0.2]))
    with pytest.raises(ValueError, match="zero variance"):
        deflated_sharpe_ratio(np.full(10, 0.1))
    with pytest.raises(ValueError, match="n_trials"):
        deflated_sharpe_ratio(np.arange(10.0), n_trials=0)


def test_hit_rate_ignores_zeros_and_nans() -> None:
    index = pd.MultiIndex.from_product([[pd.Timestamp("2024-01-02")], list("ABCDEF")], names=["date", "ticker"])
    pred = pd.Series([1.0, -2.0, 0.5, 0.0, 3.0, np.nan], index=index)
    label = pd.Series([0.1, -0.1, -0.2, 0.3, 0.0, 0.4], index=index)
    assert hit_rate(pred, label) == pytest.approx(2 / 3)  # A, B right; C wrong; D, E zero; F NaN
    with pytest.raises(ValueError, match="hit_rate: no rows"):
        hit_rate(pred * 0, label)
