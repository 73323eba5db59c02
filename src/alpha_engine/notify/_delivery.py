"""Delivering the outbox to its channels, once per message and channel, with dedup.

Each topic's outbox (``<workspace>/notifications/outbox.jsonl`` for ``alerts``, ``watchdog.jsonl``
for ``watchdog``: see ``_topics``) is a local SNS topic, and the configured channels are its
subscriptions: a channel gets the messages of the topics it lists in ``topics`` only.
:func:`deliver` reads every outbox message and, for each subscribed channel,
either sends it, suppresses it (the channel sent the same dedup key less than its dedup window
earlier, by outbox timestamps), or leaves it failed for the next call. The delivery log
(``<workspace>/notifications/deliveries.sqlite``, keyed by message id and channel) remembers what
was sent or suppressed, so a rerun, resume or redrive never sends a message twice. A failing
channel is recorded and reported, never raised.

The dedup key is the message attribute ``dedup_key`` when the sender set one, else the subject and
message text (which name the execution and its outcome).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alpha_engine.config import ChannelSettings

from ._channels import send
from ._errors import ChannelError
from ._topics import TOPICS

__all__ = ["DELIVERY_LOG", "Delivery", "DeliveryReport", "deliver", "failed_deliveries"]

# Relative to the workspace.
DELIVERY_LOG = Path("notifications") / "deliveries.sqlite"
DELIVERY_LOCK = Path("notifications") / "deliveries.lock"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sent', 'suppressed', 'failed')),
    dedup_key TEXT NOT NULL,
    message_timestamp TEXT NOT NULL,
    subject TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (message_id, channel)
)"""


@dataclass(frozen=True)
class Delivery:
    """What became of one message on one channel in one :func:`deliver` call."""

    message_id: str
    channel: str
    status: str  # sent | suppressed | failed
    subject: str
    error: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """Everything one :func:`deliver` call did; messages already done before it are not listed."""

    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.deliveries if item.status == status)

    @property
    def failed(self) -> list[Delivery]:
        return [item for item in self.deliveries if item.status == "failed"]

    def summary(self) -> str:
        return (f"{self.count('sent')} sent, {self.count('suppressed')} suppressed (dedup), "
                f"{self.count('failed')} failed")

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.count("sent"), "suppressed": self.count("suppressed"), "failed": self.count("failed"),
                "deliveries": [item.__dict__ for item in self.deliveries]}


def deliver(workspace: Path, channels: Sequence[ChannelSettings], *, env: Mapping[str, str],
            now: Callable[[], datetime], status_notices: Sequence[Mapping[str, Any]] = (),
            sender: Callable[[ChannelSettings, str, str, Mapping[str, str]], None] = send,
            topics: Sequence[str] | None = None) -> DeliveryReport:
    """Deliver every message of ``workspace``'s topics not yet sent or suppressed to each channel
    subscribed to its topic (``topics``: only these topics' outboxes; default all).

    ``status_notices`` (records from :func:`status_notice`) go, after the outbox, to the channels
    that set ``status_notices = true`` only, as upstream's status notifier adds to the topic's
    subscribers. ``env`` is where channels read their secrets; ``now`` stamps the delivery log; ``sender``
    sends one message (tests pass a fake). Never raises for a channel's failure: it is in the report
    and the log, and the next call retries it. Raises OSError/sqlite3 errors for an unreadable
    workspace only.
    """
    unknown = sorted(set(topics or ()) - set(TOPICS))
    if unknown:
        raise ValueError(f"notify: unknown topic(s) {', '.join(unknown)}; the topics are {', '.join(sorted(TOPICS))}")
    messages = [(topic, record) for topic in (topics or TOPICS) for record in _read_outbox(workspace / TOPICS[topic])]
    if not channels or not (messages or status_notices):
        return DeliveryReport()
    deliveries: list[Delivery] = []
    with _delivery_lock(workspace), _open_log(workspace) as log:
        for channel in channels:
            done = {row[0]: row[1] for row in log.execute(
                "SELECT message_id, status FROM deliveries WHERE channel = ?", (channel.name,))}
            subscribed = [record for topic, record in messages if topic in channel.topics]
            for record in [*subscribed, *(status_notices if channel.status_notices else ())]:
                message_id = str(record["message_id"])
                if done.get(message_id) in ("sent", "suppressed"):
                    continue
                deliveries.append(_deliver_one(log, channel, record, env, now, sender))
                log.commit()
    return DeliveryReport(deliveries)


