"""`deploy rerun`: a failed run on AWS continued by a new execution (same run_date, recovery role,
finished stages skipped), read from the execution's history through the stepfunctions client."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.cli import app as cli
from alpha_engine.deploy import AwsClients, DeployError, plan_rerun, start_rerun

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:ae-saturday-pipeline"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:ae-saturday-pipeline:weekly-2026-11-21"


def _history() -> list[dict[str, Any]]:
    """MorningEnrich and DataPhase1 succeeded, Scanner failed soft, RAGIngestion failed hard (as
    GetExecutionHistory returns it: datetime timestamps, paged)."""
    def at(second: int) -> datetime:
        return datetime(2026, 11, 21, 9, 0, second, tzinfo=UTC)
    events: list[dict[str, Any]] = [{"type": "PassStateExited", "timestamp": at(0), "stateExitedEventDetails": {
        "name": "InitializeInput", "output": json.dumps({"run_date": "2026-11-21"})}}]
    for i, (name, output) in enumerate([("MorningEnrich", {}), ("DataPhase1", {}),
                                        ("Scanner", {"scanner_error": {"Error": "StageFailed"}}),
                                        ("RAGIngestion", {"rag_ingestion_failure": {"Error": "FAILED"}})]):
        events += [{"type": "TaskStateEntered", "timestamp": at(2 * i + 1), "stateEnteredEventDetails": {"name": name}},
                   {"type": "TaskStateExited", "timestamp": at(2 * i + 2),
                    "stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}]
    return events


class FakeStepFunctions:
    def __init__(self, status: str = "FAILED") -> None:
        self.status = status
        self.started: list[dict[str, Any]] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {"executionArn": executionArn, "stateMachineArn": MACHINE, "name": "weekly-2026-11-21",
                "status": self.status, "input": json.dumps({"pipeline_role": "weekly"})}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "get_execution_history"
        events = _history()

        class Pages:
            def paginate(self, executionArn: str) -> list[dict[str, Any]]:  # noqa: N803
                return [{"events": events[:3]}, {"events": events[3:]}]
        return Pages()

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": f"{MACHINE.replace('stateMachine', 'execution')}:{kwargs['name']}"}


def test_the_plan_keeps_the_run_date_and_skips_what_finished() -> None:
    client = FakeStepFunctions()
    rerun = plan_rerun(client, SATURDAY_GRAPH, EXECUTION, now=datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert rerun.name == "weekly-2026-11-21-rerun-20261121T120000Z"
    assert rerun.input == {"run_date": "2026-11-21", "pipeline_role": "recovery", "skip_morning_enrich": True,
                           "skip_data_phase1": True, "skip_scanner": True}
    arn = start_rerun(client, rerun)
    assert arn.endswith(rerun.name)
    assert client.started == [{"stateMachineArn": MACHINE, "name": rerun.name,
                               "input": json.dumps(rerun.input, sort_keys=True)}]


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED"])
def test_a_run_that_did_not_fail_is_not_continued(status: str) -> None:
    with pytest.raises(DeployError, match=f"is {status}: only a FAILED, TIMED_OUT or ABORTED run"):
        plan_rerun(FakeStepFunctions(status), SATURDAY_GRAPH, EXECUTION)


def test_the_cli_prints_the_input_and_starts_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    client = FakeStepFunctions()
    monkeypatch.setattr("alpha_engine.cli._deploy._clients",
                        lambda region, endpoint: AwsClients(cloudformation=None, s3=None, region="us-east-1",
                                                            stepfunctions=client))
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    shown = CliRunner().invoke(cli, ["deploy", "rerun", EXECUTION])
    assert shown.exit_code == 0, shown.output
    assert "skipping skip_data_phase1, skip_morning_enrich, skip_scanner" in shown.output
    assert "start it with --start" in shown.output and client.started == []
    started = CliRunner().invoke(cli, ["deploy", "rerun", EXECUTION, "--start", "--json"])
    assert started.exit_code == 0, started.output
    body = json.loads(started.output)
    assert body["started"].endswith(body["name"]) and len(client.started) == 1
