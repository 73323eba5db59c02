"""SNS: ``arn:aws:states:::sns:publish`` (and ``aws-sdk:sns:publish``) into a local outbox.

Each publish appends one JSON line ``{"timestamp", "message_id", "topic", "subject",
"message", "attributes"}`` to ``workspace/notifications/outbox.jsonl``: one ``write`` under an
exclusive ``flock`` on an ``O_APPEND`` descriptor, then ``fsync``, so concurrent publishers
never interleave and an acknowledged message survives a crash. ``ctx.log`` shows the subject.
A JSON (non-string) ``Message`` is sent as its compact JSON text, as Step Functions does.

:func:`publish_to_outbox` is the one writer of that record (exported as
``alpha_engine.sfn.publish_to_outbox``): the binding uses it, and so do senders outside a state
machine (a stage's notifier, ``alpha_engine.pipeline.Notifier``).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .._clock import IdSource, SystemClock
from .._errors import StatesError
from ._aws import (
    compact_json,
    http_date,
    iso_timestamp,
    sdk_metadata,
    v1_cause,
    v2_cause,
)
from ._base import BindingContext, TaskRequest

__all__ = ["SnsBinding", "publish_to_outbox"]

PUBLISH_ARN = "arn:aws:states:::sns:publish"
SDK_PUBLISH_ARN = "arn:aws:states:::aws-sdk:sns:publish"
# SNS answers publish with a fixed-size XML document (ids have fixed widths), so its length
# is a constant: 294 bytes, 352 with the SequenceNumber of a FIFO topic.
_XML_LENGTH, _XML_LENGTH_FIFO = 294, 352
# Where the outbox lives, relative to the workspace.
_OUTBOX = Path("notifications") / "outbox.jsonl"


class SnsBinding:
    """Publishes to ``workspace/notifications/outbox.jsonl`` (see module docstring)."""

    def __init__(
        self, *, now: Callable[[], datetime] | None = None, new_id: Callable[[], str] | None = None
    ) -> None:
        # The engine passes its clock and id source; a binding used on its own gets real ones.
        self.now = now or SystemClock().now
        self.new_id = new_id or IdSource().uuid
        self._sequence = 0

    def matches(self, resource: str) -> bool:
        return resource in (PUBLISH_ARN, SDK_PUBLISH_ARN)

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        sdk = request.resource == SDK_PUBLISH_ARN
        request_id = self.new_id()
        params = request.parameters if isinstance(request.parameters, dict) else {}
        topic = params.get("TopicArn") or params.get("TargetArn")
        if not isinstance(topic, str) or not topic:
            reason = "TopicArn or TargetArn Reason: no value for required parameter"
            raise self._invalid(reason, sdk, request_id)
        if params.get("Message") is None:
            raise self._invalid("Message Reason: no value for required parameter", sdk, request_id)
        fifo = topic.endswith(".fifo")
        if fifo and not params.get("MessageGroupId"):
            reason = "The MessageGroupId parameter is required for FIFO topics"
            raise self._invalid(reason, sdk, request_id)
        message = params["Message"]
        text = message if isinstance(message, str) else compact_json(message)
        subject = params.get("Subject")
        message_id = self.new_id()
        now = self.now()
        publish_to_outbox(ctx.workspace, topic=topic, subject=subject, message=text,
                          attributes=params.get("MessageAttributes"), now=now, message_id=message_id)
        ctx.log(f"sns {topic.rsplit(':', 1)[-1]}: {subject if subject else text[:80]}")
        result: dict[str, Any] = {"MessageId": message_id}
        if fifo:
            self._sequence += 1
            result["SequenceNumber"] = f"{self._sequence:020d}"
        if sdk:
            return result
        headers = {
            "Content-Length": str(_XML_LENGTH_FIFO if fifo else _XML_LENGTH),
            "Content-Type": "text/xml",
            "Date": http_date(now),
            "connection": "keep-alive",
            "x-amzn-RequestId": request_id,
        }
        return {**result, **sdk_metadata(headers, request_id)}

    @staticmethod
    def _invalid(reason: str, sdk: bool, request_id: str) -> StatesError:
        message = f"Invalid parameter: {reason}"
        if sdk:
            cause = v2_cause(message, "Sns", 400, request_id)
            return StatesError("Sns.InvalidParameterException", cause, in_state=False)
        cause = v1_cause(message, "AmazonSNS", 400, "InvalidParameter", request_id)
        return StatesError("SNS.InvalidParameterException", cause, in_state=False)


def publish_to_outbox(workspace: Path, *, topic: str, subject: str | None, message: str,
                      attributes: Mapping[str, Any] | None = None, now: datetime,
                      message_id: str) -> dict[str, Any]:
    """Append one notification record to ``workspace/notifications/outbox.jsonl`` and return it.

    The record is ``{"timestamp", "message_id", "topic", "subject", "message", "attributes"}``
    (``timestamp`` is ``now`` as ``2024-11-23T10:50:00.000Z``, ``attributes`` ``{}`` when none),
    written as one line in one ``write`` under ``flock``, then ``fsync``ed. The caller validates
    the parameters and supplies the time and the id, so the same inputs write the same line.
    """
    record: dict[str, Any] = {
        "timestamp": iso_timestamp(now),
        "message_id": message_id,
        "topic": topic,
        "subject": subject,
        "message": message,
        "attributes": dict(attributes) if attributes else {},
    }
    _append_line(Path(workspace) / _OUTBOX, json.dumps(record, ensure_ascii=False))
    return record


def _append_line(path: os.PathLike[str], line: str) -> None:
    """Append ``line`` + newline atomically and durably (single write, flock, fsync)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = (line + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
