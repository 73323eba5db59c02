"""The evaluator's statistics, each shown to catch what it is for."""

from __future__ import annotations

import numpy as np
import pytest

from alpha_engine.evaluator import (
    InsufficientDataError,
    benjamini_hochberg,
    expected_calibration_error,
    hac_mean_interval,
    proportion_pvalue,
    rank_ic,
    reliability_table,
    wilson_interval,
)


def test_wilson_interval_matches_the_closed_form_and_stays_inside_0_1() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    with pytest.raises(InsufficientDataError):
        wilson_interval(0, 0)


def test_a_smaller_effective_sample_gives_a_wider_interval() -> None:
    wide, narrow = wilson_interval(0.6 * 20, 20), wilson_interval(0.6 * 120, 120)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]


def test_benjamini_hochberg_rejects_fewer_than_raw_p_below_0_05_on_a_null_panel() -> None:
    # 200 slice tests of hit rates that are truly 0.5: raw p < 0.05 finds ~5% "discoveries"; BH finds ~none.
    rng = np.random.default_rng(0)
    hits = rng.binomial(100, 0.5, size=200)
    pvalues = [proportion_pvalue(h, 100) for h in hits]
    raw = sum(p < 0.05 for p in pvalues)
    rejected, adjusted = benjamini_hochberg(pvalues, 0.05)
    assert raw >= 5 and sum(rejected) < raw and sum(rejected) <= 1
    assert all(q >= p for q, p in zip(adjusted, pvalues, strict=True))


def test_benjamini_hochberg_keeps_real_effects() -> None:
    rng = np.random.default_rng(1)
    null = [proportion_pvalue(h, 400) for h in rng.binomial(400, 0.5, size=40)]
    real = [proportion_pvalue(h, 400) for h in rng.binomial(400, 0.62, size=10)]
    rejected, _ = benjamini_hochberg(null + real, 0.05)
    assert sum(rejected[40:]) >= 9 and sum(rejected[:40]) <= 2


def test_benjamini_hochberg_is_the_step_up_rule() -> None:
    # bounds i q / m with q = 0.05, m = 4: .0125 .025 .0375 .05. p_(2) = .03 fails its bound but p_(3) = .035
    # passes its own, so the step-up rule rejects the three smallest
    rejected, _ = benjamini_hochberg([0.035, 0.001, 0.03, 0.2], 0.05)
    assert rejected == [True, True, True, False]


def test_ece_of_a_perfectly_calibrated_synthetic_is_near_zero_and_of_a_miscalibrated_one_large() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0, 1, 50_000)
    calibrated = rng.uniform(0, 1, p.size) < p
    assert expected_calibration_error(p, calibrated) < 0.01
    overconfident = rng.uniform(0, 1, p.size) < 0.5 + 0.3 * (p - 0.5)  # the truth is much closer to 0.5
    assert expected_calibration_error(p, overconfident) > 0.1
    bins = reliability_table(p, calibrated)
    assert len(bins) == 10 and sum(b["n"] for b in bins) == p.size


def test_rank_ic_is_spearman_and_nan_when_undefined() -> None:
    assert rank_ic([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_ic([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(rank_ic([1, 2], [1, 2])) and np.isnan(rank_ic([1, 1, 1], [1, 2, 3]))


def test_the_hac_interval_widens_for_overlapping_labels_and_refuses_short_series() -> None:
    rng = np.random.default_rng(3)
    shocks = rng.normal(0, 1, 600)
    overlapping = np.convolve(shocks, np.ones(6) / 6, mode="valid")  # 6-week windows overlapping, as weekly 30d labels
    naive = hac_mean_interval(overlapping, 0, 10)
    hac = hac_mean_interval(overlapping, 12, 10)
    assert hac.se > 1.8 * naive.se and hac.critical_value > 1.96
    with pytest.raises(InsufficientDataError, match="at least 8 values, got 3"):
        hac_mean_interval([0.1, 0.2, 0.3], 2, 8)


def test_the_hac_interval_covers_a_null_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(4)
    covered = 0
    for _ in range(400):
        series = np.convolve(rng.normal(0, 1, 125), np.ones(6) / 6, mode="valid")
        interval = hac_mean_interval(series, 10, 10)
        covered += interval.low <= 0 <= interval.high
    assert covered / 400 > 0.88
