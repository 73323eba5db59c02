import json

import numpy as np
import pytest
from scipy.special import expit

from alpha_engine.predictor._calibration import (
    AlphaCalibrator,
    calibration_curve,
    cross_fit_calibration,
    expected_calibration_error,
)

GRID = np.linspace(-0.2, 0.2, 81)


def _informative(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """alpha with P(label > 0) = expit(20 * alpha + 0.2); label is a signed return."""
    rng = np.random.default_rng(seed)
    alpha = rng.normal(0.0, 0.05, n)
    up = rng.random(n) < expit(20.0 * alpha + 0.2)
    label = np.where(up, 1.0, -1.0) * rng.uniform(0.001, 0.1, n)
    return alpha, label


def test_unfitted_calibrator_uses_the_linear_fallback() -> None:
    p = AlphaCalibrator().predict_proba([0.0, 0.03, -0.03, 0.15, 0.5, -0.4, np.nan])
    np.testing.assert_allclose(p[:6], [0.5, 0.6, 0.4, 1.0, 1.0, 0.0], atol=1e-15)
    assert np.isnan(p[6])
    assert not AlphaCalibrator().fitted


def test_platt_recovers_a_logistic_link() -> None:
    alpha, label = _informative(n=20000)
    calibrator = AlphaCalibrator(method="platt").fit(alpha, label)
    assert calibrator.slope_ == pytest.approx(20.0, rel=0.1)
    assert calibrator.intercept_ == pytest.approx(0.2, abs=0.05)
    assert calibrator.n_samples_ == 20000


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrated_probability_is_monotone_in_alpha(method: str) -> None:
    calibrator = AlphaCalibrator(method=method).fit(*_informative())
    p = calibrator.predict_proba(GRID)
    assert np.all(np.diff(p) >= 0)
    assert p[0] < 0.3 and p[-1] > 0.7
    assert np.all((p >= 0) & (p <= 1))


def test_isotonic_clips_outside_the_fitted_range() -> None:
    alpha, label = _informative()
    calibrator = AlphaCalibrator(method="isotonic").fit(alpha, label)
    low, high = calibrator.predict_proba([alpha.min() - 1.0, alpha.max() + 1.0])
    assert low == calibrator.y_thresholds_[0]
    assert high == calibrator.y_thresholds_[-1]


def test_fit_ignores_non_finite_pairs() -> None:
    alpha, label = _informative(n=500)
    padded_alpha = np.concatenate([alpha, [np.nan, 0.1, np.inf]])
    padded_label = np.concatenate([label, [1.0, np.nan, 1.0]])
    a = AlphaCalibrator().fit(padded_alpha, padded_label)
    b = AlphaCalibrator().fit(alpha, label)
    assert a.to_json() == b.to_json()


def test_fit_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both up and down"):
        AlphaCalibrator(method="isotonic").fit([0.01, 0.02, 0.03], [0.1, 0.2, 0.3])


def test_unknown_method_raises_in_fit() -> None:
    calibrator = AlphaCalibrator(method="beta")  # the constructor only stores
    with pytest.raises(ValueError, match="beta"):
        calibrator.fit(*_informative(n=100))


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_json_round_trip_is_exact(method: str) -> None:
    calibrator = AlphaCalibrator(method=method).fit(*_informative())
    text = json.dumps(calibrator.to_json(), allow_nan=False)
    loaded = AlphaCalibrator.from_json(json.loads(text))
    probe = np.concatenate([GRID, np.random.default_rng(5).normal(0, 0.1, 500)])
    np.testing.assert_array_equal(loaded.predict_proba(probe), calibrator.predict_proba(probe))
    assert loaded.to_json() == calibrator.to_json()
    assert AlphaCalibrator.from_json(text).to_json() == calibrator.to_json()


def test_unfitted_json_round_trip_keeps_the_fallback() -> None:
    loaded = AlphaCalibrator.from_json(json.loads(json.dumps(AlphaCalibrator(method="isotonic").to_json())))
    assert not loaded.fitted
    np.testing.assert_array_equal(loaded.predict_proba(GRID), AlphaCalibrator().predict_proba(GRID))


def test_from_json_rejects_malformed_documents() -> None:
    with pytest.raises(ValueError, match="kind"):
        AlphaCalibrator.from_json({"kind": "meta_model.bayesian_ridge", "version": 1})
    with pytest.raises(ValueError, match="slope"):
        AlphaCalibrator.from_json({"kind": "alpha_calibrator", "version": 1, "method": "platt", "fitted": True})


def test_ece_of_a_calibrated_forecast_is_near_zero() -> None:
    rng = np.random.default_rng(11)
    p = rng.random(200_000)
    outcome = rng.random(200_000) < p
    assert expected_calibration_error(p, outcome) < 0.01


def test_ece_measures_the_gap() -> None:
    assert expected_calibration_error([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1]) == pytest.approx(0.05)
    assert expected_calibration_error([0.9] * 4, [1, 0, 1, 0]) == pytest.approx(0.4)
    assert expected_calibration_error([1.0, 0.0], [1, 0]) == 0.0
    assert np.isnan(expected_calibration_error([np.nan], [1]))


def test_ece_rejects_values_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.2, 0.3], [1, 0])


