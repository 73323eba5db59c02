"""The backtest family's place in the Saturday graph and its one skip flag.

Upstream order (saturday-sf.md invariants 9 and 15): ... DriftDetection -> CheckSkipBacktester ->
Backtester -> PredictorBacktest -> PortfolioOptimizerBacktest -> CheckSkipParity -> Parity ->
CheckSkipEvaluator -> Evaluator -> SaturdayHealthCheck, with no skip gate between the family's members;
``skip_backtester`` skips the whole family and Parity (CheckSkipBacktester -> CheckSkipEvaluator). Parity
is soft, with its own flag ``skip_parity`` too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from alpha_engine.app import DEFINITION_FILE, SATURDAY_GRAPH
from alpha_engine.backtest import Backtester, Parity, PortfolioOptimizerBacktest, PredictorBacktest
from alpha_engine.pipeline import Compute, FailureClass, compose_definition
from alpha_engine.pipeline._runner import skipped_stages
from alpha_engine.sfn import StatesError, TaskCall
from alpha_engine.sfn.testing import SfnTestEnvironment

FAMILY = [s for s in SATURDAY_GRAPH.stages() if s.skip_family == "backtester"]


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return compose_definition(SATURDAY_GRAPH)


def test_the_family_runs_after_drift_detection_and_before_the_health_check() -> None:
    names = [s.name for s in SATURDAY_GRAPH.steps if hasattr(s, "slug")]
    assert FAMILY == [Backtester, PredictorBacktest, PortfolioOptimizerBacktest]
    at = names.index("Backtester")
    assert names[at - 1] == "DriftDetection"
    assert names[at:] == ["Backtester", "PredictorBacktest", "PortfolioOptimizerBacktest", "Parity", "Evaluator",
                          "SaturdayHealthCheck", "WeeklySubstrateHealthCheck"]


@pytest.mark.parametrize(("stage", "slug"), [(Backtester, "backtester"), (PredictorBacktest, "predictor-backtest"),
                                             (PortfolioOptimizerBacktest, "portfolio-optimizer")])
def test_the_family_is_hard_batch_with_the_family_budget(stage: type, slug: str) -> None:
    assert (stage.slug, stage.failure_class, stage.compute) == (slug, FailureClass.HARD, Compute.BATCH)
    assert stage.timeout_seconds == 7200  # upstream: the family shares Backtester's budget


def test_one_gate_on_skip_backtester_skips_the_family_and_parity_with_no_gate_between_members(
        definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert all(stage.skip_flag() == "skip_backtester" for stage in FAMILY)
    gated = {name: rule["And"][0]["Variable"] for name, state in states.items()
             if name.startswith("CheckSkip") for rule in state["Choices"]}
    assert {n for n, v in gated.items() if v == "$.skip_backtester"} == {"CheckSkipBacktester"}
    assert "CheckSkipPredictorBacktest" not in states and "CheckSkipPortfolioOptimizerBacktest" not in states
    assert "$.skip_portfolio_optimizer" not in gated.values() and "$.skip_predictor_backtest" not in gated.values()
    first = states["CheckSkipBacktester"]
    assert first["Choices"][0]["Next"] == "CheckSkipEvaluator" and first["Default"] == "Backtester"
    # the happy path: Backtester -> PredictorBacktest -> PortfolioOptimizerBacktest -> CheckSkipParity
    assert states["Backtester"]["Next"] == "PredictorBacktest"
    assert states["PredictorBacktest"]["Next"] == "PortfolioOptimizerBacktest"
    assert states["PortfolioOptimizerBacktest"]["Next"] == "CheckSkipParity"
    for stage in FAMILY:  # hard: a failure fails the run
        assert states[stage.name]["Catch"][0]["Next"] == f"Extract{stage.name}Error"
    assert Parity.skip_flags() == ("skip_parity", "skip_backtester")


def test_the_committed_definition_carries_the_family_and_its_flag() -> None:
    committed = json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))
    assert committed["States"]["CheckSkipDriftDetection"]["Choices"][0]["Next"] == "CheckSkipBacktester"


class _Services:
    def __init__(self, *fail: str) -> None:
        self.calls: list[str] = []
        self.fail = set(fail)

    async def __call__(self, call: TaskCall) -> Any:
        self.calls.append(call.state_name)
        if call.state_name in self.fail:
            raise StatesError("StageFailed", "injected", in_state=False)
        if call.resource.endswith("sns:publish"):
            return {"MessageId": "m"}
        if call.resource.endswith("dynamodb:putItem"):
            return {}
        if call.resource.endswith("lambda:invoke"):
            return {"Payload": {"status": "OK", "summary": {}}}
        return {"JobId": "job-1", "Status": "SUCCEEDED"}


@pytest.mark.parametrize(("given", "runs"), [({}, True), ({"skip_backtester": True}, False),
                                             ({"skip_portfolio_optimizer": True}, True),
                                             ({"skip_backtester": "true"}, True)])
def test_skip_backtester_skips_the_family_and_the_run_goes_on(definition: dict[str, Any], given: dict[str, Any],
                                                              runs: bool) -> None:
    services = _Services()
    env = SfnTestEnvironment(start=datetime(2022, 12, 31, 9, tzinfo=UTC), task_invoker=services)
    result = env.run(definition, given, state_machine_name="alpha-engine-saturday-pipeline")
    assert result.status == "SUCCEEDED"
    assert all((stage.name in services.calls) is runs for stage in FAMILY)
    assert ("Parity" in services.calls) is runs  # skip_backtester skips Parity too
    assert "DriftDetection" in services.calls and "SaturdayHealthCheck" in services.calls


def test_the_health_check_is_told_the_family_was_skipped() -> None:
    assert skipped_stages(SATURDAY_GRAPH, {"skip_backtester": True}) == {s.slug for s in FAMILY} | {"parity"}
    assert skipped_stages(SATURDAY_GRAPH, {"skip_portfolio_optimizer": True}) == frozenset()


def test_parity_is_soft_batch_with_the_backtester_budget_and_its_own_flag(definition: dict[str, Any]) -> None:
    assert (Parity.slug, Parity.failure_class, Parity.compute) == ("parity", FailureClass.SOFT, Compute.BATCH)
    assert Parity.timeout_seconds == Backtester.timeout_seconds  # upstream copied the Backtester's budget
    assert Parity.skip_flag() == "skip_parity" and Parity not in FAMILY
    gate = definition["States"]["CheckSkipParity"]
    assert gate["Choices"][0]["And"][0]["Variable"] == "$.skip_parity"
    assert gate["Choices"][0]["Next"] == "CheckSkipEvaluator" and gate["Default"] == "Parity"
    catch = definition["States"]["Parity"]["Catch"][0]
    assert (catch["ResultPath"], catch["Next"]) == ("$.parity_error", "CheckSkipEvaluator")  # soft: the run goes on
    committed = json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))
    assert committed["States"]["CheckSkipParity"] == gate and committed["States"]["Parity"]["Catch"] == [catch]


@pytest.mark.parametrize(("given", "fail", "parity_runs"), [({}, (), True), ({"skip_parity": True}, (), False),
                                                            ({"skip_backtester": True}, (), False),
                                                            ({}, ("Parity",), True)])
def test_skip_parity_skips_parity_and_a_failed_parity_does_not_fail_the_run(
        definition: dict[str, Any], given: dict[str, Any], fail: tuple[str, ...], parity_runs: bool) -> None:
    services = _Services(*fail)
    env = SfnTestEnvironment(start=datetime(2022, 12, 31, 9, tzinfo=UTC), task_invoker=services)
    result = env.run(definition, given, state_machine_name="alpha-engine-saturday-pipeline")
    assert result.status == "SUCCEEDED"
    assert ("Parity" in services.calls) is parity_runs
    assert ("Backtester" in services.calls) is ("skip_backtester" not in given)
    assert "Evaluator" in services.calls and "SaturdayHealthCheck" in services.calls
    assert skipped_stages(SATURDAY_GRAPH, given) == ({"parity"} if "skip_parity" in given
                                                     else {s.slug for s in FAMILY} | {"parity"} if given
                                                     else frozenset())


def test_the_run_report_marks_the_family_and_parity_skipped_by_the_one_gate() -> None:
    from alpha_engine.pipeline._local import stage_statuses

    exited = {"type": "ChoiceStateExited", "stateExitedEventDetails": {
        "name": "CheckSkipBacktester", "output": json.dumps({"skip_backtester": True})}}
    statuses = {s.name: s.status for s in stage_statuses([exited], SATURDAY_GRAPH)}
    assert {n for n, v in statuses.items() if v == "SKIPPED"} == {s.name for s in FAMILY} | {"Parity"}
