"""Step Functions Local MockConfigFile: loading, validation with locations, call-indexed answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn._errors import BindingError, StatesError
from alpha_engine.sfn.services import (
    BindingContext,
    MockConfigBinding,
    TaskRequest,
    default_registry,
    load_mock_config,
    parse_mock_config,
)

CONFIG: dict[str, Any] = {
    "StateMachines": {
        "LambdaSQSIntegration": {
            "TestCases": {
                "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
                "HybridPath": {"LambdaState": "MockedLambdaSuccess"},
            }
        }
    },
    "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"body": "hi"}}}},
        "MockedSQSSuccess": {"0": {"Return": {"MessageId": "m-1"}}},
        "MockedLambdaRetry": {
            "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "not ready"}},
            "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "timed out"}},
            "3": {"Return": {"StatusCode": 200, "Payload": {"body": "finally"}}},
        },
    },
}


def _call(binding: MockConfigBinding, ctx: BindingContext, state: str) -> Any:
    request = TaskRequest("arn:aws:states:::lambda:invoke", "request-response", {}, "arn:exec", state)
    return asyncio.run(binding.invoke(request, ctx))


def _outcome(binding: MockConfigBinding, ctx: BindingContext, state: str) -> Any:
    try:
        return _call(binding, ctx, state)
    except StatesError as exc:
        assert exc.in_state is False
        return exc.error


def test_load_mock_config_reads_a_file(tmp_path: Path, ctx: BindingContext) -> None:
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(CONFIG))
    binding = load_mock_config(path).binding("LambdaSQSIntegration", "HybridPath")
    assert _call(binding, ctx, "LambdaState") == {"StatusCode": 200, "Payload": {"body": "hi"}}


def test_nth_invocation_picks_the_entry_covering_n_including_ranges(ctx: BindingContext) -> None:
    binding = parse_mock_config(CONFIG).binding("LambdaSQSIntegration", "RetryPath")
    outcomes = [_outcome(binding, ctx, "LambdaState") for _ in range(4)]
    assert outcomes == [
        "Lambda.ResourceNotReadyException",
        "Lambda.TimeoutException",
        "Lambda.TimeoutException",
        {"StatusCode": 200, "Payload": {"body": "finally"}},
    ]
    # Calls are counted per state.
    assert _call(binding, ctx, "SQSState") == {"MessageId": "m-1"}


def test_throw_carries_error_and_cause(ctx: BindingContext) -> None:
    binding = parse_mock_config(CONFIG).binding("LambdaSQSIntegration", "RetryPath")
    with pytest.raises(StatesError) as info:
        _call(binding, ctx, "LambdaState")
    assert (info.value.error, info.value.cause) == ("Lambda.ResourceNotReadyException", "not ready")


def test_state_not_in_the_test_case_is_a_binding_error_naming_it(ctx: BindingContext) -> None:
    binding = parse_mock_config(CONFIG).binding("LambdaSQSIntegration", "HybridPath")
    with pytest.raises(BindingError, match=r"state 'SQSState' is not mocked in .*TestCases/HybridPath"):
        _call(binding, ctx, "SQSState")


def test_call_past_the_last_entry_is_a_binding_error(ctx: BindingContext) -> None:
    binding = parse_mock_config(CONFIG).binding("LambdaSQSIntegration", "HybridPath")
    _call(binding, ctx, "LambdaState")
    with pytest.raises(BindingError, match="no entry for call 1"):
        _call(binding, ctx, "LambdaState")


def test_unknown_state_machine_or_test_case_is_a_binding_error() -> None:
    config = parse_mock_config(CONFIG)
    with pytest.raises(BindingError, match="no state machine 'Other'"):
        config.binding("Other", "HybridPath")
    with pytest.raises(BindingError, match="no test case 'Nope'"):
        config.binding("LambdaSQSIntegration", "Nope")


def test_mock_config_binding_overrides_built_ins_in_the_registry(ctx: BindingContext) -> None:
    binding = parse_mock_config(CONFIG).binding("LambdaSQSIntegration", "HybridPath")
    registry = default_registry(ctx, [binding])
    request = TaskRequest("arn:aws:states:::lambda:invoke", "request-response", {}, "e", "LambdaState")
    assert asyncio.run(registry.invoke(request))["Payload"] == {"body": "hi"}


def test_validation_reports_every_problem_with_its_location() -> None:
    bad = {
        "StateMachines": {"SM": {"TestCases": {"TC": {"A": "Missing", "B": 3}}}, "SM2": {}},
        "MockedResponses": {
            "R": {
                "0": {"Return": 1, "Throw": {"Error": "E"}},
                "x": {"Return": 1},
                "3-1": {"Return": 1},
                "4": {"Throw": {"Cause": "no error"}},
            },
            "Overlap": {"0-2": {"Return": 1}, "2": {"Return": 2}},
        },
        "Extra": True,
    }
    with pytest.raises(BindingError) as info:
        parse_mock_config(bad, source="cfg.json")
    message = str(info.value)
    for expected in (
        "cfg.json: invalid mock config",
        "/Extra: unknown field",
        "/MockedResponses/R/0: must hold exactly one of Return or Throw",
        "/MockedResponses/R/x: key must be an invocation index",
        "/MockedResponses/R/3-1: range end 1 is before its start 3",
        "/MockedResponses/R/4/Throw: must be an object with a string Error",
        "/MockedResponses/Overlap: invocation ranges overlap (0-2 and 2-2)",
        "/StateMachines/SM/TestCases/TC/A: no mocked response 'Missing'",
        "/StateMachines/SM/TestCases/TC/B: must be the name of a mocked response",
        "/StateMachines/SM2/TestCases: required",
    ):
        assert expected in message


def test_file_that_is_not_json_is_a_binding_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(BindingError, match="bad.json: mock config is not JSON"):
        load_mock_config(path)
