"""Topics: the local SNS topics a message is published to, each its own outbox file.

``alerts`` is the pipeline's topic (``<workspace>/notifications/outbox.jsonl``, written by the
SNS binding and the stages' notifier). ``watchdog`` is the watchdog's own topic
(``<workspace>/notifications/watchdog.jsonl``), as upstream keeps ``alpha-engine-watchdog-alerts``
apart from ``alpha-engine-alerts``: a channel gets a topic's messages only when it subscribes to it
(``topics`` in ``[[notify.channels]]``, default ``["alerts"]``), so the watchdog's alert never
depends on the pipeline's channel, nor floods it.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ALERTS_TOPIC", "TOPICS", "WATCHDOG_TOPIC", "publish_to_topic"]

ALERTS_TOPIC = "alerts"
WATCHDOG_TOPIC = "watchdog"
# Topic -> its outbox, relative to the workspace.
TOPICS: dict[str, Path] = {
    ALERTS_TOPIC: Path("notifications") / "outbox.jsonl",
    WATCHDOG_TOPIC: Path("notifications") / "watchdog.jsonl",
}
# The name the watchdog topic's records carry (upstream's SNS topic).
_TOPIC_NAMES = {ALERTS_TOPIC: "alpha-engine-alerts", WATCHDOG_TOPIC: "alpha-engine-watchdog-alerts"}


def publish_to_topic(workspace: Path, topic: str, *, subject: str, message: str, dedup_key: str,
                     now: datetime, message_id: str, dedup_window_seconds: float = 0.0) -> dict[str, Any] | None:
    """Append one message to ``topic``'s outbox and return its record, or None when the topic already
    holds a message with ``dedup_key`` published less than ``dedup_window_seconds`` before ``now``.

    The record has the outbox's fields (``timestamp``, ``message_id``, ``topic``, ``subject``,
    ``message``, ``attributes`` with ``dedup_key``); the read and the append happen under one
    exclusive ``flock``, and the line is written in one ``write`` and ``fsync``ed.
    """
    if topic not in TOPICS:
        raise ValueError(f"notify: unknown topic {topic!r}; the topics are {', '.join(sorted(TOPICS))}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"notify: the publish time must be timezone-aware, got {now!r}")
    path = Path(workspace) / TOPICS[topic]
    record: dict[str, Any] = {
        "timestamp": now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "message_id": message_id,
        "topic": _TOPIC_NAMES[topic],
        "subject": subject,
        "message": message,
        "attributes": {"dedup_key": dedup_key},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if dedup_window_seconds > 0 and _published_within(fd, dedup_key, now, dedup_window_seconds):
            return None
        view = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return record


def _published_within(fd: int, dedup_key: str, now: datetime, seconds: float) -> bool:
    with os.fdopen(os.dup(fd), "r", encoding="utf-8") as handle:
        handle.seek(0)
        lines = handle.read().splitlines()
    for line in lines:
        try:
            record = json.loads(line)
            key = (record.get("attributes") or {}).get("dedup_key")
            at = datetime.fromisoformat(str(record["timestamp"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, AttributeError, TypeError):
            continue  # a torn line of a crashed writer
        if key == dedup_key and 0 <= (now - at).total_seconds() < seconds:
            return True
    return False
