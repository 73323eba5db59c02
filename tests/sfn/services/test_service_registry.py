"""The binding contract: split_resource, MockBinding, ServiceRegistry, default_registry, exports."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import alpha_engine.sfn.services as services
from alpha_engine.sfn._errors import BindingError, StatesError
from alpha_engine.sfn.services import (
    BindingContext,
    MockBinding,
    ServiceRegistry,
    TaskRequest,
    default_registry,
    split_resource,
)


def _request(resource: str, params: Any = None, state: str = "S") -> TaskRequest:
    return TaskRequest(resource, "request-response", params, "arn:exec", state)


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:states:::lambda:invoke", ("arn:aws:states:::lambda:invoke", "request-response")),
        ("arn:aws:states:::batch:submitJob.sync", ("arn:aws:states:::batch:submitJob", "sync")),
        (
            "arn:aws:states:::states:startExecution.sync:2",
            ("arn:aws:states:::states:startExecution", "sync2"),
        ),
        (
            "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            ("arn:aws:states:::sqs:sendMessage", "callback"),
        ),
        (
            "arn:aws:lambda:us-east-1:1:function:f.sync",
            ("arn:aws:lambda:us-east-1:1:function:f.sync", "request-response"),
        ),
    ],
)
def test_split_resource_strips_the_integration_suffix(arn: str, expected: tuple[str, str]) -> None:
    assert split_resource(arn) == expected


_SUFFIX = {"request-response": "", "sync": ".sync", "sync2": ".sync:2", "callback": ".waitForTaskToken"}


@given(
    action=st.from_regex(r"[a-z][A-Za-z]{0,12}:[a-z][A-Za-z]{0,12}", fullmatch=True),
    pattern=st.sampled_from(sorted(_SUFFIX)),
)
def test_split_resource_inverts_appending_a_suffix(action: str, pattern: str) -> None:
    arn = f"arn:aws:states:::{action}"
    assert split_resource(arn + _SUFFIX[pattern]) == (arn, pattern)


def test_mock_binding_glob_and_predicate(ctx: BindingContext) -> None:
    assert MockBinding(lambda r: 1).matches("anything")
    glob = MockBinding(lambda r: 1, "arn:aws:states:::lambda:*")
    assert glob.matches("arn:aws:states:::lambda:invoke") and not glob.matches("arn:aws:states:::sns:publish")
    predicate = MockBinding(lambda r: 1, lambda resource: resource.endswith("publish"))
    assert predicate.matches("arn:aws:states:::sns:publish")


def test_mock_binding_awaits_async_handlers(ctx: BindingContext) -> None:
    async def handler(request: TaskRequest) -> Any:
        return {"echo": request.parameters}

    result = asyncio.run(MockBinding(handler).invoke(_request("x", {"a": 1}), ctx))
    assert result == {"echo": {"a": 1}}


def test_registry_first_matching_binding_wins(ctx: BindingContext) -> None:
    registry = ServiceRegistry(
        [MockBinding(lambda r: "first", "arn:a*"), MockBinding(lambda r: "second")], ctx
    )
    assert asyncio.run(registry.invoke(_request("arn:abc"))) == "first"
    assert asyncio.run(registry.invoke(_request("arn:xyz"))) == "second"


def test_registry_supports_resources_with_or_without_suffix(ctx: BindingContext) -> None:
    registry = ServiceRegistry([MockBinding(lambda r: 1, "arn:aws:states:::batch:submitJob")], ctx)
    assert registry.supports("arn:aws:states:::batch:submitJob.sync")
    assert registry.supports("arn:aws:states:::batch:submitJob")
    assert not registry.supports("arn:aws:states:::sns:publish")


def test_registry_without_a_match_raises_binding_error_naming_resource_and_state(ctx: BindingContext) -> None:
    registry = ServiceRegistry([], ctx)
    with pytest.raises(BindingError, match=r"arn:aws:states:::sqs:sendMessage.*'Notify'"):
        asyncio.run(registry.invoke(_request("arn:aws:states:::sqs:sendMessage", state="Notify")))


def test_registry_passes_states_errors_through(ctx: BindingContext) -> None:
    def fail(request: TaskRequest) -> Any:
        raise StatesError("Custom.Error", "why", in_state=False)

    with pytest.raises(StatesError) as info:
        asyncio.run(ServiceRegistry([MockBinding(fail)], ctx).invoke(_request("x")))
    assert (info.value.error, info.value.cause) == ("Custom.Error", "why")


def test_registry_turns_a_binding_bug_into_task_failed(ctx: BindingContext) -> None:
    def broken(request: TaskRequest) -> Any:
        raise KeyError("oops")

    with pytest.raises(StatesError) as info:
        asyncio.run(ServiceRegistry([MockBinding(broken)], ctx).invoke(_request("x", state="Bug")))
    assert info.value.error == "States.TaskFailed" and info.value.in_state is False
    assert "MockBinding" in (info.value.cause or "") and "KeyError" in (info.value.cause or "")


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        "arn:aws:states:::batch:submitJob.sync",
        "arn:aws:states:::aws-sdk:ssm:sendCommand",
        "arn:aws:states:::aws-sdk:ssm:getCommandInvocation",
        "arn:aws:states:::sns:publish",
        "arn:aws:states:::sns:publish.waitForTaskToken",
        "arn:aws:states:::dynamodb:putItem",
        "arn:aws:states:::aws-sdk:dynamodb:updateItem",
    ],
)
def test_default_registry_supports_the_built_in_services(ctx: BindingContext, resource: str) -> None:
    assert default_registry(ctx).supports(resource)


def test_default_registry_puts_extra_bindings_first(ctx: BindingContext) -> None:
    registry = default_registry(ctx, [MockBinding(lambda r: "mocked", "arn:aws:states:::sns:publish")])
    assert asyncio.run(registry.invoke(_request("arn:aws:states:::sns:publish"))) == "mocked"
    assert not default_registry(ctx).supports("arn:aws:states:::sqs:sendMessage")


def test_binding_context_defaults(tmp_path: Path) -> None:
    ctx = BindingContext(workspace=tmp_path)
    assert ctx.functions == {} and ctx.env == {} and ctx.ssm_not_found_window_seconds == 0.0
    ctx.log("ignored")


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in dir(services) if not name.startswith("_")}
    assert sorted(services.__all__) == services.__all__
    assert set(services.__all__) == public


def test_default_registry_hands_the_engine_sources_to_every_binding(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 1, 2, tzinfo=UTC)
    ids = iter(f"id-{n}" for n in range(100))
    registry = default_registry(BindingContext(workspace=tmp_path), now=lambda: moment, new_id=lambda: next(ids))
    for binding in registry.bindings:
        assert binding.now() == moment  # type: ignore[attr-defined]
        assert binding.new_id().startswith("id-")  # type: ignore[attr-defined]


def test_bindings_default_to_the_one_local_account_and_region() -> None:
    from alpha_engine.sfn._arn import LOCAL_ACCOUNT, LOCAL_REGION
    from alpha_engine.sfn.services import BatchBinding, LambdaBinding, SsmBinding

    assert (LambdaBinding().account, LambdaBinding().region) == (LOCAL_ACCOUNT, LOCAL_REGION)
    assert (BatchBinding().account, BatchBinding().region) == (LOCAL_ACCOUNT, LOCAL_REGION)
    assert SsmBinding().region == LOCAL_REGION
