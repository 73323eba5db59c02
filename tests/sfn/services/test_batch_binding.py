"""BatchBinding: submitJob(.sync) runs ContainerOverrides.Command as a local child process."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn._errors import BindingError, StatesError
from alpha_engine.sfn.services import BatchBinding, BindingContext, ChildLease, TaskRequest

SUBMIT = "arn:aws:states:::batch:submitJob"


def _params(command: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    overrides: dict[str, Any] = {"Command": command}
    if env:
        overrides["Environment"] = [{"Name": k, "Value": v} for k, v in env.items()]
    return {
        "JobName": "train",
        "JobQueue": "q",
        "JobDefinition": "trainer:3",
        "ContainerOverrides": overrides,
    }


def _submit(ctx: BindingContext, params: Any, pattern: str = "sync") -> Any:
    request = TaskRequest(SUBMIT, pattern, params, "arn:exec", "Train")  # type: ignore[arg-type]
    return asyncio.run(BatchBinding(new_id=lambda: "job-1").invoke(request, ctx))


def test_sync_job_success_returns_the_described_job(ctx: BindingContext, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    script = f"import os; open({str(out)!r}, 'w').write(os.environ['MODE'] + os.environ['AWS_BATCH_JOB_ID'])"
    job = _submit(ctx, _params([sys.executable, "-c", script], {"MODE": "fast"}))
    assert out.read_text() == "fastjob-1"
    assert job["Status"] == "SUCCEEDED" and job["JobId"] == "job-1" and job["JobName"] == "train"
    assert job["Container"]["ExitCode"] == 0
    assert job["Container"]["Command"][0] == sys.executable
    assert job["Container"]["LogStreamName"] == "trainer/default/job-1"
    assert job["Attempts"][0]["StatusReason"] == "Essential container in task exited"
    assert job["JobQueue"].endswith(":job-queue/q")


def test_sync_job_output_goes_to_its_log(ctx: BindingContext) -> None:
    _submit(ctx, _params([sys.executable, "-c", "print('epoch 1')"]))
    assert "epoch 1" in (ctx.workspace / "logs" / "batch" / "job-1.log").read_text()


def test_sync_job_nonzero_exit_fails_the_task_with_the_failed_job_as_cause(ctx: BindingContext) -> None:
    with pytest.raises(StatesError) as info:
        _submit(ctx, _params([sys.executable, "-c", "raise SystemExit(4)"]))
    assert info.value.error == "States.TaskFailed" and info.value.in_state is False
    job = json.loads(info.value.cause or "")
    assert job["Status"] == "FAILED"
    assert job["StatusReason"] == "Essential container in task exited"
    assert job["Container"]["ExitCode"] == 4


def test_missing_executable_fails_the_job_as_cannot_start(ctx: BindingContext) -> None:
    with pytest.raises(StatesError) as info:
        _submit(ctx, _params(["/no/such/binary"]))
    assert json.loads(info.value.cause or "")["StatusReason"].startswith("CannotStartContainerError")


def test_without_sync_returns_job_ids_at_once_and_runs_detached(ctx: BindingContext, tmp_path: Path) -> None:
    marker = tmp_path / "ran"

    async def scenario() -> Any:
        binding = BatchBinding(new_id=lambda: "job-2")
        script = f"open({str(marker)!r}, 'w').write('x')"
        request = TaskRequest(SUBMIT, "request-response", _params([sys.executable, "-c", script]), "e", "S")
        result = await binding.invoke(request, ctx)
        while binding._background:
            await asyncio.sleep(0.02)
        return result

    result = asyncio.run(scenario())
    assert (result["JobId"], result["JobName"]) == ("job-2", "train")
    assert "SdkHttpMetadata" in result
    assert marker.read_text() == "x"


def test_command_is_required(ctx: BindingContext) -> None:
    with pytest.raises(BindingError, match="ContainerOverrides.Command"):
        _submit(ctx, {"JobName": "j", "JobQueue": "q", "JobDefinition": "d"})


def test_cancelling_a_sync_job_kills_its_process_group(
    ctx: BindingContext, tmp_path: Path, gone: Callable[[int], bool]
) -> None:
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"

    async def scenario() -> None:
        request = TaskRequest(SUBMIT, "sync", _params([sys.executable, "-c", script]), "e", "S")
        task = asyncio.create_task(BatchBinding().invoke(request, ctx))
        while not (pid_file.exists() and pid_file.read_text()):
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert gone(int(pid_file.read_text()))


def test_a_failed_job_reports_its_termination_message_as_container_reason(ctx: BindingContext) -> None:
    script = ("import os, sys; print('step 1'); print('step 2'); "
              "open(os.environ['SFN_TERMINATION_MESSAGE_PATH'], 'w').write("
              "'PreflightError: the market store is not writable: ' + 'x' * 400); sys.exit(2)")
    with pytest.raises(StatesError) as info:
        _submit(ctx, _params([sys.executable, "-c", script]))
    job = json.loads(info.value.cause or "")
    reason = job["Container"]["Reason"]
    assert reason.startswith("PreflightError: the market store is not writable: xxx") and len(reason) == 255
    assert job["Attempts"][0]["Container"]["Reason"] == reason
    assert job["StatusReason"] == "Essential container in task exited"  # AWS's, unchanged
    assert job["Container"]["ExitCode"] == 2
    assert job["Container"]["LogTail"] == "step 1\nstep 2"
    assert not list((ctx.workspace / "logs" / "batch").glob("*.termination-log"))  # read, then removed


def test_a_failed_job_carries_only_the_last_lines_of_its_output(ctx: BindingContext) -> None:
    script = "import sys; [print(f'line {i}') for i in range(100)]; sys.exit(1)"
    with pytest.raises(StatesError) as info:
        _submit(ctx, _params([sys.executable, "-c", script]))
    container = json.loads(info.value.cause or "")["Container"]
    assert container["LogTail"].splitlines() == [f"line {i}" for i in range(80, 100)]
    assert "Reason" not in container  # no termination message written


def test_a_succeeded_job_has_no_reason_and_no_log_tail(ctx: BindingContext) -> None:
    job = _submit(ctx, _params([sys.executable, "-c", "print('fine')"]))
    assert "Reason" not in job["Container"] and "LogTail" not in job["Container"]


def test_a_sync_job_carries_the_attempts_lease_and_is_recorded_on_it(ctx: BindingContext, tmp_path: Path) -> None:
    out = tmp_path / "env.txt"
    script = (f"import os; open({str(out)!r}, 'w').write("
              "os.environ['SFN_TASK_LEASE'] + ' ' + os.environ['SFN_EXECUTION_STORE'] + ' ' + str(os.getpid()))")
    children: list[int] = []
    lease = ChildLease({"SFN_TASK_LEASE": "tok-1", "SFN_EXECUTION_STORE": "/db"}, children.append)
    request = TaskRequest(SUBMIT, "sync", _params([sys.executable, "-c", script]), "arn:exec", "Train", lease=lease)
    asyncio.run(BatchBinding(new_id=lambda: "job-1").invoke(request, ctx))
    token, store, pid = out.read_text().split()
    assert (token, store) == ("tok-1", "/db")
    assert children == [int(pid)]
