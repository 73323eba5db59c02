import json

import numpy as np
import pytest
from scipy.special import expit

from alpha_engine.predictor._calibration import AlphaCalibrator, calibration_curve, expected_calibration_error

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
