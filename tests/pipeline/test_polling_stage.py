"""A polling stage (PollingStage): the composer's Submit -> Wait/Poll loop -> process states, the
runner's phases, and real executions on the local runtime: the loop ends when the work ends, an
empty job skips the loop, the cap fails the stage soft (the run goes on), a shell run polls
nothing, and ``stage run`` without a phase runs all three inline."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from polling_test_graph import APP, Poller
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    PollLoop,
    StageDefinitionError,
    StageGraph,
    compose_definition,
    run_stage,
)
from alpha_engine.store import ArtifactStore
from conftest import write_config

RUN_DATE = "2026-11-21"


def _states() -> dict[str, Any]:
    return compose_definition(APP.graph)["States"]


def test_the_definition_has_the_submit_poll_process_loop() -> None:
    states = _states()
    assert states["CheckSkipPoller"]["Default"] == "PollerSubmit"
    submit, poll, process = states["PollerSubmit"], states["PollerPoll"], states["Poller"]
    assert submit["Parameters"]["Payload"]["phase"] == "submit" and "submitted.$" not in submit["Parameters"]["Payload"]
    assert submit["ResultPath"] == "$.poller_submit" and submit["Next"] == "PollerPollChoice"
    assert poll["Parameters"]["Payload"]["submitted.$"] == process["Parameters"]["Payload"]["submitted.$"] == \
        "$.poller_submit.summary"
    assert (poll["Parameters"]["Payload"]["phase"], process["Parameters"]["Payload"]["phase"]) == ("poll", "process")
    choice = states["PollerPollChoice"]
    assert choice["Choices"][0]["Next"] == "PollerPollWait" and choice["Default"] == "Poller"
    assert states["PollerPollWait"] == {"Type": "Wait", "Seconds": 1, "Next": "PollerPoll"}
    decision = states["PollerPollDecision"]
    assert decision["Choices"] == [{"Variable": "$.poller_poll.summary.poll_status", "StringEquals": "ended",
                                    "Next": "Poller"}]
    assert decision["Default"] == "PollerPollWait"
    for name in ("PollerSubmit", "PollerPoll", "Poller"):  # soft: every phase catches to the next stage
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.poller_error",
                                          "Next": "CheckSkipAfter"}]
    assert process["ResultPath"] == "$.poller_result" and process["Next"] == "CheckSkipAfter"
    assert (submit["TimeoutSeconds"], poll["TimeoutSeconds"], process["TimeoutSeconds"]) == (60, 60, 60)


@pytest.mark.parametrize(("change", "message"), [
    ({"failure_class": FailureClass.HARD}, "a polling stage is soft and lambda-class"),
    ({"compute": Compute.BATCH}, "a polling stage is soft and lambda-class"),
    ({"poll_loop": (60, 3600)}, "poll_loop must be a PollLoop"),
])
def test_a_polling_stage_must_be_soft_lambda_with_a_loop(change: dict[str, Any], message: str) -> None:
    bad = type("BadPoller", (Poller,), dict(change))
    with pytest.raises(StageDefinitionError, match=message):
        StageGraph("Bad", (bad,))


def test_poll_loop_values_are_checked() -> None:
    with pytest.raises(StageDefinitionError, match="PollLoop.wait_seconds must be a positive int"):
        PollLoop(wait_seconds=0)


@pytest.fixture
def polling(test_settings: Settings) -> Settings:
    write_config(test_settings.workspace, "polling_test_graph:APP")
    return load_settings(workspace=test_settings.workspace)


def _mode(settings: Settings, mode: str) -> None:
    folder = settings.workspace / "test-poll"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mode").write_text(mode)


def _polls(settings: Settings) -> int:
    path = settings.workspace / "test-poll" / "polls"
    return int(path.read_text()) if path.exists() else 0


def _run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", "--run-date", RUN_DATE, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _entered(settings: Settings, report: dict[str, Any]) -> list[str]:
    result = CliRunner().invoke(app, ["sfn", "executions", "history", report["execution"]["name"], "--json"])
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_an_execution_polls_until_the_work_ends_then_processes(polling: Settings) -> None:
    report = _run()
    assert report["execution"]["status"] == "SUCCEEDED"
    assert {s["name"]: s["status"] for s in report["stages"]} == {"Poller": "SUCCEEDED", "After": "SUCCEEDED"}
    assert _polls(polling) == 2
    store = ArtifactStore(polling.artifacts_uri)
    job = store.read_json(f"polled/{RUN_DATE}.json")["job"]
    assert job["status"] == "submitted" and job["ticket"] == "t-1" and job["submitted_at"].endswith("Z")
    marker = store.read_json("health/poller.json")
    assert marker["status"] == "ok" and marker["summary"] == {"status": "OK", "ticket": "t-1"}
    entered = _entered(polling, report)
    assert entered.count("PollerPoll") == 2 and entered.count("PollerPollWait") == 2
    assert entered.index("PollerSubmit") < entered.index("PollerPoll") < entered.index("Poller")


def test_an_empty_job_goes_straight_to_process(polling: Settings) -> None:
    _mode(polling, "empty")
    report = _run()
    assert {s["name"]: s["status"] for s in report["stages"]}["Poller"] == "SUCCEEDED"
    assert _polls(polling) == 0 and "PollerPoll" not in _entered(polling, report)


def test_the_cap_fails_the_stage_soft_and_the_run_goes_on(polling: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLL_TEST_MAX_WAIT", "3")
    _mode(polling, "never")
    report = _run()
    assert report["execution"]["status"] == "SUCCEEDED"
    statuses = {s["name"]: s for s in report["stages"]}
    assert statuses["After"]["status"] == "SUCCEEDED"
    assert statuses["Poller"]["status"] == "SOFT_FAILED"
    assert "PollTimeoutError" in statuses["Poller"]["error"] and "max_wait_seconds = 3 s" in statuses["Poller"]["error"]
    store = ArtifactStore(polling.artifacts_uri)
    assert not store.exists(f"polled/{RUN_DATE}.json")
    marker = store.read_json("health/poller.json")
    assert marker["status"] == "failed" and "PollTimeoutError" in marker["error"]


def test_a_failed_submit_is_a_soft_failure_naming_the_cause(polling: Settings) -> None:
    _mode(polling, "submit-raise")
    report = _run()
    poller = {s["name"]: s for s in report["stages"]}["Poller"]
    assert poller["status"] == "SOFT_FAILED" and "the batch service refused the submission" in poller["error"]
    assert _polls(polling) == 0


def test_a_shell_run_polls_nothing(polling: Settings) -> None:
    report = _run("--shell")
    assert report["execution"]["status"] == "SUCCEEDED"
    assert _polls(polling) == 0 and "PollerPoll" not in _entered(polling, report)
    assert not ArtifactStore(polling.artifacts_uri).exists("health/poller.json")


def test_stage_run_without_a_phase_runs_all_three_inline(polling: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(Poller, "sleep", staticmethod(slept.append))
    result = run_stage("poller", date(2026, 11, 21), settings=polling, app=APP)
    assert result.status == "ok" and slept == [1] and _polls(polling) == 2


def test_phases_one_at_a_time_and_their_usage_errors(polling: Settings) -> None:
    day = date(2026, 11, 21)
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    submitted = run_stage("poller", day, settings=polling, app=APP, phase="submit", now=lambda: now)
    job = submitted.summary["job"]
    assert job == {"status": "submitted", "ticket": "t-1", "submitted_at": "2026-11-21T12:00:00Z"}
    store = ArtifactStore(polling.artifacts_uri)
    assert not store.exists("health/poller.json")  # only the process phase (or a failure) leaves a marker
    polled = run_stage("poller", day, settings=polling, app=APP, phase="poll", job=job, now=lambda: now)
    assert polled.summary == {"poll_status": "running"}
    late = run_stage("poller", day, settings=polling, app=APP, phase="poll", job=job,
                     now=lambda: now + timedelta(seconds=61))
    assert late.status == "failed" and late.error.startswith("PollTimeoutError: Poller: the work submitted at "
                                                             "2026-11-21T12:00:00Z had not ended after 61 s")
    done = run_stage("poller", day, settings=polling, app=APP, phase="process", job=job)
    assert done.status == "ok" and store.read_json("health/poller.json")["status"] == "ok"
    with pytest.raises(StageDefinitionError, match="unknown phase 'wait'"):
        run_stage("poller", day, settings=polling, app=APP, phase="wait")
    with pytest.raises(StageDefinitionError, match="needs the job its submit phase returned"):
        run_stage("poller", day, settings=polling, app=APP, phase="poll")
    with pytest.raises(StageDefinitionError, match="stage after is not a polling stage"):
        run_stage("after", day, settings=polling, app=APP, phase="submit")


def test_the_cli_passes_phase_and_job(polling: Settings) -> None:
    job = json.dumps({"status": "submitted", "ticket": "t-9", "submitted_at": "2099-01-01T00:00:00Z"})
    result = CliRunner().invoke(app, ["stage", "run", "poller", "--run-date", RUN_DATE, "--phase", "process",
                                      "--job", job])
    assert result.exit_code == 0, result.output
    assert ArtifactStore(polling.artifacts_uri).read_json(f"polled/{RUN_DATE}.json")["job"]["ticket"] == "t-9"
    bad = CliRunner().invoke(app, ["stage", "run", "poller", "--run-date", RUN_DATE, "--phase", "poll", "--job", "[1]"])
    assert bad.exit_code == 64 and "--job must be a JSON object" in bad.output


