"""The lease fence in a stage process: built from the environment the runtime gives the stage, handed
to every store the stage opens; once the attempt's lease is not current, its artifacts and health
marker are refused. Also what a failed stage leaves for the Batch binding (its termination message)
and how a failed Batch stage's cause is shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pipeline_test_graph import APP, GRAPH
from typer.testing import CliRunner

import alpha_engine.sfn as sfn
import alpha_engine.sfn.services as services
from alpha_engine.cli import app
from alpha_engine.config import Settings
from alpha_engine.pipeline import (
    ARTIFACTS,
    MARKET,
    TERMINATION_MESSAGE_ENV,
    ExitCode,
    LeaseFence,
    StageReport,
    short_cause,
    stage_statuses,
    write_termination_message,
)
from alpha_engine.pipeline._fence import EXECUTION_STORE_ENV, TASK_LEASE_ENV
from alpha_engine.sfn import ExecutionRecord, SqliteStore
from alpha_engine.store import ArtifactStore, FencedWriteError
from conftest import set_fault

DAY = "2026-11-21"
ARN = "arn:aws:states:us-east-1:111111111111:execution:StateMachine:run-1"
runner = CliRunner()


def test_the_stage_process_spells_the_runtimes_environment_names() -> None:
    assert (TASK_LEASE_ENV, EXECUTION_STORE_ENV) == (sfn.TASK_LEASE_ENV, sfn.EXECUTION_STORE_ENV)
    assert TERMINATION_MESSAGE_ENV == services.TERMINATION_MESSAGE_ENV


def test_no_lease_in_the_environment_means_no_fence() -> None:
    assert LeaseFence.from_env({}) is None
    assert LeaseFence.from_env({TASK_LEASE_ENV: "t"}) is None
    assert LeaseFence.from_env({TASK_LEASE_ENV: "t", EXECUTION_STORE_ENV: "/db"}) == LeaseFence("t", Path("/db"))


def test_every_resource_a_stage_opens_gets_the_fence(test_settings: Settings) -> None:
    fence = LeaseFence("t", Path("/db"))
    resources = APP.open_resources(test_settings, read_only=False, fence=fence)
    assert resources.get(ARTIFACTS).fence is fence
    assert resources.get(MARKET).fence is fence
    assert APP.open_resources(test_settings, read_only=False).get(ARTIFACTS).fence is None


@pytest.fixture
def lease(test_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> SqliteStore:
    """A RUNNING execution with an ACTIVE lease "t1" for Alpha, in the stage's environment."""
    store = SqliteStore(test_settings.workspace / "sfn" / "executions.sqlite3")
    store.create(ExecutionRecord(arn=ARN, name="run-1", state_machine_arn="sm", state_machine_name="StateMachine",
                                 definition="{}", input="{}", status="RUNNING", start_date=0.0))
    store.begin_lease("t1", ARN, "/Alpha#0", "Alpha", 0.0)
    monkeypatch.setenv(TASK_LEASE_ENV, "t1")
    monkeypatch.setenv(EXECUTION_STORE_ENV, str(store.path))
    return store


def _stage_run(slug: str) -> tuple[int, str]:
    result = runner.invoke(app, ["stage", "run", slug, "--run-date", DAY])
    return result.exit_code, result.output


def test_a_stage_whose_lease_is_current_writes(test_settings: Settings, lease: SqliteStore) -> None:
    code, output = _stage_run("alpha")
    assert code == 0, output
    store = ArtifactStore(test_settings.artifacts_uri)
    assert store.exists(f"test/{DAY}/alpha.json") and store.read_json("health/alpha.json")["status"] == "ok"


@pytest.mark.parametrize(("change", "reason"), [
    (lambda s: s.end_lease("t1", 1.0, status="REVOKED", reason="revoked by hand"), "revoked by hand"),
    (lambda s: s.begin_lease("t2", ARN, "/Alpha#0", "Alpha", 1.0), "superseded by attempt 2 of Alpha"),
    (lambda s: s.update(ARN, status="FAILED"), "execution run-1 is FAILED"),
], ids=["revoked", "superseded", "execution-failed"])
def test_a_stage_whose_lease_is_not_current_writes_neither_artifacts_nor_health_marker(
        test_settings: Settings, lease: SqliteStore, change: Any, reason: str) -> None:
    change(lease)
    code, output = _stage_run("alpha")
    assert code == ExitCode.RUN_FAILED, output
    assert f"run failed: FencedWriteError: {test_settings.artifacts_uri}: refused to write test/{DAY}/alpha.json" \
        in output and reason in output
    assert "could not write the health marker: FencedWriteError" in output
    assert ArtifactStore(test_settings.artifacts_uri).list() == []


def test_a_fenced_write_error_names_the_store_the_key_and_the_reason(tmp_path: Path, lease: SqliteStore) -> None:
    lease.update(ARN, status="ABORTED")
    fence = LeaseFence("t1", lease.path)
    with pytest.raises(FencedWriteError) as info:
        fence.check("/ws/artifacts", "predictions/latest.json")
    assert (info.value.uri, info.value.key, info.value.reason) == (
        "/ws/artifacts", "predictions/latest.json", "execution run-1 is ABORTED")
    assert str(info.value).startswith("/ws/artifacts: refused to write predictions/latest.json: ")


# -- the termination message ----------------------------------------------------------------------------


def _report(code: ExitCode, error: str | None) -> StageReport:
    return StageReport(slug="alpha", run_date=DAY, preflight_only=False, status="x", exit_code=int(code),
                       duration_seconds=0.1, error=error)


