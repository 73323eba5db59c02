"""Fault injection on real stage processes: raise, exit non-zero, hang past the timeout, SIGKILL.

Hard stage faults fail the run after notifying; soft ones are recorded and the run goes on; the
stage log is shipped in every case; after the fault is removed, ``redrive`` completes the run
without re-running any finished stage (the stages count their runs in the workspace).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from alpha_engine.config import Settings
from alpha_engine.pipeline import LocalPipeline
from alpha_engine.store import ArtifactStore
from conftest import runs, set_fault

RUN_DATE = "2026-11-21"
ALL = ["alpha", "beta", "delta", "gamma", "omega"]


def outbox(settings: Settings) -> list[dict[str, Any]]:
    path = settings.workspace / "notifications" / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def shipped_log(settings: Settings, slug: str) -> bytes:
    store = ArtifactStore(settings.artifacts_uri)
    keys = store.list(f"_logs/{slug}/{RUN_DATE}/")
    assert keys, f"no log shipped for {slug}"
    return store.read_bytes(keys[-1])


def start(settings: Settings) -> tuple[LocalPipeline, Any]:
    pipeline = LocalPipeline(settings)
    return pipeline, pipeline.start({"run_date": RUN_DATE})


def test_a_clean_run_runs_every_stage_once_with_health_markers_and_logs(test_settings: Settings) -> None:
    pipeline, result = start(test_settings)
    assert result.status == "SUCCEEDED", result.cause
    assert runs(test_settings) == dict.fromkeys(ALL, 1)
    store = ArtifactStore(test_settings.artifacts_uri)
    for slug in ALL:
        marker = store.read_json(f"health/{slug}.json")
        assert (marker["status"], marker["run_date"], marker["error"]) == ("ok", RUN_DATE, None)
        assert f"{slug}: running".encode() in shipped_log(test_settings, slug)
        assert store.exists(f"test/{RUN_DATE}/{slug}.json")
    assert outbox(test_settings)[-1]["subject"] == "Alpha Engine Saturday Pipeline — SUCCESS"
    assert {s.status for s in pipeline.stage_statuses(result.arn)} == {"SUCCEEDED"}


@pytest.mark.parametrize(("slug", "kind", "error"), [
    ("alpha", "raise", "StageFailed"),          # hard, lambda: an exception in run()
    ("alpha", "preflight", "StagePreflightFailed"),  # hard, lambda: the preflight fails
    ("gamma", "sigkill", "FAILED"),             # hard, batch, in a parallel branch: killed by SIGKILL
    ("delta", "hang", "States.Timeout"),        # hard, lambda, in a parallel branch: past its timeout
])
def test_hard_fault_fails_after_notifying_and_redrive_reruns_only_the_failed_stage(
        test_settings: Settings, slug: str, kind: str, error: str) -> None:
    set_fault(test_settings, slug, kind)
    pipeline, result = start(test_settings)
    assert result.status == "FAILED" and result.error == "PipelineFailure"
    assert error in result.cause
    subjects = [m["subject"] for m in outbox(test_settings)]
    assert subjects[-1] == "Alpha Engine Saturday Pipeline — FAILED"
    if slug in ("gamma", "delta"):  # a branch failure sends an early notice; its sibling finished
        assert any(s.endswith(f"{slug.capitalize()} FAILED (early signal: the run fails at the join)")
                   for s in subjects)
        sibling = "delta" if slug == "gamma" else "gamma"
        assert runs(test_settings)[sibling] == 1
    log = shipped_log(test_settings, slug)
    assert f"{slug}: preflight".encode() in log
    before = runs(test_settings)
    statuses = {s.slug: s.status for s in pipeline.stage_statuses(result.arn)}
    assert statuses[slug] == "FAILED"

    set_fault(test_settings, slug, None)
    redriven, rewound = LocalPipeline(test_settings).redrive(result.arn)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert any(k.endswith(f"/{slug.capitalize()}#0") for k in rewound)
    # Only the failed stage ran again; every finished stage kept its single run.
    assert runs(test_settings) == {**dict.fromkeys(ALL, 1), slug: before.get(slug, 0) + 1}
    assert outbox(test_settings)[-1]["subject"] == "Alpha Engine Saturday Pipeline — SUCCESS"


@pytest.mark.parametrize(("slug", "kind"), [("beta", "exit"), ("omega", "raise")])
def test_soft_fault_is_recorded_and_the_run_goes_on(test_settings: Settings, slug: str, kind: str) -> None:
    set_fault(test_settings, slug, kind)
    pipeline, result = start(test_settings)
    assert result.status == "SUCCEEDED", result.cause
    assert f"{slug}_error" in result.output
    assert runs(test_settings) == {**dict.fromkeys(ALL, 1), slug: 1}
    assert f"{slug}: running".encode() in shipped_log(test_settings, slug)
    statuses = {s.slug: s.status for s in pipeline.stage_statuses(result.arn)}
    assert statuses[slug] == "SOFT_FAILED"
    if kind == "raise":  # an exception is caught by the runner, which writes the failed marker
        marker = ArtifactStore(test_settings.artifacts_uri).read_json(f"health/{slug}.json")
        assert marker["status"] == "failed" and "injected failure" in marker["error"]
