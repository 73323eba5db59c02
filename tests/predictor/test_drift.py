"""Drift detection: reference distributions, feature drift (z and KS), prediction-pattern checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.predictor import DRIFT_REPORT
from alpha_engine.predictor._drift import THRESHOLDS, detect_drift, reference_distributions
from alpha_engine.store import ArtifactStore, ContractError

CONTRACTS = SATURDAY_GRAPH.contracts()

KEY = "monitoring/drift/2026-05-08.json"
N_TICKERS = 400


def _long(values: dict[str, np.ndarray], n_dates: int) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    dates = pd.bdate_range("2025-01-01", periods=n_dates)
    tickers = [f"T{i:03d}" for i in range(n // n_dates)]
    index = pd.MultiIndex.from_product([dates, tickers], names=["date", "ticker"])
    return pd.DataFrame(values, index=index)


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 20 * 300
    return _long({"mom": rng.normal(0.0, 1.0, n), "vol": rng.lognormal(-3.0, 0.3, n)}, n_dates=20)


@pytest.fixture(scope="module")
def reference(training: pd.DataFrame) -> dict[str, Any]:
    return reference_distributions(training, max_points=2000, seed=0)


def _today(mom: np.ndarray | None = None, vol: np.ndarray | None = None, *, seed: int = 2,
           n: int = N_TICKERS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"mom": rng.normal(0.0, 1.0, n) if mom is None else mom,
                          "vol": rng.lognormal(-3.0, 0.3, n) if vol is None else vol})
    frame.index = pd.MultiIndex.from_product([[pd.Timestamp("2026-05-08")], [f"T{i:03d}" for i in range(len(frame))]],
                                             names=["date", "ticker"])
    return frame


def _predictions(directions: list[str], alphas: list[float] | None = None, confidence: float = 0.3,
                 date: str = "2026-05-08") -> dict[str, Any]:
    alphas = alphas if alphas is not None else [0.01 * i for i in range(len(directions))]
    return {"date": date, "predictions": [
        {"ticker": f"T{i}", "predicted_direction": d, "predicted_alpha": a, "prediction_confidence": confidence}
        for i, (d, a) in enumerate(zip(directions, alphas, strict=True))]}


def _checks(report: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(a["check"], a["severity"], a.get("feature")) for a in report["alerts"]]


# -- reference ----------------------------------------------------------------------------

def test_reference_is_json_ready_sorted_and_capped(training: pd.DataFrame, reference: dict[str, Any]) -> None:
    assert sorted(reference) == ["mom", "vol"]
    for name, entry in reference.items():
        assert entry["n"] == len(training)
        assert len(entry["sample"]) == 2000
        assert entry["sample"] == sorted(entry["sample"])
        assert entry["mean"] == pytest.approx(training[name].mean())
        assert entry["std"] == pytest.approx(training[name].std())
        assert set(entry["sample"]) <= set(training[name].tolist())
    json.dumps(reference, allow_nan=False)


def test_reference_is_deterministic_per_seed(training: pd.DataFrame, reference: dict[str, Any]) -> None:
    assert reference_distributions(training, seed=0) == reference
    assert reference_distributions(training, seed=1)["mom"]["sample"] != reference["mom"]["sample"]


def test_adding_a_feature_does_not_change_other_samples(training: pd.DataFrame, reference: dict[str, Any]) -> None:
    wider = training.assign(extra=1.0)
    assert reference_distributions(wider, seed=0)["mom"] == reference["mom"]


def test_reference_ignores_non_finite_and_keeps_small_columns_whole() -> None:
    frame = pd.DataFrame({"x": [3.0, np.nan, 1.0, np.inf, 2.0], "empty": np.nan})
    reference = reference_distributions(frame)
    assert reference["x"] == {"n": 3, "mean": 2.0, "std": 1.0, "sample": [1.0, 2.0, 3.0]}
    assert reference["empty"] == {"n": 0, "mean": None, "std": None, "sample": []}


def test_reference_rejects_non_numeric_columns() -> None:
    with pytest.raises(TypeError, match="sector"):
        reference_distributions(pd.DataFrame({"x": [1.0], "sector": ["tech"]}))


# -- feature drift ------------------------------------------------------------------------

def test_same_distribution_has_no_drift(reference: dict[str, Any]) -> None:
    report = detect_drift(_today(), reference)
    assert report["status"] == "ok" and report["severity"] == "OK"
    assert report["alerts"] == [] and report["n_alerts"] == 0 and report["skipped"] == []
    assert report["date"] == "2026-05-08"
    assert report["features"]["mom"]["z"] < 1 and report["features"]["mom"]["ks"] < 0.1
    DRIFT_REPORT.validate(key=KEY, value=report)


@pytest.mark.parametrize(("shift", "severity"), [(3.5, "WARN"), (6.0, "CRITICAL")])
def test_shifted_mean_raises_mean_shift_alert(reference: dict[str, Any], shift: float, severity: str) -> None:
    rng = np.random.default_rng(3)
    report = detect_drift(_today(mom=rng.normal(shift, 0.01, N_TICKERS)), reference)
    alert = next(a for a in report["alerts"] if a["check"] == "feature_mean_shift")
    assert (alert["severity"], alert["feature"]) == (severity, "mom")
    assert alert["value"] == pytest.approx(shift, abs=0.05)
    assert report["status"] == "drift" and report["severity"] == severity
    DRIFT_REPORT.validate(key=KEY, value=report)


def test_z_boundaries() -> None:
    reference = {"x": {"n": 2, "mean": 0.0, "std": 1.0, "sample": []}}
    levels = {}
    for z in (3.0, 3.01, 4.99, 5.0):
        levels[z] = [a["severity"] for a in detect_drift(pd.DataFrame({"x": np.full(20, z)}), reference)["alerts"]]
    assert levels == {3.0: [], 3.01: ["WARN"], 4.99: ["WARN"], 5.0: ["CRITICAL"]}


def test_shape_change_with_same_mean_is_caught_by_ks(reference: dict[str, Any]) -> None:
    # Same mean and std as N(0, 1) but bimodal: z stays small, KS sees it.
    rng = np.random.default_rng(4)
    bimodal = rng.choice([-1.0, 1.0], N_TICKERS) + rng.normal(0.0, 0.05, N_TICKERS)
    report = detect_drift(_today(mom=bimodal), reference)
    assert _checks(report) == [("feature_ks", "WARN", "mom")]
    assert report["alerts"][0]["value"] > THRESHOLDS["ks_warn"]
    assert report["features"]["mom"]["z"] < 0.5


def test_too_few_values_are_skipped_not_alerted(reference: dict[str, Any]) -> None:
    mom = np.full(N_TICKERS, np.nan)
    mom[:9] = 100.0  # wildly shifted, but only 9 finite values
    report = detect_drift(_today(mom=mom), reference)
    assert report["alerts"] == []
    assert report["skipped"] == [{"check": "feature_drift", "severity": "INFO", "feature": "mom", "n": 9,
                                  "reason": "only 9 finite values today (< 10)"}]
    assert "mom" not in report["features"] and "vol" in report["features"]


def test_between_10_and_30_values_only_the_mean_is_checked(reference: dict[str, Any]) -> None:
    report = detect_drift(_today(n=20, mom=np.full(20, 10.0), vol=np.full(20, 0.05)), reference)
    assert ("feature_mean_shift", "CRITICAL", "mom") in _checks(report)
    assert not any(a["check"] == "feature_ks" for a in report["alerts"])
    assert {(s["check"], s["feature"]) for s in report["skipped"]} == {("feature_ks", "mom"), ("feature_ks", "vol")}


def test_missing_feature_and_flat_reference_are_skipped() -> None:
    reference = {"flat": {"n": 5, "mean": 1.0, "std": 0.0, "sample": [1.0] * 5},
                 "gone": {"n": 5, "mean": 0.0, "std": 1.0, "sample": [0.0] * 5}}
    report = detect_drift(pd.DataFrame({"flat": np.linspace(0, 1, 50)}), reference)
    skipped = {(s["check"], s["feature"]) for s in report["skipped"]}
    assert skipped == {("feature_mean_shift", "flat"), ("feature_drift", "gone")}
    DRIFT_REPORT.validate(key=KEY, value=report)


def test_today_with_two_dates_is_rejected(reference: dict[str, Any], training: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="2 dates"):
        detect_drift(training.iloc[:600], reference)


def test_report_is_deterministic(reference: dict[str, Any], tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, contracts=CONTRACTS)
    rng = np.random.default_rng(5)
    today = _today(mom=rng.normal(4.0, 1.0, N_TICKERS))
    store.write_json(KEY, detect_drift(today, reference, predictions=_predictions(["UP"] * 10)))
    first = store.read_bytes(KEY)
    store.write_json(KEY, detect_drift(today, reference, predictions=_predictions(["UP"] * 10)))
    assert store.read_bytes(KEY) == first


# -- prediction drift ---------------------------------------------------------------------

def _prediction_report(predictions: dict[str, Any], history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    report = detect_drift(pd.DataFrame(), {}, predictions=predictions, history=history or [])
    DRIFT_REPORT.validate(key=KEY, value=report)
    return report


def test_healthy_predictions_have_no_alerts() -> None:
    report = _prediction_report(_predictions(["UP", "DOWN"] * 5))
    assert report["alerts"] == [] and report["status"] == "ok" and report["date"] == "2026-05-08"


def test_empty_predictions_are_critical() -> None:
    report = _prediction_report({"date": "2026-05-08", "predictions": []})
    assert _checks(report) == [("predictions_empty", "CRITICAL", None)]
    assert report["severity"] == "CRITICAL"


def test_direction_clustering_boundary() -> None:
    assert _checks(_prediction_report(_predictions(["UP"] * 8 + ["DOWN"] * 2))) == []  # exactly 80%
    report = _prediction_report(_predictions(["DOWN"] * 9 + ["UP"]))
    assert _checks(report) == [("direction_clustering", "WARN", None)]
    assert report["alerts"][0]["value"] == 0.9


def test_direction_clustering_three_days_running_is_critical() -> None:
    clustered = _predictions(["UP"] * 9 + ["DOWN"])
    balanced = _predictions(["UP", "DOWN"] * 5)
    history = [{**clustered, "date": "2026-05-06"}, {**clustered, "date": "2026-05-07"}]
    assert _checks(_prediction_report(clustered, history)) == [("direction_clustering", "CRITICAL", None)]
    # Only one earlier clustered day, or the most recent day balanced: WARN.
    assert _checks(_prediction_report(clustered, history[1:]))[0][1] == "WARN"
    history_broken = [{**clustered, "date": "2026-05-07"}, {**balanced, "date": "2026-05-06"},
                      {**clustered, "date": "2026-05-05"}]
    assert _checks(_prediction_report(clustered, history_broken))[0][1] == "WARN"


def test_degenerate_alpha_is_critical() -> None:
    report = _prediction_report(_predictions(["UP", "DOWN"] * 5, alphas=[0.0101, 0.01] * 5))
    assert _checks(report) == [("alpha_degeneration", "CRITICAL", None)]
    assert report["alerts"][0]["value"] == pytest.approx(0.00005)


def test_single_prediction_skips_the_alpha_spread_check() -> None:
    report = _prediction_report(_predictions(["UP"], alphas=[0.02]))
    assert [s["check"] for s in report["skipped"]] == ["alpha_degeneration"]
    assert _checks(report) == [("direction_clustering", "WARN", None)]


def test_confidence_collapse_is_warn() -> None:
    report = _prediction_report(_predictions(["UP", "DOWN"] * 5, confidence=0.04))
    assert _checks(report) == [("confidence_collapse", "WARN", None)]
    assert _checks(_prediction_report(_predictions(["UP", "DOWN"] * 5, confidence=0.05))) == []


def test_report_schema_rejects_bad_reports(reference: dict[str, Any]) -> None:
    report = detect_drift(_today(), reference)
    assert CONTRACTS.artifact_for(KEY).schema == "drift_report.schema.json"
    for broken in ({**report, "status": "fine"}, {**report, "severity": "HIGH"},
                   {k: v for k, v in report.items() if k != "n_alerts"},
                   {**report, "alerts": [{"check": "x", "severity": "INFO", "value": 1, "threshold": 1,
                                          "message": "m"}]}):
        with pytest.raises(ContractError, match="drift_report"):
            DRIFT_REPORT.validate(key=KEY, value=broken)


def test_clustering_history_may_be_earlier_drift_reports() -> None:
    clustered = _predictions(["UP"] * 9 + ["DOWN"])
    earlier = [{**_prediction_report(clustered), "date": d} for d in ("2026-05-06", "2026-05-07")]
    assert _checks(_prediction_report(clustered, earlier)) == [("direction_clustering", "CRITICAL", None)]
    calm = {**_prediction_report(_predictions(["UP", "DOWN"] * 5)), "date": "2026-05-07"}
    assert _checks(_prediction_report(clustered, [earlier[0], calm]))[0][1] == "WARN"


def test_report_may_carry_the_model_version(reference: dict[str, Any]) -> None:
    report = {**detect_drift(_today(), reference), "model_version": "predictor-2026-05-01-0123abcd"}
    DRIFT_REPORT.validate(key=KEY, value=report)
