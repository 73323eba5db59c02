"""SsmBinding: sendCommand runs bash locally; getCommandInvocation polls it as SSM answers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alpha_engine.sfn._errors import StatesError
from alpha_engine.sfn.services import BindingContext, SsmBinding, TaskRequest

SEND = "arn:aws:states:::aws-sdk:ssm:sendCommand"
GET = "arn:aws:states:::aws-sdk:ssm:getCommandInvocation"
CANCEL = "arn:aws:states:::aws-sdk:ssm:cancelCommand"


@dataclass
class FakeClock:
    now: datetime = field(default_factory=lambda: datetime(2024, 11, 23, 10, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _send_params(*commands: str, **doc: list[str]) -> dict[str, Any]:
    return {
        "DocumentName": "AWS-RunShellScript",
        "InstanceIds": ["i-0123"],
        "Parameters": {"commands": list(commands), **doc},
        "TimeoutSeconds": 600,
    }


async def _call(binding: SsmBinding, ctx: BindingContext, resource: str, params: Any) -> Any:
    return await binding.invoke(TaskRequest(resource, "request-response", params, "arn:exec", "S"), ctx)


async def _wait_done(binding: SsmBinding, ctx: BindingContext, command_id: str) -> dict[str, Any]:
    while True:
        result = await _call(binding, ctx, GET, {"CommandId": command_id, "InstanceId": "i-0123"})
        if result["Status"] not in ("Pending", "InProgress"):
            return dict(result)
        await asyncio.sleep(0.02)


def _run_command(ctx: BindingContext, *commands: str, **doc: list[str]) -> dict[str, Any]:
    async def scenario() -> dict[str, Any]:
        binding = SsmBinding(new_id=lambda: "cmd-1")
        sent = await _call(binding, ctx, SEND, _send_params(*commands, **doc))
        assert sent["Command"]["Status"] == "Pending"
        return await _wait_done(binding, ctx, sent["Command"]["CommandId"])

    return asyncio.run(scenario())


def test_send_command_returns_pending_command(ctx: BindingContext) -> None:
    async def scenario() -> Any:
        binding = SsmBinding(new_id=lambda: "cmd-1")
        sent = await _call(binding, ctx, SEND, _send_params("true"))
        await binding.aclose()
        return sent

    command = asyncio.run(scenario())["Command"]
    assert command["CommandId"] == "cmd-1"
    assert (command["Status"], command["StatusDetails"]) == ("Pending", "Pending")
    assert command["InstanceIds"] == ["i-0123"] and command["DocumentName"] == "AWS-RunShellScript"


def test_successful_script_reports_success_and_its_output(ctx: BindingContext) -> None:
    result = _run_command(ctx, "echo hello", "echo oops >&2", "echo $SFN_FIXTURE_FLAG")
    assert (result["Status"], result["StatusDetails"], result["ResponseCode"]) == ("Success", "Success", 0)
    assert result["StandardOutputContent"] == "hello\non\n"
    assert result["StandardErrorContent"] == "oops\n"
    assert result["PluginName"] == "aws:runShellScript"


def test_failing_script_reports_failed_with_its_exit_code(ctx: BindingContext) -> None:
    result = _run_command(ctx, "exit 7")
    assert (result["Status"], result["ResponseCode"]) == ("Failed", 7)


def test_output_is_truncated_to_24000_characters(ctx: BindingContext) -> None:
    result = _run_command(ctx, "head -c 30000 /dev/zero | tr '\\0' 'x'")
    assert result["StandardOutputContent"] == "x" * 24_000


def test_execution_timeout_kills_the_script_and_reports_timed_out(ctx: BindingContext) -> None:
    result = _run_command(ctx, "sleep 600", executionTimeout=["0.2"])
    assert (result["Status"], result["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


def test_invocation_does_not_exist_during_the_not_found_window(ctx: BindingContext) -> None:
    clock = FakeClock()
    windowed = replace(ctx, ssm_not_found_window_seconds=5.0)

    async def scenario() -> Any:
        binding = SsmBinding(now=clock, new_id=lambda: "cmd-1")
        await _call(binding, windowed, SEND, _send_params("true"))
        with pytest.raises(StatesError) as info:
            await _call(binding, windowed, GET, {"CommandId": "cmd-1", "InstanceId": "i-0123"})
        clock.advance(5.0)
        result = await _wait_done(binding, windowed, "cmd-1")
        return info.value, result

    error, result = asyncio.run(scenario())
    assert error.error == "Ssm.InvocationDoesNotExistException" and error.in_state is False
    assert "(Service: Ssm, Status Code: 400, Request ID:" in (error.cause or "")
    assert result["Status"] == "Success"


def test_unknown_command_does_not_exist(ctx: BindingContext) -> None:
    with pytest.raises(StatesError) as info:
        asyncio.run(_call(SsmBinding(), ctx, GET, {"CommandId": "nope", "InstanceId": "i-0123"}))
    assert info.value.error == "Ssm.InvocationDoesNotExistException"


def test_a_new_binding_answers_for_a_finished_command_from_the_workspace(ctx: BindingContext) -> None:
    _run_command(ctx, "echo persisted")
    result = asyncio.run(_call(SsmBinding(), ctx, GET, {"CommandId": "cmd-1", "InstanceId": "i-0123"}))
    assert (result["Status"], result["StandardOutputContent"]) == ("Success", "persisted\n")


def test_cancel_command_stops_the_script(ctx: BindingContext) -> None:
    async def scenario() -> Any:
        binding = SsmBinding(new_id=lambda: "cmd-1")
        await _call(binding, ctx, SEND, _send_params("sleep 600"))
        await _call(binding, ctx, CANCEL, {"CommandId": "cmd-1"})
        return await _call(binding, ctx, GET, {"CommandId": "cmd-1", "InstanceId": "i-0123"})

    assert asyncio.run(scenario())["Status"] == "Cancelled"


def test_closing_the_binding_kills_running_commands(ctx: BindingContext, gone: Any) -> None:
    async def scenario() -> int:
        binding = SsmBinding(new_id=lambda: "cmd-1")
        await _call(binding, ctx, SEND, _send_params("sleep 600"))
        await binding.aclose()
        return int(json.loads((ctx.workspace / "ssm" / "cmd-1" / "i-0123" / "meta.json").read_text())["pid"])

    assert gone(asyncio.run(scenario()))


def test_only_run_shell_script_is_supported(ctx: BindingContext) -> None:
    params = {**_send_params("true"), "DocumentName": "AWS-RunPowerShellScript"}
    with pytest.raises(StatesError) as info:
        asyncio.run(_call(SsmBinding(), ctx, SEND, params))
    assert info.value.error == "Ssm.InvalidDocumentException"
