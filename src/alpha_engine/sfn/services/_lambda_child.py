"""Run one Lambda handler in this (child) process: ``python _lambda_child.py SPEC NAME ARN RID MS``.

Run as a script, not with ``-m``, so starting it does not import the alpha_engine package:
only the standard library modules below load before the handler's own module. The event
arrives as JSON on stdin; one JSON envelope goes back on the original stdout, which the
handler cannot reach: its own prints go to stderr, the function's log.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

__all__ = ["LambdaContext", "main"]


class LambdaContext:
    """The handler's ``context`` argument: the attributes handlers commonly read."""

    def __init__(self, name: str, arn: str, request_id: str, timeout_ms: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = "1024"
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = f"local/[$LATEST]{request_id.replace('-', '')}"
        self._deadline = time.monotonic() + timeout_ms / 1000.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(message: str, error_type: str, request_id: str, trace: list[str]) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def _run(spec: str, event_text: str, context: LambdaContext) -> dict[str, Any]:
    module_name, sep, func_name = spec.partition(":")
    if not sep:  # Lambda's own 'module.function' spelling
        module_name, _, func_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        return {
            "error": _error(
                f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError", "", []
            )
        }
    handler = getattr(module, func_name, None)
    if not callable(handler):
        message = f"Handler '{func_name}' missing on module '{module_name}'"
        return {"error": _error(message, "Runtime.HandlerNotFound", "", [])}
    try:
        result = handler(json.loads(event_text), context)
    except Exception as exc:
        # Drop our own frame: AWS's stackTrace starts at the handler.
        frames = traceback.extract_tb(exc.__traceback__)[1:]
        trace = traceback.format_list(frames)
        return {"error": _error(str(exc), type(exc).__name__, context.aws_request_id, trace)}
    try:
        return {"result": json.dumps(result)}
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return {"error": _error(message, "Runtime.MarshalError", context.aws_request_id, [])}


def main(argv: list[str]) -> int:
    spec, name, arn, request_id, timeout_ms = argv[1:6]
    # Keep the real stdout for the envelope; everything the handler prints goes to stderr.
    reply = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Import handlers like 'python -m' would (cwd first), not from this package's directory.
    sys.path[0] = os.getcwd()
    event_text = sys.stdin.read()
    envelope = _run(spec, event_text, LambdaContext(name, arn, request_id, int(timeout_ms)))
    sys.stdout.flush()
    reply.write(json.dumps(envelope))
    reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
