"""Lambda: ``arn:aws:states:::lambda:invoke`` and plain ``arn:aws:lambda:...:function:NAME``.

The handler (``module:function`` from ``BindingContext.functions``) runs in a child process
(:mod:`._lambda_child`) so a crash, ``os._exit`` or an OOM kill fails the task, not the
engine. Result and error shapes follow AWS:

* ``lambda:invoke`` returns ``{ExecutedVersion, Payload, SdkHttpMetadata, SdkResponseMetadata,
  StatusCode}``; a plain function ARN returns the handler's value itself.
* An exception in the handler fails the task with error = the exception's type name and
  cause = Lambda's error JSON ``{"errorMessage", "errorType", "requestId", "stackTrace"}``
  (compact for ``lambda:invoke``, ``", "``-separated for a function ARN, as AWS renders them).
* A child that dies (exit code, signal) fails with ``Runtime.ExitError``, Lambda's own name
  for a runtime that exited, e.g. ``Runtime exited with error: signal: killed``.

The child is its Task attempt's process: it gets the attempt's lease in its environment and is
recorded on the lease (see ``_base.ChildLease``). It is sent SIGTERM if the engine dies
(parent-death signal, see :mod:`._process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .._arn import LOCAL_ACCOUNT, LOCAL_REGION
from .._clock import IdSource, SystemClock
from .._errors import BindingError, StatesError
from ._aws import http_date, sdk_metadata, v1_cause
from ._base import BindingContext, TaskRequest
from ._process import describe_exit, kill_group, parent_death_signal, terminate_group

__all__ = ["LambdaBinding"]

INVOKE_ARN = "arn:aws:states:::lambda:invoke"
_FUNCTION_ARN = re.compile(r"^arn:[\w-]+:lambda:([^:]*):([^:]*):function:([^:]+)(?::([^:]+))?$")
_CHILD = str(Path(__file__).with_name("_lambda_child.py"))
_DEFAULT_TIMEOUT_MS = 900_000  # Lambda's maximum, when the Task sets no TimeoutSeconds


def _parse_function_ref(ref: str) -> tuple[str, str | None, str | None, str | None]:
    """``(name, qualifier, region, account)`` from a name, ``name:qual``, full or partial ARN."""
    match = _FUNCTION_ARN.match(ref)
    if match:
        region, account, name, qualifier = match.groups()
        return name, qualifier, region, account
    parts = ref.split(":")
    if len(parts) >= 3 and parts[1] == "function":  # '<account>:function:name[:qualifier]'
        return parts[2], (parts[3] if len(parts) > 3 else None), None, parts[0]
    return parts[0], (parts[1] if len(parts) > 1 else None), None, None


class LambdaBinding:
    """Runs Lambda handlers locally in child processes (see module docstring)."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        new_id: Callable[[], str] | None = None,
        region: str = LOCAL_REGION,
        account: str = LOCAL_ACCOUNT,
        python: str = sys.executable,
    ) -> None:
        # The engine passes its clock and id source; a binding used on its own gets real ones.
        self.now = now or SystemClock().now
        self.new_id = new_id or IdSource().uuid
        self.region = region
        self.account = account
        self.python = python

    def matches(self, resource: str) -> bool:
        return resource == INVOKE_ARN or _FUNCTION_ARN.match(resource) is not None

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        request_id = self.new_id()
        if request.resource == INVOKE_ARN:
            return await self._invoke_service(request, ctx, request_id)
        payload_text = json.dumps(request.parameters)
        handler, name, arn = self._resolve(request.resource, ctx, request_id)
        raw = await self._run(handler, name, arn, payload_text, request, ctx, request_id, compact=False)
        return json.loads(raw)

    async def _invoke_service(self, request: TaskRequest, ctx: BindingContext, request_id: str) -> Any:
        params = request.parameters
        if not isinstance(params, dict) or not isinstance(params.get("FunctionName"), str):
            raise BindingError(
                f"lambda:invoke in state {request.state_name!r} needs a string FunctionName parameter"
            )
        invocation_type = params.get("InvocationType", "RequestResponse")
        if invocation_type != "RequestResponse":
            raise BindingError(
                f"lambda:invoke InvocationType {invocation_type!r} is not supported locally "
                f"(state {request.state_name!r}); only RequestResponse"
            )
        payload = params.get("Payload", {})
        if isinstance(payload, str):
            # A string Payload is the request body verbatim, so it must itself be JSON text.
            try:
                json.loads(payload)
            except ValueError as exc:
                message = f"Could not parse request body into json: {exc}"
                cause = v1_cause(message, "AWSLambda", 400, "InvalidRequestContentException", request_id)
                raise StatesError("Lambda.InvalidRequestContentException", cause, in_state=False) from None
            payload_text = payload
        else:
            payload_text = json.dumps(payload)
        handler, name, arn = self._resolve(params["FunctionName"], ctx, request_id)
        raw = await self._run(handler, name, arn, payload_text, request, ctx, request_id, compact=True)
        headers = {
            "Connection": "keep-alive",
            "Content-Length": str(len(raw.encode())),
            "Content-Type": "application/json",
            "Date": http_date(self.now()),
            "X-Amz-Executed-Version": "$LATEST",
            "X-Amzn-Trace-Id": f"Root=1-{request_id.replace('-', '')[:8]}-{request_id.replace('-', '')[8:]}",
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": request_id,
        }
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": json.loads(raw),
            **sdk_metadata(headers, request_id),
            "StatusCode": 200,
        }

    def _resolve(self, ref: str, ctx: BindingContext, request_id: str) -> tuple[str, str, str]:
        """``(handler spec, function name, function ARN)``; ResourceNotFound if unmapped."""
        name, qualifier, region, account = _parse_function_ref(ref)
        arn = f"arn:aws:lambda:{region or self.region}:{account or self.account}:function:{name}"
        handler = ctx.functions.get(ref) or _lookup_by_name(ctx.functions, name)
        if handler is None:
            message = f"Function not found: {arn}:{qualifier or '$LATEST'}"
            cause = v1_cause(message, "AWSLambda", 404, "ResourceNotFoundException", request_id)
            raise StatesError("Lambda.ResourceNotFoundException", cause, in_state=False)
        return handler, name, arn

    async def _run(
        self,
        handler: str,
        name: str,
        arn: str,
        payload_text: str,
        request: TaskRequest,
        ctx: BindingContext,
        request_id: str,
        *,
        compact: bool,
    ) -> str:
        """Run the handler in a child; return the JSON text of its result or raise its error."""
        timeout_ms = int(request.timeout_seconds * 1000) if request.timeout_seconds else _DEFAULT_TIMEOUT_MS
        lease_env = request.lease.env if request.lease is not None else {}
        env = {**os.environ, **ctx.env, **lease_env, "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_REGION": self.region}
        # Spawned on the event loop's thread: see parent_death_signal.
        proc = await asyncio.create_subprocess_exec(
            self.python,
            _CHILD,
            handler,
            name,
            arn,
            request_id,
            str(timeout_ms),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=parent_death_signal(signal.SIGTERM),
        )
        if request.lease is not None:
            request.lease.record_child(proc.pid)
        try:
            out, err = await proc.communicate(payload_text.encode())
        except BaseException:
            # Stopped (timeout, abort): keep reading its pipes so it can finish writing while it
            # handles SIGTERM, then kill whatever is left.
            drains = [asyncio.ensure_future(_drain(s)) for s in (proc.stdout, proc.stderr)]
            await terminate_group(proc, ctx.terminate_grace_seconds, ctx.stop_signal())
            for drain in drains:
                drain.cancel()
            raise
        # Lambda freezes the sandbox after a response: nothing the handler forked keeps running.
        await kill_group(proc)
        self._write_log(ctx, name, request_id, err)
        envelope = _read_envelope(out)
        if proc.returncode != 0 or envelope is None:
            code = proc.returncode if proc.returncode is not None else -9
            message = f"RequestId: {request_id} Error: Runtime exited with error: {describe_exit(code)}"
            ctx.log(f"lambda {name}: {message}")
            error = {"errorMessage": message, "errorType": "Runtime.ExitError"}
            raise StatesError("Runtime.ExitError", _dump(error, compact), in_state=False)
        if "error" in envelope:
            error = envelope["error"]
            ctx.log(f"lambda {name}: {error['errorType']}: {error['errorMessage']}")
            raise StatesError(str(error["errorType"]), _dump(error, compact), in_state=False)
        return str(envelope["result"])

    def _write_log(self, ctx: BindingContext, name: str, request_id: str, err: bytes) -> None:
        """Append the invocation's stderr to ``workspace/logs/lambda/NAME.log``, CloudWatch style."""
        log_dir = ctx.workspace / "logs" / "lambda"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / f"{name}.log", "ab") as log:
            log.write(f"START RequestId: {request_id} Version: $LATEST\n".encode())
            log.write(err)
            log.write(f"END RequestId: {request_id}\n".encode())


async def _drain(stream: asyncio.StreamReader | None) -> None:
    if stream is None:
        return
    with contextlib.suppress(Exception):
        while await stream.read(65536):
            pass


def _lookup_by_name(functions: Mapping[str, str], name: str) -> str | None:
    for key, handler in functions.items():
        if _parse_function_ref(key)[0] == name:
            return handler
    return None


def _read_envelope(out: bytes) -> dict[str, Any] | None:
    try:
        envelope = json.loads(out)
    except ValueError:
        return None
    return envelope if isinstance(envelope, dict) and ("result" in envelope or "error" in envelope) else None


def _dump(error: dict[str, Any], compact: bool) -> str:
    return json.dumps(error, separators=(",", ":") if compact else (", ", ": "))
