"""Batch: ``arn:aws:states:::batch:submitJob[.sync]`` runs the job's command locally.

``ContainerOverrides.Command`` runs as a child process in its own process group, with the
engine's environment plus ``BindingContext.env`` plus ``ContainerOverrides.Environment`` and
the ``AWS_BATCH_*`` variables a container would see; stdout and stderr go to
``workspace/logs/batch/JOB_ID.log``. With ``.sync`` the task result is the job as
DescribeJobs shows it; a non-zero exit fails the task with ``States.TaskFailed`` whose cause
is that job (``Status: FAILED``) as JSON, as Step Functions reports a failed Batch job.
Without ``.sync`` the task returns ``{JobArn, JobId, JobName}`` at once and the job runs on in
the background until it ends or :meth:`BatchBinding.aclose` stops it.

The job gets a *termination message* file, in the spirit of Kubernetes' ``terminationMessagePath``:
its path is in ``SFN_TERMINATION_MESSAGE_PATH`` and what the job writes there (say
``PreflightError: the market store is not writable: ...``) becomes ``Container.Reason`` of a
failed job (and of its attempt), truncated to 255 characters as AWS truncates it;
``StatusReason`` stays AWS's ``Essential container in task exited``. A failed job also carries
``Container.LogTail``, the last :data:`LOG_TAIL_LINES` lines of its output. **LogTail is a local
extension**: AWS keeps a job's output in CloudWatch Logs under ``Container.LogStreamName``.

A ``.sync`` job is its Task attempt's process: it gets the attempt's lease in its environment
and is recorded on the lease (see ``_base.ChildLease``). It is sent SIGTERM if the engine dies
(parent-death signal, see :mod:`._process`).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .._arn import LOCAL_ACCOUNT, LOCAL_REGION
from .._clock import IdSource, SystemClock
from .._errors import BindingError, StatesError
from ._aws import compact_json, http_date, sdk_metadata
from ._base import BindingContext, ChildLease, TaskRequest
from ._process import parent_death_signal, terminate_group

__all__ = ["LOG_TAIL_LINES", "TERMINATION_MESSAGE_ENV", "BatchBinding"]

SUBMIT_JOB_ARN = "arn:aws:states:::batch:submitJob"
_ESSENTIAL_EXITED = "Essential container in task exited"
#: Where a job finds the path of its termination message file.
TERMINATION_MESSAGE_ENV = "SFN_TERMINATION_MESSAGE_PATH"
#: How many of its last output lines a failed job carries in ``Container.LogTail``.
LOG_TAIL_LINES = 20
_REASON_LIMIT = 255  # AWS truncates Container.Reason to 255 characters
_TAIL_BYTES = 65536
_TAIL_LINE_CHARS = 500


def _millis(now: datetime) -> int:
    return int(now.timestamp() * 1000)


class BatchBinding:
    """Runs Batch jobs as local child processes (see module docstring)."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        region: str = LOCAL_REGION,
        account: str = LOCAL_ACCOUNT,
    ) -> None:
        # The engine passes its clock and id source; a binding used on its own gets real ones.
        self.now = now or SystemClock().now
        self.new_id = new_id or IdSource().uuid
        self.region = region
        self.account = account
        self._background: set[asyncio.Task[dict[str, Any]]] = set()

    def matches(self, resource: str) -> bool:
        return resource == SUBMIT_JOB_ARN

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        if request.pattern == "sync2":
            raise BindingError(f"batch:submitJob has no .sync:2 pattern (state {request.state_name!r})")
        job = self._new_job(request)
        if request.pattern != "sync":
            # A detached job outlives its Task attempt: it gets no lease (nothing would renew it).
            task = asyncio.create_task(self._run(job, ctx, None))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            request_id = self.new_id()
            body = {"JobArn": job["JobArn"], "JobId": job["JobId"], "JobName": job["JobName"]}
            headers = {
                "Content-Length": str(len(compact_json(body).encode())),
                "Content-Type": "application/json",
                "Date": http_date(self.now()),
                "x-amzn-RequestId": request_id,
            }
            return {**body, **sdk_metadata(headers, request_id)}
        done = await self._run(job, ctx, request.lease)
        if done["Status"] != "SUCCEEDED":
            raise StatesError("States.TaskFailed", compact_json(done), in_state=False)
        return done

    async def aclose(self) -> None:
        """Stop detached jobs (each is killed with its process group and marked FAILED)."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _new_job(self, request: TaskRequest) -> dict[str, Any]:
        params = request.parameters
        where = f"batch:submitJob in state {request.state_name!r}"
        if not isinstance(params, dict):
            raise BindingError(f"{where}: Parameters must be an object")
        for key in ("JobName", "JobQueue", "JobDefinition"):
            if not isinstance(params.get(key), str):
                raise BindingError(f"{where}: missing string parameter {key}")
        overrides = params.get("ContainerOverrides") or {}
        command = overrides.get("Command")
        if not (isinstance(command, list) and command and all(isinstance(c, str) for c in command)):
            raise BindingError(
                f"{where}: the local Batch binding runs ContainerOverrides.Command, which must be a "
                "non-empty list of strings"
            )
        environment = overrides.get("Environment") or []
        if not all(isinstance(e, dict) and isinstance(e.get("Name"), str) for e in environment):
            raise BindingError(f"{where}: ContainerOverrides.Environment must be a list of {{Name, Value}}")
        job_id = self.new_id()
        prefix = f"arn:aws:batch:{self.region}:{self.account}"
        definition, queue = params["JobDefinition"], params["JobQueue"]
        return {
            "JobArn": f"{prefix}:job/{job_id}",
            "JobId": job_id,
            "JobName": params["JobName"],
            "JobQueue": queue if queue.startswith("arn:") else f"{prefix}:job-queue/{queue}",
            "JobDefinition": (
                definition if definition.startswith("arn:") else f"{prefix}:job-definition/{definition}"
            ),
            "Status": "SUBMITTED",
            "CreatedAt": _millis(self.now()),
            "DependsOn": [],
            "Parameters": params.get("Parameters") or {},
            "Tags": params.get("Tags") or {},
            "PlatformCapabilities": [],
            "PropagateTags": False,
            "Container": {
                "Command": list(command),
                "Environment": [{"Name": e["Name"], "Value": str(e.get("Value", ""))} for e in environment],
                "LogStreamName": f"{definition.rsplit('/', 1)[-1].split(':')[0]}/default/{job_id}",
                "NetworkInterfaces": [],
                "ResourceRequirements": [],
                "Secrets": [],
                "Ulimits": [],
                "Volumes": [],
                "MountPoints": [],
            },
            "Attempts": [],
        }

    async def _run(self, job: dict[str, Any], ctx: BindingContext, lease: ChildLease | None) -> dict[str, Any]:
        """Run the job to its end and return its final description."""
        container = job["Container"]
        log_dir = ctx.workspace / "logs" / "batch"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{job['JobId']}.log"
        message_path = log_dir / f"{job['JobId']}.termination-log"
        message_path.unlink(missing_ok=True)
        env = {
            **os.environ,
            **ctx.env,
            **(lease.env if lease is not None else {}),
            TERMINATION_MESSAGE_ENV: str(message_path),
            "AWS_BATCH_JOB_ID": job["JobId"],
            "AWS_BATCH_JQ_NAME": job["JobQueue"].rsplit("/", 1)[-1],
            "AWS_BATCH_JOB_ATTEMPT": "1",
            **{e["Name"]: e["Value"] for e in container["Environment"]},
        }
        job["StartedAt"] = _millis(self.now())
        ctx.log(f"batch {job['JobName']}: RUNNING ({job['JobId']})")
        with open(log_path, "ab") as log:
            try:
                # Spawned on the event loop's thread: see parent_death_signal.
                proc = await asyncio.create_subprocess_exec(
                    *container["Command"],
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    preexec_fn=parent_death_signal(signal.SIGTERM),
                )
            except OSError as exc:
                return self._finish(job, ctx, None, f"CannotStartContainerError: {exc}")
            if lease is not None:
                lease.record_child(proc.pid)
            try:
                code = await proc.wait()
            except BaseException:
                await terminate_group(proc, ctx.terminate_grace_seconds, ctx.stop_signal())
                self._finish(job, ctx, None, "Job terminated: the task was cancelled")
                raise
        # A container's exit code for a signal is 128 + signal number.
        exit_code = code if code >= 0 else 128 - code
        if exit_code != 0:
            _record_failure(container, message_path, log_path)
        message_path.unlink(missing_ok=True)
        return self._finish(job, ctx, exit_code, _ESSENTIAL_EXITED)

    def _finish(
        self, job: dict[str, Any], ctx: BindingContext, exit_code: int | None, reason: str
    ) -> dict[str, Any]:
        stopped = _millis(self.now())
        status = "SUCCEEDED" if exit_code == 0 else "FAILED"
        container = job["Container"]
        attempt_container: dict[str, Any] = {
            "LogStreamName": container["LogStreamName"],
            "NetworkInterfaces": [],
        }
        if exit_code is not None:
            container["ExitCode"] = exit_code
            attempt_container["ExitCode"] = exit_code
        if "Reason" in container:
            attempt_container["Reason"] = container["Reason"]
        job["StartedAt"] = job.get("StartedAt", stopped)
        job["Attempts"] = [
            {
                "Container": attempt_container,
                "StartedAt": job["StartedAt"],
                "StatusReason": reason,
                "StoppedAt": stopped,
            }
        ]
        job.update(Status=status, StatusReason=reason, StoppedAt=stopped)
        ctx.log(f"batch {job['JobName']}: {status} (exit {exit_code})")
        return job


def _record_failure(container: dict[str, Any], message_path: Path, log_path: Path) -> None:
    """``Container.Reason`` from the termination message, ``Container.LogTail`` from the output."""
    try:
        message = message_path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        message = ""
    if message:
        container["Reason"] = message[:_REASON_LIMIT]
    tail = _log_tail(log_path)
    if tail:
        container["LogTail"] = tail


def _log_tail(path: Path) -> str:
    """The last LOG_TAIL_LINES lines of the file (each cut at _TAIL_LINE_CHARS characters)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            size = log.tell()
            log.seek(max(0, size - _TAIL_BYTES))
            data = log.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line read is probably cut
    return "\n".join(line[:_TAIL_LINE_CHARS] for line in lines[-LOG_TAIL_LINES:])
