"""SaturdayHealthCheck classifies every other stage of its graph from the health markers and the
stage's declared outputs for the run date."""

from __future__ import annotations

from datetime import date
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


def _stage(stage_name: str, *outputs: Artifact) -> type[Stage[Any]]:
    class Declared(Stage[NoOptions]):
        name, slug = stage_name, stage_name.lower()
        failure_class, compute, timeout_seconds = FailureClass.SOFT, Compute.LAMBDA, 60
        produces = outputs

        def preflight(self, ctx: StageContext[NoOptions]) -> None:
            pass

        def run(self, ctx: StageContext[NoOptions]) -> None:
            pass

    return Declared


REPORT = Artifact("test/{date}/report.json")
GRAPH = StageGraph("Saturday", (
    _stage("Fine", REPORT), _stage("Broken"), _stage("Silent"), _stage("Skipped"),
    _stage("Forgetful", Artifact("test/{date}/forgotten.json"), Artifact("test/{version}/family.json")),
    SaturdayHealthCheck,
))
APP = PipelineApp(graph=GRAPH, resources=RESOURCES)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(workspace=tmp_path / "ws", env={})


def _marker(store: ArtifactStore, slug: str, status: str = "ok", run_date: date = DAY,
            error: str | None = None) -> None:
    store.write_json(HEALTH_MARKER.format(slug=slug), {
        "module": slug, "status": status, "last_success": None, "run_date": run_date.isoformat(),
        "duration_seconds": 1.0, "summary": {}, "warnings": [], "error": error})


def test_each_stage_is_classified_and_problems_are_warnings(settings: Settings) -> None:
    store = APP.open_artifacts(settings, read_only=False)
    _marker(store, "fine")
    store.write_json(REPORT.format(DAY), {})
    _marker(store, "broken", status="failed", error="RuntimeError: boom")
    _marker(store, "silent", status="failed", error=None)  # a failure that recorded no error
    _marker(store, "skipped", run_date=date(2026, 11, 14))  # last week's marker
    _marker(store, "forgetful")
    result = run_stage("saturday-health-check", DAY, settings=settings, app=APP)
    assert result.status == "ok", result.error
    report = store.read_json(HEALTH_REPORT.format(DAY))
    assert report["stages"] == {
        "fine": {"status": "ok", "missing_outputs": []},
        "broken": {"status": "failed", "error": "RuntimeError: boom"},
        "silent": {"status": "failed", "error": None},
        "skipped": {"status": "skipped", "marker_run_date": "2026-11-14"},
        "forgetful": {"status": "missing_outputs", "missing_outputs": ["test/2026-11-21/forgotten.json"]},
    }
    assert report["counts"] == {"ok": 1, "skipped": 1, "failed": 2, "missing_outputs": 1}
    assert result.warnings == ("Broken: failed (RuntimeError: boom)", "Silent: failed (no error recorded)",
                               "Forgetful: missing_outputs (test/2026-11-21/forgotten.json)")


def test_with_no_marker_at_all_every_stage_is_skipped(settings: Settings) -> None:
    result = run_stage("saturday-health-check", DAY, settings=settings, app=APP)
    assert result.status == "ok" and result.summary == {"checked": 5, "ok": 0, "skipped": 5, "failed": 0,
                                                         "missing_outputs": 0}
