"""SSM Run Command: ``aws-sdk:ssm:sendCommand`` / ``getCommandInvocation`` / ``cancelCommand``.

``sendCommand`` with ``AWS-RunShellScript`` writes ``Parameters.commands`` to a script and runs
it with bash in a child process group per instance id, then returns at once (``Status:
Pending``), as SSM does. Pipelines poll ``getCommandInvocation`` in a Wait/Choice loop:

* during the first ``ctx.ssm_not_found_window_seconds`` after ``sendCommand`` (measured on the
  binding's clock) it raises ``Ssm.InvocationDoesNotExistException``, SSM's answer while the
  invocation propagates, so the Retry blocks written for production are exercised locally;
* then ``InProgress`` (``ResponseCode`` -1), and finally ``Success``/``Failed`` (exit code),
  ``TimedOut`` (``Parameters.executionTimeout``, default 3600 s) or ``Cancelled``;
* ``StandardOutputContent``/``StandardErrorContent`` hold the first 24,000 characters, as SSM
  truncates them.

State lives in memory and in ``workspace/ssm/COMMAND_ID/INSTANCE_ID/`` (``meta.json``, the
script, ``stdout``, ``stderr``, ``rc`` written by the bash wrapper, ``result.json``), so an
engine restarted later still answers for commands that finished.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._arn import LOCAL_REGION
from .._clock import IdSource, SystemClock
from .._errors import StatesError
from ._aws import iso_timestamp, v2_cause
from ._base import BindingContext, TaskRequest
from ._process import kill_group

__all__ = ["OUTPUT_LIMIT", "SsmBinding"]

_PREFIX = "arn:aws:states:::aws-sdk:ssm:"
OUTPUT_LIMIT = 24_000  # characters of stdout/stderr getCommandInvocation returns
_DOCUMENT = "AWS-RunShellScript"
_DEFAULT_EXECUTION_TIMEOUT = 3600.0
# The wrapper records the script's exit code atomically, so the outcome is on disk even if
# the engine that started it is gone.
_WRAPPER = 'bash "$1"; rc=$?; printf "%s" "$rc" > "$2.tmp" && mv "$2.tmp" "$2"; exit "$rc"'


@dataclass(slots=True)
class _Running:
    """An invocation this binding started and is still watching."""

    proc: asyncio.subprocess.Process
    task: asyncio.Task[None]


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def _read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(OUTPUT_LIMIT)
    except FileNotFoundError:
        return ""


class SsmBinding:
    """Runs SSM shell commands locally (see module docstring)."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        region: str = LOCAL_REGION,
    ) -> None:
        # The engine passes its clock and id source; a binding used on its own gets real ones.
        self.now = now or SystemClock().now
        self.new_id = new_id or IdSource().uuid
        self.region = region
        self._running: dict[tuple[str, str], _Running] = {}
        self._folders: dict[tuple[str, str], Path] = {}

    def matches(self, resource: str) -> bool:
        return resource in (
            f"{_PREFIX}sendCommand",
            f"{_PREFIX}getCommandInvocation",
            f"{_PREFIX}cancelCommand",
        )

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        params = request.parameters if isinstance(request.parameters, dict) else {}
        action = request.resource[len(_PREFIX) :]
        if action == "sendCommand":
            return await self._send(params, ctx)
        if action == "getCommandInvocation":
            return self._get(params, ctx)
        return await self._cancel(params, ctx)

    async def aclose(self) -> None:
        """Kill every command still running (they end ``Cancelled``)."""
        for key in list(self._running):
            await self._stop(key, self._folders[key])

    async def _stop(self, key: tuple[str, str], folder: Path) -> None:
        """Kill one running invocation and record it ``Cancelled``.

        Kills here rather than in the watcher, which may not have started running yet.
        """
        running = self._running.get(key)
        if running is None:
            return
        self._record(folder, "Cancelled", "Cancelled", -1)
        await kill_group(running.proc)
        running.task.cancel()
        await asyncio.gather(running.task, return_exceptions=True)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, name: str, message: str, status: int = 400) -> StatesError:
        cause = v2_cause(message, "Ssm", status, self.new_id())
        return StatesError(f"Ssm.{name}", cause, in_state=False)

    # -- sendCommand --------------------------------------------------------------------------

    async def _send(self, params: dict[str, Any], ctx: BindingContext) -> Any:
        document = params.get("DocumentName")
        if document != _DOCUMENT:
            raise self._error(
                "InvalidDocumentException",
                f"Document {document!r} is not supported locally; only {_DOCUMENT}",
            )
        instance_ids = params.get("InstanceIds")
        if not (
            isinstance(instance_ids, list) and instance_ids and all(isinstance(i, str) for i in instance_ids)
        ):
            raise self._error("InvalidInstanceIdException", "InstanceIds must be a non-empty list of strings")
        doc_params = params.get("Parameters") or {}
        commands = doc_params.get("commands")
        if isinstance(commands, str):
            commands = [commands]
        if not (isinstance(commands, list) and all(isinstance(c, str) for c in commands)):
            raise self._error("InvalidParametersException", "Parameters.commands must be a list of strings")
        timeout = _first(doc_params.get("executionTimeout"))
        try:
            execution_timeout = float(timeout) if timeout is not None else _DEFAULT_EXECUTION_TIMEOUT
        except ValueError:
            raise self._error(
                "InvalidParametersException", f"executionTimeout {timeout!r} is not a number"
            ) from None
        working_dir = _first(doc_params.get("workingDirectory"))
        command_id = self.new_id()
        requested = self.now()
        comment = params.get("Comment", "")
        for instance_id in instance_ids:
            folder = ctx.workspace / "ssm" / command_id / instance_id
            folder.mkdir(parents=True, exist_ok=True)
            script = folder / "_script.sh"
            script.write_text("\n".join(commands) + "\n")
            meta = {
                "CommandId": command_id,
                "InstanceId": instance_id,
                "DocumentName": document,
                "Comment": comment,
                "RequestedDateTime": iso_timestamp(requested),
                "RequestedEpoch": requested.timestamp(),
                "pid": None,
            }
            _write_json(folder / "meta.json", meta)
            await self._start(folder, meta, str(script), working_dir, execution_timeout, ctx)
        ctx.log(f"ssm sendCommand {command_id} -> {', '.join(instance_ids)}")
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": document,
                "DocumentVersion": "$DEFAULT",
                "Comment": comment,
                "ExpiresAfter": iso_timestamp(requested + timedelta(seconds=execution_timeout + 600)),
                "Parameters": doc_params,
                "InstanceIds": list(instance_ids),
                "Targets": [],
                "RequestedDateTime": iso_timestamp(requested),
                "Status": "Pending",
                "StatusDetails": "Pending",
                "OutputS3Region": self.region,
                "OutputS3BucketName": "",
                "OutputS3KeyPrefix": "",
                "MaxConcurrency": "50",
                "MaxErrors": "0",
                "TargetCount": len(instance_ids),
                "CompletedCount": 0,
                "ErrorCount": 0,
                "DeliveryTimedOutCount": 0,
                "ServiceRole": "",
                "NotificationConfig": {
                    "NotificationArn": "",
                    "NotificationEvents": [],
                    "NotificationType": "",
                },
                "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
                "TimeoutSeconds": params.get("TimeoutSeconds", 3600),
                "TriggeredAlarms": [],
            }
        }

    async def _start(
        self,
        folder: Path,
        meta: dict[str, Any],
        script: str,
        working_dir: str | None,
        execution_timeout: float,
        ctx: BindingContext,
    ) -> None:
        env = {**os.environ, **ctx.env}
        with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
            proc = await asyncio.create_subprocess_exec(
                "bash",
                "-c",
                _WRAPPER,
                "ssm-run",
                script,
                str(folder / "rc"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=working_dir or str(folder),
                start_new_session=True,
            )
        meta["pid"] = proc.pid
        meta["ExecutionStartDateTime"] = iso_timestamp(self.now())
        _write_json(folder / "meta.json", meta)
        key = (meta["CommandId"], meta["InstanceId"])
        task = asyncio.create_task(self._watch(folder, proc, execution_timeout))
        self._running[key] = _Running(proc, task)
        self._folders[key] = folder
        task.add_done_callback(lambda _t: self._forget(key))
        # Let the watcher start now: a task cancelled before its first step never runs its
        # cleanup, and the loop's shutdown cancels every task it finds.
        await asyncio.sleep(0)

    def _forget(self, key: tuple[str, str]) -> None:
        self._running.pop(key, None)
        self._folders.pop(key, None)

    async def _watch(self, folder: Path, proc: asyncio.subprocess.Process, timeout: float) -> None:
        """Wait for the command; on its timeout or our cancellation kill it and record why."""
        try:
            code = await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            await kill_group(proc)
            self._record(folder, "TimedOut", "ExecutionTimedOut", -1)
            return
        except asyncio.CancelledError:
            await kill_group(proc)
            self._record(folder, "Cancelled", "Cancelled", -1)
            raise
        self._record(folder, "Success" if code == 0 else "Failed", "Success" if code == 0 else "Failed", code)

    def _record(self, folder: Path, status: str, details: str, code: int) -> None:
        if (folder / "result.json").exists():
            return  # cancelCommand already recorded the outcome
        result = {
            "Status": status,
            "StatusDetails": details,
            "ResponseCode": code,
            "ExecutionEndDateTime": iso_timestamp(self.now()),
        }
        _write_json(folder / "result.json", result)

    # -- getCommandInvocation -----------------------------------------------------------------

    def _get(self, params: dict[str, Any], ctx: BindingContext) -> Any:
        command_id, instance_id = params.get("CommandId"), params.get("InstanceId")
        if not isinstance(command_id, str) or not isinstance(instance_id, str):
            raise self._error("InvalidParametersException", "CommandId and InstanceId are required")
        folder = ctx.workspace / "ssm" / command_id / instance_id
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (FileNotFoundError, ValueError):
            raise self._error("InvocationDoesNotExistException", "null") from None
        age = self.now().timestamp() - float(meta["RequestedEpoch"])
        if age < ctx.ssm_not_found_window_seconds:
            raise self._error("InvocationDoesNotExistException", "null")
        status, details, code, ended = self._status(folder, meta, (command_id, instance_id))
        return {
            "CommandId": command_id,
            "InstanceId": instance_id,
            "Comment": meta.get("Comment", ""),
            "DocumentName": meta["DocumentName"],
            "DocumentVersion": "$DEFAULT",
            "PluginName": "aws:runShellScript",
            "ResponseCode": code,
            "ExecutionStartDateTime": meta.get("ExecutionStartDateTime", ""),
            "ExecutionElapsedTime": "",
            "ExecutionEndDateTime": ended,
            "Status": status,
            "StatusDetails": details,
            "StandardOutputContent": _read_text(folder / "stdout"),
            "StandardOutputUrl": "",
            "StandardErrorContent": _read_text(folder / "stderr"),
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        }

    def _status(self, folder: Path, meta: dict[str, Any], key: tuple[str, str]) -> tuple[str, str, int, str]:
        """``(Status, StatusDetails, ResponseCode, ExecutionEndDateTime)`` of one invocation."""
        try:
            result = json.loads((folder / "result.json").read_text())
            return (
                result["Status"],
                result["StatusDetails"],
                result["ResponseCode"],
                result["ExecutionEndDateTime"],
            )
        except (FileNotFoundError, ValueError):
            pass
        running = self._running.get(key)
        if running is not None:
            return "InProgress", "InProgress", -1, ""
        try:  # finished while no engine watched it: the wrapper left its exit code
            code = int((folder / "rc").read_text())
        except (FileNotFoundError, ValueError):
            if _alive(meta.get("pid")):
                return "InProgress", "InProgress", -1, ""
            return "Failed", "Failed", -1, ""  # died with no exit code (host restart, kill -9)
        return ("Success" if code == 0 else "Failed"), ("Success" if code == 0 else "Failed"), code, ""

    # -- cancelCommand ------------------------------------------------------------------------

    async def _cancel(self, params: dict[str, Any], ctx: BindingContext) -> Any:
        command_id = params.get("CommandId")
        if not isinstance(command_id, str):
            raise self._error("InvalidParametersException", "CommandId is required")
        root = ctx.workspace / "ssm" / command_id
        if not root.is_dir():
            raise self._error("InvalidCommandIdException", "null")
        wanted = params.get("InstanceIds") or [p.name for p in root.iterdir() if p.is_dir()]
        for instance_id in wanted:
            await self._stop((command_id, instance_id), root / instance_id)
        return {}


def _first(value: Any) -> Any:
    """SSM document parameters are lists of strings; take the single value."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
