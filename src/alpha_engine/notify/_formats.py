"""The execution status notice: one place for the wording of succeeded / failed / aborted / timed out.

As upstream's status notifier: a success names its duration; a failure its duration and
``error: cause``, cut to :data:`FAILURE_DETAIL_MAX_CHARS`; an abort and a timeout say so; a shell
run is labelled "Preflight" so it is never mistaken for the real run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["FAILURE_DETAIL_MAX_CHARS", "execution_status_notice", "status_notice"]

FAILURE_DETAIL_MAX_CHARS = 280
_WORDS = {"SUCCEEDED": "succeeded", "FAILED": "FAILED", "ABORTED": "ABORTED", "TIMED_OUT": "TIMED OUT"}


def execution_status_notice(*, title: str, execution: str, status: str, seconds: float | None,
                            shell_run: bool = False, error: str | None = None,
                            cause: str | None = None) -> tuple[str, str]:
    """The ``(subject, message)`` telling the operator that ``execution`` of the ``title`` pipeline
    ended with ``status``. Raises ValueError for a status that is not an ending one."""
    if status not in _WORDS:
        raise ValueError(f"execution {execution}: status {status!r} is not an ending status "
                         f"(one of {', '.join(_WORDS)})")
    label = f"{title} Preflight" if shell_run else title
    subject = f"Alpha Engine {label} Pipeline — {_WORDS[status]}"
    lines = [f"{label} pipeline execution {execution}: {_WORDS[status]}"]
    if seconds is not None and status in ("SUCCEEDED", "FAILED"):
        lines.append(f"duration: {_duration(seconds)}")
    if status == "FAILED":
        detail = f"{error or 'unknown error'}: {cause or ''}".rstrip(": ")
        if len(detail) > FAILURE_DETAIL_MAX_CHARS:
            detail = detail[:FAILURE_DETAIL_MAX_CHARS - 1] + "…"
        lines.append(f"error: {detail}")
    return subject, "\n".join(lines)


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def status_notice(described: Mapping[str, Any], *, title: str) -> dict[str, Any] | None:
    """The status notice of an ended execution, as an outbox-shaped record; None while it runs.

    ``described`` is DescribeExecution's shape. The message id names the execution, its status and
    its stop time, so a redrive's new ending is a new notice and a repeated delivery is not.
    """
    status, stopped = str(described.get("status", "")), described.get("stopDate")
    if status not in _WORDS or not isinstance(stopped, str):
        return None
    try:
        given = json.loads(described.get("input") or "{}")
    except (TypeError, ValueError):
        given = {}
    shell_run = bool(isinstance(given, dict) and given.get("shell_run"))
    seconds = (_when(stopped) - _when(str(described["startDate"]))).total_seconds() if described.get(
        "startDate") else None
    subject, message = execution_status_notice(
        title=title, execution=str(described["name"]), status=status, seconds=seconds, shell_run=shell_run,
        error=described.get("error"), cause=described.get("cause"))
    return {"timestamp": stopped, "message_id": f"status:{described['name']}:{status}:{stopped}",
            "topic": "execution-status", "subject": subject, "message": message, "attributes": {}}


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
