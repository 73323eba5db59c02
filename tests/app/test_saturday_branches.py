"""The shipped Saturday graph's parallel group: the Research branch (DataPhase2 for now) and the
Predictor branch each end in their own Complete/Failed terminals, and a failed branch never
cancels the other: the run fails after the join, with the sibling's work kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.pipeline import compose_definition
from alpha_engine.sfn import StatesError, TaskCall
from alpha_engine.sfn.testing import SfnTestEnvironment

START = datetime(2022, 12, 31, 9, 0, tzinfo=UTC)
STAGES = {stage.name for stage in SATURDAY_GRAPH.stages()}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return compose_definition(SATURDAY_GRAPH)


class Services:
    """Answers every Task; the states named in ``fail`` raise."""

    def __init__(self, *fail: str) -> None:
        self.fail = set(fail)
        self.calls: list[str] = []
        self.published: list[dict[str, Any]] = []

    async def __call__(self, call: TaskCall) -> Any:
        self.calls.append(call.state_name)
        if call.resource.endswith("sns:publish"):
            self.published.append(call.parameters)
            return {"MessageId": "m"}
        if call.resource.endswith("dynamodb:putItem"):
            return {}
        if call.state_name in self.fail:
            raise StatesError("StageFailed", "injected", in_state=False)
        if call.resource.endswith("lambda:invoke"):
            return {"Payload": {"status": "OK", "summary": {}}}
        return {"JobId": "job-1", "Status": "SUCCEEDED"}


def run(definition: dict[str, Any], services: Services) -> tuple[SfnTestEnvironment, Any]:
    env = SfnTestEnvironment(start=START, task_invoker=services)
    return env, env.run(definition, {}, state_machine_name="alpha-engine-saturday-pipeline")


def visited(env: SfnTestEnvironment, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in env.history(arn) if e["type"].endswith("StateEntered")]


def test_the_research_branch_comes_first_and_ends_in_its_own_terminals(definition: dict[str, Any]) -> None:
    group = definition["States"]["ResearchPredictorParallel"]
    research, predictor = group["Branches"]
    for branch, name in ((research, "Research"), (predictor, "Predictor")):
        terminals = sorted(n for n, s in branch["States"].items() if s.get("End"))
        assert terminals == [f"{name}BranchComplete", f"{name}BranchFailed"]
        assert all(branch["States"][n]["Type"] == "Pass" for n in terminals)
    assert "DataPhase2" in research["States"] and "PredictorTraining" in predictor["States"]
    assert research["States"]["DataPhase2"]["Catch"][0]["Next"] == "ExtractDataPhase2Error"
    assert research["States"]["DataPhase2"]["TimeoutSeconds"] == 600


def test_a_failed_research_branch_never_cancels_the_predictor(definition: dict[str, Any]) -> None:
    services = Services("DataPhase2")
    env, result = run(definition, services)
    assert result.status == "FAILED"
    names = visited(env, result.arn)
    assert "PredictorTraining" in services.calls and "ResearchBranchFailed" in names
    assert names.index("PredictorBranchComplete") < names.index("HandleFailure")
    assert "DriftDetection" not in services.calls
    assert "DataPhase2 FAILED" in services.published[0]["Subject"]  # the early signal
    assert json.loads(result.cause)["phase"] == "ResearchPredictorParallel"


def test_a_failed_predictor_branch_never_cancels_data_phase2(definition: dict[str, Any]) -> None:
    services = Services("PredictorTraining")
    env, result = run(definition, services)
    assert result.status == "FAILED"
    names = visited(env, result.arn)
    assert "DataPhase2" in services.calls
    assert names.index("ResearchBranchComplete") < names.index("HandleFailure")


def test_both_branches_ok_go_on_past_the_join(definition: dict[str, Any]) -> None:
    services = Services()
    _, result = run(definition, services)
    assert result.status == "SUCCEEDED"
    assert {"DataPhase2", "PredictorTraining", "DriftDetection", "SaturdayHealthCheck"} <= set(services.calls)
