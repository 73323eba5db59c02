"""The execution status notice: upstream's notifier wording, in one place."""

from __future__ import annotations

import json

import pytest

from alpha_engine.notify import FAILURE_DETAIL_MAX_CHARS, execution_status_notice, status_notice


def test_succeeded_names_its_duration() -> None:
    subject, message = execution_status_notice(title="Saturday", execution="run-1", status="SUCCEEDED",
                                               seconds=3725.4)
    assert subject == "Alpha Engine Saturday Pipeline — succeeded"
    assert message.splitlines() == ["Saturday pipeline execution run-1: succeeded", "duration: 1h 02m 05s"]


def test_failed_names_error_and_cause_cut_to_280_characters() -> None:
    cause = "x" * 1000
    _, message = execution_status_notice(title="Saturday", execution="run-1", status="FAILED", seconds=61,
                                         error="PipelineFailure", cause=cause)
    lines = message.splitlines()
    assert lines[1] == "duration: 1m 01s"
    detail = lines[2].removeprefix("error: ")
    assert detail.startswith("PipelineFailure: xxx") and len(detail) == FAILURE_DETAIL_MAX_CHARS
    _, short = execution_status_notice(title="Saturday", execution="r", status="FAILED", seconds=None,
                                       error="States.Timeout", cause="late")
    assert short.splitlines()[-1] == "error: States.Timeout: late"


@pytest.mark.parametrize(("status", "word"), [("ABORTED", "ABORTED"), ("TIMED_OUT", "TIMED OUT")])
def test_aborted_and_timed_out_say_so(status: str, word: str) -> None:
    subject, message = execution_status_notice(title="Saturday", execution="r", status=status, seconds=5)
    assert subject.endswith(f"— {word}") and message == f"Saturday pipeline execution r: {word}"


def test_a_shell_run_is_labelled_preflight() -> None:
    subject, message = execution_status_notice(title="Saturday", execution="r", status="SUCCEEDED", seconds=1,
                                               shell_run=True)
    assert subject == "Alpha Engine Saturday Preflight Pipeline — succeeded"
    assert message.startswith("Saturday Preflight pipeline")


def test_a_running_status_is_refused() -> None:
    with pytest.raises(ValueError, match="RUNNING"):
        execution_status_notice(title="Saturday", execution="r", status="RUNNING", seconds=None)


def test_status_notice_from_describe_execution() -> None:
    described = {"name": "run-1", "status": "FAILED", "startDate": "2026-11-21T10:00:00.000Z",
                 "stopDate": "2026-11-21T10:02:30.000Z", "input": json.dumps({"shell_run": True}),
                 "error": "PipelineFailure", "cause": "Alpha failed"}
    record = status_notice(described, title="Saturday")
    assert record is not None
    assert record["message_id"] == "status:run-1:FAILED:2026-11-21T10:02:30.000Z"
    assert record["subject"] == "Alpha Engine Saturday Preflight Pipeline — FAILED"
    assert "duration: 2m 30s" in record["message"] and "error: PipelineFailure: Alpha failed" in record["message"]
    assert status_notice({"name": "r", "status": "RUNNING", "startDate": "2026-11-21T10:00:00.000Z"},
                         title="Saturday") is None
