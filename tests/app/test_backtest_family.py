"""The backtest family's place in the Saturday graph and its one skip flag.

Upstream order: ... DriftDetection -> Backtester -> PredictorBacktest -> PortfolioOptimizerBacktest
-> Parity -> Evaluator -> SaturdayHealthCheck; ``skip_backtester`` skips the whole family. Backtester and
PortfolioOptimizerBacktest exist so far (PredictorBacktest will sit between them); they sit where the
family goes (before Parity), and the flag gates both. Parity is soft, with its own flag ``skip_parity``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from alpha_engine.app import DEFINITION_FILE, SATURDAY_GRAPH
from alpha_engine.backtest import Backtester, Parity, PortfolioOptimizerBacktest
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
    assert FAMILY == [Backtester, PortfolioOptimizerBacktest]
    at = names.index("Backtester")
    assert names[at - 1] == "DriftDetection" and names[at + 1] == "PortfolioOptimizerBacktest"
    assert names[at + 2:] == ["Parity", "Evaluator", "SaturdayHealthCheck"]


@pytest.mark.parametrize(("stage", "slug"), [(Backtester, "backtester"), (PortfolioOptimizerBacktest, "portfolio-optimizer")])
def test_the_family_is_hard_batch_with_the_family_budget(stage: type, slug: str) -> None:
    assert (stage.slug, stage.failure_class, stage.compute) == (slug, FailureClass.HARD, Compute.BATCH)
    assert stage.timeout_seconds == 7200  # upstream: the family shares Backtester's budget


def test_every_stage_of_the_family_is_gated_by_skip_backtester_and_nothing_else_is(definition: dict[str, Any]) -> None:
    assert all(stage.skip_flag() == "skip_backtester" for stage in FAMILY)
    gated = {name: rule["And"][0]["Variable"] for name, state in definition["States"].items()
             if name.startswith("CheckSkip") for rule in state["Choices"]}
    assert {n for n, v in gated.items() if v == "$.skip_backtester"} == {f"CheckSkip{s.name}" for s in FAMILY}
    assert "$.skip_portfolio_optimizer" not in gated.values()
    first = definition["States"]["CheckSkipBacktester"]
    # the flag routes to the family's next gate, which the same flag skips: on to CheckSkipEvaluator
    assert first["Choices"][0]["Next"] == "CheckSkipPortfolioOptimizerBacktest" and first["Default"] == "Backtester"
    assert definition["States"]["Backtester"]["Catch"][0]["Next"] == "ExtractBacktesterError"
    gate = definition["States"]["CheckSkipPortfolioOptimizerBacktest"]
    assert gate["Choices"][0]["Next"] == "CheckSkipParity" and gate["Default"] == "PortfolioOptimizerBacktest"
    assert definition["States"]["PortfolioOptimizerBacktest"]["Catch"][0]["Next"] == \
        "ExtractPortfolioOptimizerBacktestError"  # hard: a failure fails the run


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
    assert ("Backtester" in services.calls) is runs and ("PortfolioOptimizerBacktest" in services.calls) is runs
    assert "DriftDetection" in services.calls and "SaturdayHealthCheck" in services.calls


def test_the_health_check_is_told_the_family_was_skipped() -> None:
    assert skipped_stages(SATURDAY_GRAPH, {"skip_backtester": True}) == {s.slug for s in FAMILY}
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
                                                            ({"skip_backtester": True}, (), True),
                                                            ({}, ("Parity",), True)])
def test_skip_parity_skips_only_parity_and_a_failed_parity_does_not_fail_the_run(
        definition: dict[str, Any], given: dict[str, Any], fail: tuple[str, ...], parity_runs: bool) -> None:
    services = _Services(*fail)
    env = SfnTestEnvironment(start=datetime(2022, 12, 31, 9, tzinfo=UTC), task_invoker=services)
    result = env.run(definition, given, state_machine_name="alpha-engine-saturday-pipeline")
    assert result.status == "SUCCEEDED"
    assert ("Parity" in services.calls) is parity_runs
    assert ("Backtester" in services.calls) is ("skip_backtester" not in given)
    assert "Evaluator" in services.calls and "SaturdayHealthCheck" in services.calls
    assert skipped_stages(SATURDAY_GRAPH, given) == ({"parity"} if "skip_parity" in given
                                                     else {s.slug for s in FAMILY} if given else frozenset())
