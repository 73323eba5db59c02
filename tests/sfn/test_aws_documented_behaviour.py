"""Behaviours the AWS documentation states, each checked against the page that states it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from alpha_engine.sfn import ExecutionStateError
from alpha_engine.sfn.testing import SfnTestEnvironment

PASS_PROCESSOR = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def one_pass(parameters: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": parameters, "End": True}}}


# --- States.MathRandom with non-integer bounds --------------------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
# ("Intrinsics for Math operations", States.MathRandom, Input validation): "You must specify
# integer values for the start number and end number arguments. If you specify a non-integer value
# for the start number or end number argument, Step Functions will round it off to the nearest
# integer." The start is inclusive and the end exclusive.


@pytest.mark.parametrize(("start", "end", "allowed"), [
    (1.4, 2.4, {1}),          # rounds to MathRandom(1, 2)
    (1.5, 3.49, {2}),         # rounds to MathRandom(2, 3): half rounds up
    (-2.5, -0.6, {-2}),       # rounds to MathRandom(-2, -1), half up as Java's Math.round
    (0.2, 3.7, {0, 1, 2, 3}),  # rounds to MathRandom(0, 4)
])
def test_math_random_rounds_non_integer_bounds_to_the_nearest_integer(start: float, end: float,
                                                                     allowed: set[int]) -> None:
    definition = one_pass({"r.$": "States.MathRandom($.start, $.end)"})
    for seed in range(8):
        result = SfnTestEnvironment(seed=seed).run(definition, {"start": start, "end": end})
        assert result.succeeded, (result.error, result.cause)
        assert result.output["r"] in allowed


def test_math_random_bounds_that_round_to_the_same_integer_fail() -> None:
    result = SfnTestEnvironment().run(one_pass({"r.$": "States.MathRandom($.start, $.end)"}),
                                      {"start": 1.2, "end": 1.4})
    assert (result.status, result.error) == ("FAILED", "States.IntrinsicFailure")
    assert "the start (1) must be less than the end (1)" in (result.cause or "")


# --- EXPRESS executions: ARN and context object --------------------------------------------------
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html
# (resource types): an express execution is
# arn:${Partition}:states:${Region}:${Account}:express:${StateMachineName}:${ExecutionId}:${ExpressId}
# while a standard one is ...:execution:${StateMachineName}:${ExecutionId}.
# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html:
# $$.Execution.Id is the execution ARN, $$.StateMachine.Id the state machine ARN.

CONTEXT = one_pass({"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "machine.$": "$$.StateMachine.Id"})
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def test_an_express_execution_has_an_express_arn_as_its_context_execution_id() -> None:
    result = SfnTestEnvironment().run(CONTEXT, {}, name="nightly", state_machine_name="Pipeline",
                                      state_machine_type="EXPRESS")
    assert result.succeeded
    assert re.fullmatch(f"arn:aws:states:us-east-1:111111111111:express:Pipeline:nightly:{UUID}", result.arn)
    assert result.output == {
        "id": result.arn,
        "name": "nightly",
        "machine": "arn:aws:states:us-east-1:111111111111:stateMachine:Pipeline",
    }


def test_a_standard_execution_keeps_the_execution_arn() -> None:
    result = SfnTestEnvironment().run(CONTEXT, {}, name="nightly", state_machine_name="Pipeline")
    assert result.arn == "arn:aws:states:us-east-1:111111111111:execution:Pipeline:nightly"
    assert result.output["id"] == result.arn


def test_an_express_execution_cannot_be_redriven() -> None:
    # https://docs.aws.amazon.com/step-functions/latest/apireference/API_RedriveExecution.html:
    # "This API action is not supported by EXPRESS state machines."
    env = SfnTestEnvironment()
    failed = env.run({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}, {},
                     state_machine_type="EXPRESS")
    assert failed.status == "FAILED"
    with pytest.raises(ExecutionStateError, match="EXPRESS"):
        asyncio.run(env.engine.redrive(failed.arn))


# --- Map tolerated failure thresholds resolving to a negative number -----------------------------
# https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html: the
# ToleratedFailureCountPath "must select a field whose value is a non-negative integer", the
# percentage must be between 0 and 100. The page gives no error wording. For the percentage AWS's
# wording is recorded in the conformance corpus (States.Runtime, "ToleratedFailurePercentage must
# be between 0 and 100."); for the count nothing authoritative exists, so the runtime keeps its
# own wording in the same shape (see the comment in _states.py).

PREFIX = "An error occurred while executing the state 'M' (entered at the event id #2). "


def tolerant_map(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items",
                                             "ItemProcessor": PASS_PROCESSOR, "End": True, **fields}}}


@pytest.mark.parametrize("value", [-1, -5])
def test_a_negative_tolerated_failure_count_path_is_a_runtime_error(value: int) -> None:
    env = SfnTestEnvironment()
    result = env.run(tolerant_map(ToleratedFailureCountPath="$.n"), {"items": [1], "n": value})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == PREFIX + "ToleratedFailureCount must be non-negative."
    assert [e["type"] for e in env.history(result.arn)] == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "ExecutionFailed"]


def test_a_negative_jsonata_tolerated_failure_count_is_the_same_runtime_error() -> None:
    definition = {"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
        "Type": "Map", "Items": "{% $states.input.items %}", "ToleratedFailureCount": "{% $states.input.n %}",
        "ItemProcessor": PASS_PROCESSOR, "End": True}}}
    result = SfnTestEnvironment().run(definition, {"items": [1], "n": -2})
    assert (result.error, result.cause) == ("States.Runtime", PREFIX + "ToleratedFailureCount must be non-negative.")


def test_a_negative_tolerated_failure_percentage_path_uses_the_recorded_aws_wording() -> None:
    result = SfnTestEnvironment().run(tolerant_map(ToleratedFailurePercentagePath="$.n"), {"items": [1], "n": -1})
    assert (result.error, result.cause) == (
        "States.Runtime", PREFIX + "ToleratedFailurePercentage must be between 0 and 100.")