def test_calibration_reduces_ece_of_the_fallback() -> None:
    alpha, label = _informative(seed=2)
    fit_part, test_part = slice(0, 2000), slice(2000, None)
    calibrator = AlphaCalibrator().fit(alpha[fit_part], label[fit_part])
    outcome = label[test_part] > 0
    before = expected_calibration_error(AlphaCalibrator().predict_proba(alpha[test_part]), outcome)
    after = expected_calibration_error(calibrator.predict_proba(alpha[test_part]), outcome)
    assert after < before


def test_calibration_curve_bins_by_alpha() -> None:
    alpha, label = _informative()
    calibrator = AlphaCalibrator().fit(alpha, label)
    rows = calibrator.calibration_curve(alpha, label, n_bins=8)
    assert len(rows) == 8
    assert sum(row["count"] for row in rows) == len(alpha)
    assert [row["mean_alpha"] for row in rows] == sorted(row["mean_alpha"] for row in rows)
    assert rows[0]["observed_frequency"] < rows[-1]["observed_frequency"]
    order = np.argsort(alpha, kind="stable")[: rows[0]["count"]]
    assert rows[0]["mean_predicted"] == pytest.approx(calibrator.predict_proba(alpha[order]).mean())
    assert rows[0]["observed_frequency"] == pytest.approx(np.mean(label[order] > 0))


def test_calibration_curve_without_calibrator_uses_the_fallback() -> None:
    rows = calibration_curve([-0.03, 0.03, 0.03, np.nan], [1.0, 1.0, -1.0, 1.0], n_bins=2)
    assert rows == [
        {"alpha_low": -0.03, "alpha_high": 0.03, "mean_alpha": 0.0, "mean_predicted": pytest.approx(0.5),
         "observed_frequency": 1.0, "count": 2},
        {"alpha_low": 0.03, "alpha_high": 0.03, "mean_alpha": 0.03, "mean_predicted": pytest.approx(0.6),
         "observed_frequency": 0.0, "count": 1},
    ]
    assert calibration_curve([], []) == []


# --- slope constraint, shrinkage and cross-fitting (issue 12, item 5) ---

def _panel(slope: float, n_dates: int = 400, n_tickers: int = 30, seed: int = 0):
    """A (date x ticker) panel flattened: alpha ~ N(0, 0.05), P(up) = expit(slope * alpha); 8 folds of 50 dates."""
    rng = np.random.default_rng(seed)
    date = np.repeat(np.arange(n_dates), n_tickers)
    alpha = rng.normal(0.0, 0.05, len(date))
    up = rng.random(len(date)) < expit(slope * alpha)
    label = np.where(up, 1.0, -1.0) * rng.uniform(0.001, 0.1, len(date))
    return alpha, label, date // 50, date