def test_a_failed_stage_writes_its_error_to_the_termination_message_file(tmp_path: Path) -> None:
    target = tmp_path / "job.termination-log"
    env = {TERMINATION_MESSAGE_ENV: str(target)}
    error = "PreflightError: the market store is not writable: /ws/universe/data.mdb"
    assert write_termination_message(_report(ExitCode.PREFLIGHT_FAILED, error), env) == target
    assert target.read_text() == error


@pytest.mark.parametrize(("report", "env"), [
    (_report(ExitCode.OK, None), True),
    (_report(ExitCode.RUN_FAILED, "RuntimeError: boom"), False),
], ids=["succeeded", "no-file-asked-for"])
def test_no_termination_message_unless_failed_and_asked_for(tmp_path: Path, report: StageReport, env: bool) -> None:
    target = tmp_path / "job.termination-log"
    assert write_termination_message(report, {TERMINATION_MESSAGE_ENV: str(target)} if env else {}) is None
    assert not target.exists()


def test_stage_run_writes_the_termination_message(test_settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    target = tmp_path / "message"
    monkeypatch.setenv(TERMINATION_MESSAGE_ENV, str(target))
    set_fault(test_settings, "alpha", "preflight")
    assert _stage_run("alpha")[0] == ExitCode.PREFLIGHT_FAILED
    assert target.read_text() == "PreflightError: alpha: injected preflight failure"


# -- a failed Batch stage's cause ---------------------------------------------------------------------


def _job(reason: str | None = None, tail: str | None = None) -> str:
    container: dict[str, Any] = {"ExitCode": 2, "LogStreamName": "d/default/j"}
    if reason is not None:
        container["Reason"] = reason
    if tail is not None:
        container["LogTail"] = tail
    return json.dumps({"Status": "FAILED", "StatusReason": "Essential container in task exited",
                       "Container": container})


def test_short_cause_shows_the_batch_jobs_reason_and_keeps_its_exit_code() -> None:
    reason = "PreflightError: the market store is not writable: /ws/universe/data.mdb"
    assert short_cause("States.TaskFailed", _job(reason)) == f"States.TaskFailed: {reason} (job FAILED, exit code 2)"


def test_short_cause_without_a_reason_shows_the_job_status_and_exit_code() -> None:
    assert short_cause("States.TaskFailed", _job()) == "States.TaskFailed: job FAILED, exit code 2"


def test_short_cause_of_a_lambda_stage_is_its_error_message() -> None:
    cause = json.dumps({"errorMessage": "alpha (2026-11-21): RuntimeError: boom", "errorType": "StageFailed"})
    assert short_cause("StageFailed", cause) == "StageFailed: alpha (2026-11-21): RuntimeError: boom"


def test_a_failed_batch_stages_status_carries_its_reason_and_log_tail() -> None:
    failure = {"Error": "States.TaskFailed", "Cause": _job("RuntimeError: boom", "line 1\nline 2")}
    events = [
        {"type": "TaskStateEntered", "timestamp": 1.0, "stateEnteredEventDetails": {"name": "Beta"}},
        {"type": "TaskStateExited", "timestamp": 2.0, "stateExitedEventDetails": {
            "name": "Beta", "output": json.dumps({"beta_error": failure})}},
    ]
    beta = next(s for s in stage_statuses(events, GRAPH) if s.slug == "beta")
    assert beta.status == "SOFT_FAILED"
    assert beta.error == "States.TaskFailed: RuntimeError: boom (job FAILED, exit code 2)"
    assert beta.log_tail == "line 1\nline 2"
    assert all(s.log_tail is None for s in stage_statuses(events, GRAPH) if s.slug != "beta")


def test_a_failed_batch_stage_shows_its_own_error_and_the_end_of_its_log(test_settings: Settings) -> None:
    from alpha_engine.pipeline import LocalPipeline

    set_fault(test_settings, "beta", "preflight")  # beta: a soft, batch-compute stage
    pipeline = LocalPipeline(test_settings)
    result = pipeline.start({"run_date": DAY})
    assert result.status == "SUCCEEDED", result.cause
    beta = next(s for s in pipeline.stage_statuses(result.arn) if s.slug == "beta")
    assert beta.error == "States.TaskFailed: PreflightError: beta: injected preflight failure (job FAILED, exit code 2)"
    assert beta.log_tail is not None and "stage beta: preflight_failed" in beta.log_tail.splitlines()[-1]


def test_the_execution_s_error_line_is_the_reason_the_definition_computed() -> None:
    from alpha_engine.pipeline import execution_cause_line

    cause = json.dumps({"phase": "PredictorTraining", "stage": "predictor-training", "failure": {"Error": "x"},
                        "reason": "States.TaskFailed: QualityGateError: SP500 is stale"})
    assert execution_cause_line("PipelineFailure", cause) == \
        "PipelineFailure at PredictorTraining: States.TaskFailed: QualityGateError: SP500 is stale"
    assert execution_cause_line("SIGTERM", "alpha-engine received SIGTERM") == "SIGTERM: alpha-engine received SIGTERM"
    assert execution_cause_line("States.Timeout", None) == "States.Timeout"


def test_a_job_killed_by_a_signal_says_so() -> None:
    cause = json.dumps({"Status": "FAILED", "Container": {"ExitCode": 137}})
    assert short_cause("States.TaskFailed", cause) == "States.TaskFailed: job FAILED, exit code 137: killed by SIGKILL"
