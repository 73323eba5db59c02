"""AWS-shaped execution history events.

Events are plain dicts in the shape of ``GetExecutionHistory``: ``id``, ``previousEventId``,
``timestamp``, ``type`` and one ``<camelType>EventDetails`` object. Payloads inside details are
JSON *strings*, as AWS returns them. In memory the timestamp is epoch seconds (a float, cheap to
take per event); :func:`export_event` renders it as AWS does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["details_key", "export_event"]

# Event type -> details key, filled as event types are first seen.
_DETAILS_KEY: dict[str, str] = {}


def details_key(event_type: str) -> str:
    """``TaskStateEntered`` -> ``stateEnteredEventDetails``; ``TaskScheduled`` ->
    ``taskScheduledEventDetails``; ``MapIterationStarted`` -> ``mapIterationStartedEventDetails``."""
    cached = _DETAILS_KEY.get(event_type)
    if cached is not None:
        return cached
    if event_type.endswith("StateEntered"):
        key = "stateEnteredEventDetails"
    elif event_type.endswith("StateExited"):
        key = "stateExitedEventDetails"
    else:
        key = event_type[0].lower() + event_type[1:] + "EventDetails"
    _DETAILS_KEY[event_type] = key
    return key


def export_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as ``GetExecutionHistory`` returns it (timestamp as ISO-8601)."""
    out = dict(event)
    ts = out.get("timestamp")
    if isinstance(ts, (int, float)):
        moment = datetime.fromtimestamp(ts, UTC)
        out["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return out
