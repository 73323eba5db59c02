"""LambdaBinding: handlers in real child processes, AWS result and error shapes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn._errors import BindingError, StatesError
from alpha_engine.sfn.services import BindingContext, ChildLease, LambdaBinding, TaskRequest

INVOKE = "arn:aws:states:::lambda:invoke"


def _invoke(ctx: BindingContext, params: Any, resource: str = INVOKE, **kw: Any) -> Any:
    request = TaskRequest(resource, "request-response", params, "arn:exec", "Invoke", **kw)
    return asyncio.run(LambdaBinding(new_id=lambda: "req-1").invoke(request, ctx))


def _error(ctx: BindingContext, params: Any, resource: str = INVOKE) -> StatesError:
    with pytest.raises(StatesError) as info:
        _invoke(ctx, params, resource)
    assert info.value.in_state is False
    return info.value


def test_matches_invoke_and_function_arns_only() -> None:
    binding = LambdaBinding()
    assert binding.matches(INVOKE)
    assert binding.matches("arn:aws:lambda:us-east-1:123456789012:function:fn")
    assert binding.matches("arn:aws:lambda:us-east-1:123456789012:function:fn:prod")
    assert not binding.matches("arn:aws:states:::lambda:invokeAsync")
    assert not binding.matches("arn:aws:states:::sns:publish")


def test_invoke_returns_the_aws_result_shape(ctx: BindingContext) -> None:
    result = _invoke(ctx, {"FunctionName": "echo", "Payload": {"body": "string body"}})
    assert set(result) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }
    assert result["Payload"] == {"body": "string body"}
    assert result["StatusCode"] == 200 and result["ExecutedVersion"] == "$LATEST"
    headers = result["SdkHttpMetadata"]["HttpHeaders"]
    # AWS's Content-Length is the length of the Python runtime's JSON text (recorded case: 23).
    assert headers["Content-Length"] == "23"
    assert result["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Length"] == ["23"]
    assert result["SdkResponseMetadata"] == {"RequestId": "req-1"}


@pytest.mark.parametrize(("payload", "expected"), [("0", 0), ("0.0", 0.0), ("true", True), ('"Hi"', "Hi")])
def test_invoke_string_payload_is_the_request_body_verbatim(
    ctx: BindingContext, payload: str, expected: Any
) -> None:
    assert _invoke(ctx, {"FunctionName": "echo", "Payload": payload})["Payload"] == expected


def test_invoke_string_payload_that_is_not_json_is_invalid_request_content(ctx: BindingContext) -> None:
    err = _error(ctx, {"FunctionName": "echo", "Payload": "not json"})
    assert err.error == "Lambda.InvalidRequestContentException"


def test_function_arn_returns_the_handler_value_itself(ctx: BindingContext) -> None:
    assert _invoke(ctx, {"a": [1, 2]}, "arn:aws:lambda:us-east-1:123456789012:function:echo") == {"a": [1, 2]}


@pytest.mark.parametrize(
    "name",
    [
        "ctxfn",
        "arn:aws:lambda:eu-west-1:111111111111:function:ctxfn",
        "arn:aws:lambda:eu-west-1:111111111111:function:ctxfn:$LATEST",
        "111111111111:function:ctxfn",
    ],
)
def test_function_name_may_be_name_full_or_partial_arn(ctx: BindingContext, name: str) -> None:
    payload = _invoke(ctx, {"FunctionName": name})["Payload"]
    assert payload["function_name"] == "ctxfn"
    assert payload["request_id"] == "req-1"
    assert payload["remaining_positive"] is True
    assert payload["env"] == "on"  # BindingContext.env reaches the child


def test_unknown_function_is_resource_not_found_with_aws_cause(ctx: BindingContext) -> None:
    err = _error(ctx, {"FunctionName": "no_such_fn"})
    assert err.error == "Lambda.ResourceNotFoundException"
    assert err.cause == (
        # The local account (alpha_engine.sfn._arn.LOCAL_ACCOUNT) fills in a bare function name.
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:no_such_fn:$LATEST "
        "(Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; "
        "Request ID: req-1; Proxy: null)"
    )


def test_handler_exception_error_is_its_type_and_cause_is_compact_lambda_json(ctx: BindingContext) -> None:
    err = _error(ctx, {"FunctionName": "raises"})
    assert err.error == "Exception"
    assert err.cause is not None and err.cause.startswith('{"errorMessage":"Some exception was raised.",')
    cause = json.loads(err.cause)
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorType"] == "Exception" and cause["requestId"] == "req-1"
    assert len(cause["stackTrace"]) == 1 and "in raises" in cause["stackTrace"][0]


def test_function_arn_error_cause_uses_spaced_json_as_aws_does(ctx: BindingContext) -> None:
    err = _error(ctx, {}, "arn:aws:lambda:us-east-1:123456789012:function:raises")
    assert err.cause is not None and err.cause.startswith('{"errorMessage": "Some exception was raised.", ')


def test_custom_exception_without_message(ctx: BindingContext) -> None:
    err = _error(ctx, {"FunctionName": "raises_custom"})
    assert err.error == "CustomException"
    assert json.loads(err.cause or "")["errorMessage"] == ""


def test_os_exit_is_runtime_exit_error_naming_the_status(ctx: BindingContext, log_lines: list[str]) -> None:
    err = _error(ctx, {"FunctionName": "exits"})
    assert err.error == "Runtime.ExitError"
    cause = json.loads(err.cause or "")
    assert cause["errorMessage"] == "RequestId: req-1 Error: Runtime exited with error: exit status 3"
    assert any("exit status 3" in line for line in log_lines)


def test_killed_by_signal_is_runtime_exit_error_naming_the_signal(ctx: BindingContext) -> None:
    err = _error(ctx, {"FunctionName": "killed"})
    assert err.error == "Runtime.ExitError"
    assert json.loads(err.cause or "")["errorMessage"].endswith("Runtime exited with error: signal: killed")


def test_unimportable_module_is_runtime_import_module_error(ctx: BindingContext) -> None:
    assert _error(ctx, {"FunctionName": "missing_module"}).error == "Runtime.ImportModuleError"


def test_missing_handler_is_runtime_handler_not_found(ctx: BindingContext) -> None:
    assert _error(ctx, {"FunctionName": "missing_handler"}).error == "Runtime.HandlerNotFound"


def test_unserialisable_result_is_runtime_marshal_error(ctx: BindingContext) -> None:
    assert _error(ctx, {"FunctionName": "unserialisable"}).error == "Runtime.MarshalError"


def test_handler_prints_go_to_the_function_log_not_the_result(ctx: BindingContext) -> None:
    assert _invoke(ctx, {"FunctionName": "noisy"})["Payload"] == {"ok": True}
    log = (ctx.workspace / "logs" / "lambda" / "noisy.log").read_text()
    assert "hello from the handler" in log and "START RequestId: req-1" in log


def test_unsupported_invocation_type_is_a_binding_error(ctx: BindingContext) -> None:
    with pytest.raises(BindingError, match="InvocationType 'Event'"):
        _invoke(ctx, {"FunctionName": "echo", "InvocationType": "Event"})


def test_cancellation_kills_the_hanging_child_and_its_children(
    ctx: BindingContext, tmp_path: Path, gone: Callable[[int], bool]
) -> None:
    pid_file = tmp_path / "pids"

    async def scenario() -> None:
        request = TaskRequest(
            INVOKE,
            "request-response",
            {"FunctionName": "hangs", "Payload": {"pid_file": str(pid_file)}},
            "arn:exec",
            "Hang",
        )
        task = asyncio.create_task(LambdaBinding().invoke(request, ctx))
        while not (pid_file.exists() and pid_file.read_text()):
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    child, grandchild = (int(p) for p in pid_file.read_text().split())
    assert gone(child)
    assert gone(grandchild)


def test_the_child_carries_the_attempts_lease_and_is_recorded_on_it(ctx: BindingContext) -> None:
    children: list[int] = []
    lease = ChildLease({"SFN_TASK_LEASE": "tok-1", "SFN_EXECUTION_STORE": "/ws/sfn/executions.sqlite3"},
                       children.append)
    out = _invoke(ctx, {"FunctionName": "lease_env"}, lease=lease)["Payload"]
    assert (out["lease"], out["store"]) == ("tok-1", "/ws/sfn/executions.sqlite3")
    assert children == [out["pid"]]


def test_without_a_lease_the_child_gets_none(ctx: BindingContext) -> None:
    out = _invoke(ctx, {"FunctionName": "lease_env"})["Payload"]
    assert (out["lease"], out["store"]) == (None, None)