def test_planted_negative_slope_is_clamped_to_the_base_rate() -> None:
    alpha, label, _, date = _panel(-20.0)
    calibrator = AlphaCalibrator().fit(alpha, label, groups=date // 21)
    assert calibrator.raw_slope_ < 0 and calibrator.slope_z_ < -5  # the data do show a negative slope
    assert calibrator.shrunk_ and calibrator.slope_ == 0.0
    p = calibrator.predict_proba(GRID)
    np.testing.assert_allclose(p, calibrator.base_rate_, rtol=0, atol=1e-12)
    assert AlphaCalibrator.from_json(calibrator.to_json()).predict_proba(GRID).tolist() == p.tolist()


def test_planted_monotone_signal_keeps_a_positive_slope_and_small_oos_ece() -> None:
    alpha, label, fold, date = _panel(20.0)
    calibrator = AlphaCalibrator().fit(alpha, label, groups=date // 21)
    assert not calibrator.shrunk_ and calibrator.slope_ > 0 and calibrator.slope_p_value_ < 1e-6
    cross = cross_fit_calibration(alpha, label, fold, date, purge=21, cluster_dates=21)
    assert cross.n_folds_scored == 7 and cross.n_shrunk == 0
    assert not cross.scored[fold == 0].any() and cross.scored[fold > 0].all()
    assert cross.ece < 0.03
    assert cross.brier_skill > 0.05  # beats the base rate out of sample


def test_a_weak_slope_that_is_not_significant_is_shrunk() -> None:
    alpha, label, _, date = _panel(0.0, seed=3)
    calibrator = AlphaCalibrator().fit(alpha, label, groups=date // 21)
    assert calibrator.slope_p_value_ >= 0.05 and calibrator.shrunk_ and calibrator.slope_ == 0.0


def test_in_sample_ece_is_near_zero_on_a_null_and_the_cross_fitted_ece_is_not() -> None:
    # A null whose up-rate drifts across folds: in sample the fit matches the pooled mean (ECE ~0 by
    # construction); a calibrator fitted on earlier folds misses the later folds' rate.
    alpha, _, fold, date = _panel(0.0, seed=1)
    rng = np.random.default_rng(7)
    up_rate = 0.35 + 0.04 * fold
    label = np.where(rng.random(len(alpha)) < up_rate, 1.0, -1.0)
    in_sample = AlphaCalibrator().fit(alpha, label)
    ece_in = expected_calibration_error(in_sample.predict_proba(alpha), label)
    cross = cross_fit_calibration(alpha, label, fold, date, purge=21, cluster_dates=21)
    assert ece_in < 0.005
    assert cross.ece > 0.05
    assert cross.brier_skill <= 0.0  # no skill over the (cross-fitted) base rate


def test_cross_fitting_purges_the_horizon_before_each_scored_fold() -> None:
    alpha, label, fold, date = _panel(20.0, n_dates=100)  # folds 0 (dates 0-49) and 1 (50-99)
    # With purge >= 50 no date of fold 0 is > purge before fold 1: nothing can be scored.
    assert cross_fit_calibration(alpha, label, fold, date, purge=50).n_scored == 0
    assert cross_fit_calibration(alpha, label, fold, date, purge=21).n_scored == int((fold == 1).sum())


@pytest.mark.parametrize("slope", [-20.0, 0.0, 20.0])
def test_p_up_is_non_decreasing_in_alpha_whatever_the_data(slope: float) -> None:
    alpha, label, _, date = _panel(slope, n_dates=100, seed=2)
    for method in ("platt", "isotonic"):
        p = AlphaCalibrator(method=method).fit(alpha, label, groups=date // 21).predict_proba(GRID)
        assert np.all(np.diff(p) >= 0), method
