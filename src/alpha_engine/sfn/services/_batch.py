"""Batch: ``arn:aws:states:::batch:submitJob[.sync]`` runs the job's command locally.

``ContainerOverrides.Command`` runs as a child process in its own process group, with the
engine's environment plus ``BindingContext.env`` plus ``ContainerOverrides.Environment`` and
the ``AWS_BATCH_*`` variables a container would see; stdout and stderr go to
``workspace/logs/batch/JOB_ID.log``. With ``.sync`` the task result is the job as
DescribeJobs shows it; a non-zero exit fails the task with ``States.TaskFailed`` whose cause
is that job (``Status: FAILED``) as JSON, as Step Functions reports a failed Batch job.
Without ``.sync`` the task returns ``{JobArn, JobId, JobName}`` at once and the job runs on in
the background until it ends or :meth:`BatchBinding.aclose` stops it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .._arn import LOCAL_ACCOUNT, LOCAL_REGION
from .._clock import IdSource, SystemClock
from .._errors import BindingError, StatesError
from ._aws import compact_json, http_date, sdk_metadata
from ._base import BindingContext, TaskRequest
from ._process import terminate_group

__all__ = ["BatchBinding"]

SUBMIT_JOB_ARN = "arn:aws:states:::batch:submitJob"
_ESSENTIAL_EXITED = "Essential container in task exited"


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
            task = asyncio.create_task(self._run(job, ctx))
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
        done = await self._run(job, ctx)
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

    async def _run(self, job: dict[str, Any], ctx: BindingContext) -> dict[str, Any]:
        """Run the job to its end and return its final description."""
        container = job["Container"]
        env = {
            **os.environ,
            **ctx.env,
            "AWS_BATCH_JOB_ID": job["JobId"],
            "AWS_BATCH_JQ_NAME": job["JobQueue"].rsplit("/", 1)[-1],
            "AWS_BATCH_JOB_ATTEMPT": "1",
            **{e["Name"]: e["Value"] for e in container["Environment"]},
        }
        log_dir = ctx.workspace / "logs" / "batch"
        log_dir.mkdir(parents=True, exist_ok=True)
        job["StartedAt"] = _millis(self.now())
        ctx.log(f"batch {job['JobName']}: RUNNING ({job['JobId']})")
        with open(log_dir / f"{job['JobId']}.log", "ab") as log:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *container["Command"],
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                return self._finish(job, ctx, None, f"CannotStartContainerError: {exc}")
            try:
                code = await proc.wait()
            except BaseException:
                await terminate_group(proc, ctx.terminate_grace_seconds)
                self._finish(job, ctx, None, "Job terminated: the task was cancelled")
                raise
        # A container's exit code for a signal is 128 + signal number.
        exit_code = code if code >= 0 else 128 - code
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
