"""SaturdayHealthCheck classifies every other stage of its graph from the health markers, the
stage's declared outputs for the run date and the execution's skip flags, and gives a verdict:
failed (a hard stage is a problem), degraded (only soft ones are) or ok."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.health import HEALTH_REPORT, SaturdayHealthCheck
from alpha_engine.pipeline import (
    HEALTH_MARKER,
    Compute,
    FailureClass,
    NoOptions,
    PipelineApp,
    Stage,
    StageContext,
    StageGraph,
    run_stage,
)
from alpha_engine.store import Artifact, ArtifactStore

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
LAST_WEEK = "2026-11-14T12:00:00Z"


def _stage(stage_name: str, *outputs: Artifact, hard: bool = False) -> type[Stage[Any]]:
    class Declared(Stage[NoOptions]):
        name, slug = stage_name, stage_name.lower()
        failure_class = FailureClass.HARD if hard else FailureClass.SOFT
        compute, timeout_seconds = Compute.LAMBDA, 60
        produces = outputs

        def preflight(self, ctx: StageContext[NoOptions]) -> None:
            pass

        def run(self, ctx: StageContext[NoOptions]) -> None:
            pass

    return Declared


REPORT = Artifact("test/{date}/report.json")
GRAPH = StageGraph("Saturday", (
    _stage("Fine", REPORT), _stage("Broken"), _stage("Silent"), _stage("Stale"),
    _stage("Forgetful", Artifact("test/{date}/forgotten.json"), Artifact("test/{version}/family.json")),
    SaturdayHealthCheck,
))
APP = PipelineApp(graph=GRAPH, resources=RESOURCES)
HARD_GRAPH = StageGraph("Saturday", (
    _stage("Ingest", hard=True), _stage("Train", hard=True), _stage("Score", hard=True), _stage("Scan"),
    SaturdayHealthCheck,
))
HARD_APP = PipelineApp(graph=HARD_GRAPH, resources=RESOURCES)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(workspace=tmp_path / "ws", env={})


def _marker(store: ArtifactStore, slug: str, status: str = "ok", run_date: date = DAY,
            error: str | None = None, last_success: str | None = LAST_WEEK) -> None:
    store.write_json(HEALTH_MARKER.format(slug=slug), {
        "module": slug, "status": status, "last_success": last_success, "run_date": run_date.isoformat(),
        "duration_seconds": 1.0, "summary": {}, "warnings": [], "error": error})


def _check(settings: Settings, app: PipelineApp = APP, execution_input: dict[str, Any] | None = None) -> Any:
    return run_stage("saturday-health-check", DAY, settings=settings, app=app, now=lambda: NOW,
                     execution_input=execution_input)


def test_each_stage_is_classified_and_soft_problems_degrade_the_run(settings: Settings) -> None:
    store = APP.open_artifacts(settings, read_only=False)
    _marker(store, "fine")
    store.write_json(REPORT.format(DAY), {})
    _marker(store, "broken", status="failed", error="RuntimeError: boom")
    _marker(store, "silent", status="failed", error=None, last_success=None)  # failed, recorded no error
    _marker(store, "stale", run_date=date(2026, 11, 14))  # last week's marker: it did not run this week
    _marker(store, "forgetful")
    result = _check(settings)
    assert result.status == "ok", result.error  # soft problems only: degraded, not failed
    report = store.read_json(HEALTH_REPORT.format(DAY))
    assert report["stages"] == {
        "fine": {"status": "ok", "missing_outputs": []},
        "broken": {"status": "failed", "error": "RuntimeError: boom", "last_success": LAST_WEEK,
                   "last_success_age_days": 7.0},
        "silent": {"status": "failed", "error": None, "last_success": None, "last_success_age_days": None},
        "stale": {"status": "not_run", "marker_run_date": "2026-11-14", "last_success": LAST_WEEK,
                  "last_success_age_days": 7.0},
        "forgetful": {"status": "missing_outputs", "missing_outputs": ["test/2026-11-21/forgotten.json"]},
    }
    assert report["counts"] == {"ok": 1, "skipped": 0, "failed": 2, "not_run": 1, "missing_outputs": 1}
    assert report["status"] == "degraded"
    assert [(p["stage"], p["status"]) for p in report["problems"]] == [
        ("Broken", "failed"), ("Silent", "failed"), ("Stale", "not_run"), ("Forgetful", "missing_outputs")]
    assert result.summary["status"] == "degraded"
    assert result.warnings == (
        f"Broken (soft): failed: its marker for 2026-11-21 says failed: RuntimeError: boom; last success {LAST_WEEK} "
        "(7.0 days ago)",
        "Silent (soft): failed: its marker for 2026-11-21 says failed: no error recorded; it has never succeeded",
        "Stale (soft): not_run: its last marker is for run_date 2026-11-14, so it did not run for 2026-11-21; "
        f"last success {LAST_WEEK} (7.0 days ago)",
        "Forgetful (soft): missing_outputs: its marker is ok but test/2026-11-21/forgotten.json is missing")


def test_three_failed_hard_stages_fail_the_check_naming_them(settings: Settings) -> None:
    store = HARD_APP.open_artifacts(settings, read_only=False)
    for slug in ("ingest", "train", "score"):
        _marker(store, slug, status="failed", error=f"RuntimeError: {slug} broke")
    _marker(store, "scan")
    result = _check(settings, HARD_APP)
    assert result.status == "failed" and result.exit_code == 1
    assert result.error is not None and result.error.startswith(
        "HealthCheckFailedError: health check failed for 2026-11-21: 3 stage(s) failed, did not run or lack outputs, "
        "3 of them hard: ")
    for name, slug in (("Ingest", "ingest"), ("Train", "train"), ("Score", "score")):
        assert f"{name} (hard): failed: its marker for 2026-11-21 says failed: RuntimeError: {slug} broke" in result.error
    report = store.read_json(HEALTH_REPORT.format(DAY))  # written before the check fails
    assert report["status"] == "failed" and [p["stage"] for p in report["problems"]] == ["Ingest", "Train", "Score"]
    marker = store.read_json(HEALTH_MARKER.format(slug="saturday-health-check"))
    assert marker["status"] == "failed" and "Ingest" in marker["error"]


def test_a_hard_stage_that_never_ran_fails_the_check(settings: Settings) -> None:
    store = HARD_APP.open_artifacts(settings, read_only=False)
    for slug in ("ingest", "scan"):
        _marker(store, slug)
    _marker(store, "train", run_date=date(2026, 11, 14))
    result = _check(settings, HARD_APP)  # score: no marker at all
    assert result.status == "failed"
    report = store.read_json(HEALTH_REPORT.format(DAY))
    assert report["stages"]["score"] == {"status": "not_run", "marker_run_date": None, "last_success": None,
                                         "last_success_age_days": None}
    assert [(p["stage"], p["status"], p["reason"]) for p in report["problems"]] == [
        ("Train", "not_run", "its last marker is for run_date 2026-11-14, so it did not run for 2026-11-21; "
                             f"last success {LAST_WEEK} (7.0 days ago)"),
        ("Score", "not_run", "no health marker: it has never run here")]


def test_every_stage_ok_is_ok(settings: Settings) -> None:
    store = HARD_APP.open_artifacts(settings, read_only=False)
    for slug in ("ingest", "train", "score", "scan"):
        _marker(store, slug)
    result = _check(settings, HARD_APP)
    assert result.status == "ok" and result.warnings == ()
    report = store.read_json(HEALTH_REPORT.format(DAY))
    assert report["status"] == "ok" and report["problems"] == []
    assert report["counts"] == {"ok": 4, "skipped": 0, "failed": 0, "not_run": 0, "missing_outputs": 0}


def test_stages_the_execution_skips_are_skipped_not_failures(settings: Settings) -> None:
    store = HARD_APP.open_artifacts(settings, read_only=False)
    _marker(store, "ingest")
    _marker(store, "train", status="failed", error="RuntimeError: an earlier attempt")  # then skipped
    result = _check(settings, HARD_APP, {"skip_train": True, "skip_score": True, "skip_scan": False,
                                         "run_date": DAY.isoformat()})
    report = store.read_json(HEALTH_REPORT.format(DAY))
    assert report["stages"]["train"] == {"status": "skipped", "marker_run_date": "2026-11-21"}
    assert report["stages"]["score"] == {"status": "skipped", "marker_run_date": None}
    assert report["stages"]["scan"]["status"] == "not_run"  # not skipped (false) and never ran: soft
    assert report["status"] == "degraded" and result.status == "ok"
    assert result.warnings == ("Scan (soft): not_run: no health marker: it has never run here",)


def test_with_no_marker_at_all_every_stage_did_not_run(settings: Settings) -> None:
    result = _check(settings)
    assert result.status == "ok" and result.summary == {"status": "degraded", "checked": 5, "ok": 0,
                                                        "skipped": 0, "failed": 0, "not_run": 5,
                                                        "missing_outputs": 0}


def test_the_check_emits_health_checks_failed_for_the_alarm(settings: Settings) -> None:
    from alpha_engine.store import SqliteMetrics

    store = HARD_APP.open_artifacts(settings, read_only=False)
    for slug in ("ingest", "train", "score", "scan"):
        _marker(store, slug)
    _check(settings, HARD_APP)
    _marker(store, "train", status="failed", error="RuntimeError: broke")
    _marker(store, "scan", status="failed", error="RuntimeError: soft")
    _check(settings, HARD_APP)
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    assert [(p.value, p.timestamp, p.unit) for p in metrics.datapoints("AlphaEngine", "HealthChecksFailed", None)] \
        == [(0.0, NOW, "Count"), (1.0, NOW, "Count")]  # only the hard problem counts


def test_an_output_missing_from_the_freshness_registry_is_checked_and_reported(settings: Settings) -> None:
    store = APP.open_artifacts(settings, read_only=False)
    _marker(store, "forgetful")
    _check(settings)
    report = store.read_json(HEALTH_REPORT.format(DAY))
    # Neither test stage's dated output is in the packaged registry: still checked, and named.
    assert report["stages"]["forgetful"] == {"status": "missing_outputs",
                                             "missing_outputs": ["test/2026-11-21/forgotten.json"]}
    assert report["unregistered"] == {"fine": ["test/{date}/report.json"], "forgetful": ["test/{date}/forgotten.json"]}


def test_the_registry_entries_a_stage_owns_are_checked_too(settings: Settings, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text("version: 1\nartifacts:\n" + "".join(
        f"  - {{id: {name}, key: 'test/{{date}}/{name}.json', cadence: saturday, max_age_trading_days: 5, "
        f"severity: warning, owner: {owner}}}\n"
        for name, owner in (("report", "fine"), ("extra", "fine"), ("forgotten", "forgetful"))), encoding="utf-8")
    monkeypatch.setattr(SaturdayHealthCheck, "registry_path", str(registry))
    store = APP.open_artifacts(settings, read_only=False)
    _marker(store, "fine")
    store.write_json(REPORT.format(DAY), {})
    _check(settings)
    report = store.read_json(HEALTH_REPORT.format(DAY))
    # 'extra' is registered to Fine but not declared by it: the health check and the monitor agree on it.
    assert report["stages"]["fine"] == {"status": "missing_outputs", "missing_outputs": ["test/2026-11-21/extra.json"]}
    assert report["unregistered"] == {}


def test_a_broken_freshness_registry_fails_the_preflight(settings: Settings, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    registry = tmp_path / "registry.yaml"
    registry.write_text("version: 1\nartifacts: [{id: x}]\n", encoding="utf-8")
    monkeypatch.setattr(SaturdayHealthCheck, "registry_path", str(registry))
    result = _check(settings)
    assert result.status != "ok" and result.error is not None
    assert str(registry) in result.error and "field 'key'" in result.error