def failed_deliveries(workspace: Path) -> list[dict[str, Any]]:
    """The delivery log's messages whose last attempt failed, oldest first (``[]`` without a log)."""
    path = workspace / DELIVERY_LOG
    if not path.exists():
        return []
    with _open_log(workspace) as log:
        rows = log.execute("SELECT message_id, channel, subject, attempts, error FROM deliveries "
                           "WHERE status = 'failed' ORDER BY message_timestamp, message_id, channel").fetchall()
    return [{"message_id": r[0], "channel": r[1], "subject": r[2], "attempts": r[3], "error": r[4]} for r in rows]


def _deliver_one(log: sqlite3.Connection, channel: ChannelSettings, record: Mapping[str, Any],
                 env: Mapping[str, str], now: Callable[[], datetime],
                 sender: Callable[[ChannelSettings, str, str, Mapping[str, str]], None]) -> Delivery:
    message_id, timestamp = str(record["message_id"]), str(record["timestamp"])
    subject, text = str(record.get("subject") or ""), str(record.get("message", ""))
    key = _dedup_key(record)
    status, error = "sent", None
    if _sent_within_window(log, channel, key, timestamp, message_id):
        status = "suppressed"
    else:
        try:
            sender(channel, subject, text, env)
        except ChannelError as exc:
            status, error = "failed", str(exc)
    log.execute(
        "INSERT INTO deliveries (message_id, channel, status, dedup_key, message_timestamp, subject, attempts, "
        "error, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (message_id, channel) DO UPDATE SET "
        "status = excluded.status, error = excluded.error, updated_at = excluded.updated_at, "
        "attempts = attempts + 1",
        (message_id, channel.name, status, key, timestamp, subject, error, now().isoformat()))
    return Delivery(message_id, channel.name, status, subject, error)


def _sent_within_window(log: sqlite3.Connection, channel: ChannelSettings, key: str, timestamp: str,
                        message_id: str) -> bool:
    if channel.dedup_window_seconds <= 0:
        return False
    rows = log.execute("SELECT message_timestamp FROM deliveries WHERE channel = ? AND dedup_key = ? "
                       "AND status = 'sent' AND message_id != ?", (channel.name, key, message_id)).fetchall()
    at = _parse(timestamp)
    return any(0 <= (at - _parse(row[0])).total_seconds() < channel.dedup_window_seconds for row in rows)


def _dedup_key(record: Mapping[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    given = attributes.get("dedup_key") if isinstance(attributes, dict) else None
    if isinstance(given, dict):
        given = given.get("StringValue")
    if isinstance(given, str) and given:
        return given
    text = json.dumps([record.get("topic"), record.get("subject"), record.get("message")], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _read_outbox(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line of a crashed writer; the complete lines are delivered
        if isinstance(record, dict) and record.get("message_id") and record.get("timestamp"):
            records.append(record)
    return records


@contextmanager
def _delivery_lock(workspace: Path) -> Iterator[None]:
    """One delivery at a time per workspace: two (a run's end and ``notify deliver``, say) would each
    read the log before the other wrote it and send the same message twice. A blocking ``flock`` on
    ``notifications/deliveries.lock``: the second waits, then finds the first one's rows ``sent``. The
    kernel drops it when its holder dies."""
    path = workspace / DELIVERY_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _open_log(workspace: Path) -> Iterator[sqlite3.Connection]:
    path = workspace / DELIVERY_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=30)
    try:
        connection.execute(_SCHEMA)
        yield connection
    finally:
        connection.close()
