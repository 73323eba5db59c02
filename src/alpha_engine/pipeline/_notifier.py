"""The notifier: how a stage sends an operator notification itself (the ``NOTIFICATIONS`` resource).

Notifications are otherwise sent by the SNS Publish states of the generated definition; a stage
that has something to tell the operator mid-run (a demoted champion model, later an alarm) lists
``NOTIFICATIONS`` in ``requires`` and calls ``ctx.resource(NOTIFICATIONS).publish(subject, message)``.

Locally a :class:`Notifier` appends to the same outbox, in the same record, as the runtime's SNS
binding (``<workspace>/notifications/outbox.jsonl``, written by
:func:`alpha_engine.sfn.publish_to_outbox`). Like a store it obeys the rules of the stage process:
under a preflight-only run (a read-only registry) it refuses to publish, and given a write fence
it asks the fence right before publishing, so a stage attempt that is no longer current cannot
notify. Deployed (``[pipeline] notifications = "sns"``, which the CloudFormation template sets), it
publishes to the SNS topic itself through the boto3 client it is given, under the same checks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alpha_engine.store import WriteFence

__all__ = ["Notifier"]

# SNS refuses a Subject longer than this.
SUBJECT_MAX_CHARS = 100


@dataclass(frozen=True)
class Notifier:
    """Publishes operator notifications to ``topic`` through the outbox of ``workspace``.

    ``now`` and ``new_id`` give each record its timestamp and message id (the composition root
    passes the real clock and uuid4; tests pass fixed ones). ``read_only``: refuse every publish
    (a preflight-only run). ``fence``: asked right before each publish.
    """

    workspace: Path
    topic: str
    now: Callable[[], datetime]
    new_id: Callable[[], str]
    read_only: bool = False
    fence: WriteFence | None = None
    # A boto3 SNS client: publish to the topic itself (deployed) instead of the workspace's outbox.
    sns: Any = None

    def publish(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None:
        """Send ``message`` under ``subject`` to the topic, with string message ``attributes``
        (``dedup_key``: the delivery's dedup key, docs/notifications.md).

        Raises ValueError for a subject that is empty, longer than 100 characters or holds a line
        break or control character (SNS refuses those), or an empty message;
        :class:`~alpha_engine.store.ReadOnlyStoreError` under a preflight-only run;
        :class:`~alpha_engine.store.FencedWriteError` when the fence refuses. Nothing is written
        when it raises.
        """
        _check_subject(subject)
        if not message:
            raise ValueError(f"notification {subject!r}: the message is empty")
        if self.read_only:
            from alpha_engine.store import ReadOnlyStoreError

            raise ReadOnlyStoreError(
                f"notifications to {self.topic}: refused to publish {subject!r}: a stage must not notify "
                "in a preflight-only run (its resources are read-only); nothing was sent",
                key=subject, uri=self.topic)
        # Imported here so a stage process that never notifies never imports the runtime.
        from alpha_engine.sfn import publish_to_outbox

        if self.fence is not None:
            self.fence.check(self.topic, f"notification {subject!r}")
        if self.sns is not None:
            self.sns.publish(TopicArn=self.topic, Subject=subject, Message=message, MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in (attributes or {}).items()})
            return
        publish_to_outbox(self.workspace, topic=self.topic, subject=subject, message=message,
                          attributes=attributes, now=self.now(), message_id=self.new_id())


def _check_subject(subject: str) -> None:
    if not subject:
        raise ValueError("notification subject is empty (SNS needs 1 to 100 characters)")
    if len(subject) > SUBJECT_MAX_CHARS:
        raise ValueError(f"notification subject is {len(subject)} characters, SNS allows at most "
                         f"{SUBJECT_MAX_CHARS}: {subject[:40]!r}...")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in subject):
        raise ValueError(f"notification subject {subject!r} holds a line break or control character "
                         "(SNS refuses them)")
