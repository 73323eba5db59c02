"""The NOTIFICATIONS resource: a stage's own operator notification lands in the outbox as the very
record the SNS binding writes; never in a preflight-only run, never past the fence, never torn by
a concurrent publisher, and only with a subject SNS would take."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings
from alpha_engine.pipeline import (
    NOTIFICATIONS,
    Compute,
    FailureClass,
    Notifier,
    PipelineApp,
    Stage,
    StageContext,
    StageDefinitionError,
    StageGraph,
    StageOutcome,
    run_stage,
)
from alpha_engine.sfn.services import BindingContext, SnsBinding, TaskRequest
from alpha_engine.store import FencedWriteError, ReadOnlyStoreError

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
CLOCK = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
DAY = date(2026, 11, 21)


class Notify(Stage[Any]):
    """Publishes one notification in its run (and, when told to, in its preflight)."""

    name, slug = "Notify", "notify"
    failure_class, compute, timeout_seconds = FailureClass.SOFT, Compute.LAMBDA, 60
    requires = (NOTIFICATIONS,)

    def preflight(self, ctx: StageContext[Any]) -> None:
        if ctx.preflight_only:
            ctx.resource(NOTIFICATIONS).publish("Champion demoted", "from the preflight")

    def run(self, ctx: StageContext[Any]) -> StageOutcome | None:
        ctx.resource(NOTIFICATIONS).publish("Champion demoted", "model m-7 demoted: IC below floor")
        return None


class Silent(Notify):
    name, slug = "Silent", "silent"
    requires = ()


APP = PipelineApp(graph=StageGraph(title="Notify", steps=(Notify, Silent)), resources=RESOURCES)


def _outbox(workspace: Path) -> list[dict[str, Any]]:
    path = workspace / "notifications" / "outbox.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _notifier(workspace: Path, **kwargs: Any) -> Notifier:
    return Notifier(workspace, TOPIC, now=lambda: CLOCK, new_id=lambda: "id-1", **kwargs)


class _Fence:
    def __init__(self, *, allow: bool) -> None:
        self.allow = allow
        self.checked: list[tuple[str, str]] = []

    def check(self, store: str, key: str) -> None:
        self.checked.append((store, key))
        if not self.allow:
            raise FencedWriteError(f"{store}: refused to write {key}: superseded", key=key, uri=store,
                                   reason="superseded")


def test_a_notification_is_byte_for_byte_the_record_the_sns_binding_writes(tmp_path: Path) -> None:
    by_stage, by_state = tmp_path / "stage", tmp_path / "state"
    _notifier(by_stage).publish("Champion demoted", "model m-7 demoted")
    binding = SnsBinding(now=lambda: CLOCK, new_id=lambda: "id-1")
    params = {"TopicArn": TOPIC, "Subject": "Champion demoted", "Message": "model m-7 demoted"}
    ctx = BindingContext(workspace=by_state, log=lambda line: None)
    asyncio.run(binding.invoke(TaskRequest("arn:aws:states:::sns:publish", "request-response", params, "arn:e", "S"),
                               ctx))
    outbox = Path("notifications") / "outbox.jsonl"
    assert (by_stage / outbox).read_bytes() == (by_state / outbox).read_bytes()
    assert _outbox(by_stage) == [{"timestamp": "2026-11-21T09:30:00.000Z", "message_id": "id-1", "topic": TOPIC,
                                  "subject": "Champion demoted", "message": "model m-7 demoted", "attributes": {}}]


_PUBLISHER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from alpha_engine.pipeline import Notifier

workspace, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ids = iter(range(count))
notifier = Notifier(workspace, "arn:aws:sns:us-east-1:123456789012:alerts",
                    now=lambda: datetime.now(UTC), new_id=lambda: f"{tag}-{next(ids)}")
for n in range(count):
    notifier.publish(f"{tag} {n}", tag * 100_000)
"""


def test_two_processes_publishing_at_once_never_interleave_lines(tmp_path: Path) -> None:
    count = 40
    children = [subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(tmp_path), tag, str(count)],
                                 env={**os.environ}) for tag in ("a", "b")]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    records = _outbox(tmp_path)  # every line parses: none is torn or mixed
    assert sorted(r["message_id"] for r in records) == sorted(f"{t}-{n}" for t in "ab" for n in range(count))
    assert all(r["message"] == r["message_id"][0] * 100_000 for r in records)


def test_a_preflight_only_registry_refuses_to_notify_and_writes_nothing(test_settings: Settings) -> None:
    notifier = APP.open_resources(test_settings, read_only=True, stage=Notify).get(NOTIFICATIONS)
    with pytest.raises(ReadOnlyStoreError, match="a stage must not notify in a preflight-only run"):
        notifier.publish("Champion demoted", "x")
    assert not (test_settings.workspace / "notifications").exists()


def test_a_fence_that_refuses_means_nothing_is_written(tmp_path: Path) -> None:
    fence = _Fence(allow=False)
    with pytest.raises(FencedWriteError, match="superseded"):
        _notifier(tmp_path, fence=fence).publish("Champion demoted", "x")
    assert fence.checked == [(TOPIC, "notification 'Champion demoted'")]
    assert not (tmp_path / "notifications").exists()


def test_a_fence_that_allows_is_asked_once_per_publish(tmp_path: Path) -> None:
    fence = _Fence(allow=True)
    notifier = _notifier(tmp_path, fence=fence)
    notifier.publish("one", "x")
    notifier.publish("two", "y")
    assert [key for _, key in fence.checked] == ["notification 'one'", "notification 'two'"]
    assert [r["subject"] for r in _outbox(tmp_path)] == ["one", "two"]


@pytest.mark.parametrize(("subject", "message"), [
    ("", "subject is empty"),
    ("x" * 101, "subject is 101 characters, SNS allows at most 100"),
    ("two\nlines", "line break or control character"),
])
def test_a_subject_sns_would_refuse_is_an_error_and_nothing_is_written(
        tmp_path: Path, subject: str, message: str) -> None:
    fence = _Fence(allow=True)
    with pytest.raises(ValueError, match=message):
        _notifier(tmp_path, fence=fence).publish(subject, "x")
    assert fence.checked == [] and not (tmp_path / "notifications").exists()


def test_a_subject_of_exactly_100_characters_is_sent(tmp_path: Path) -> None:
    _notifier(tmp_path).publish("x" * 100, "body")
    assert [r["subject"] for r in _outbox(tmp_path)] == ["x" * 100]


def test_an_empty_message_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="the message is empty"):
        _notifier(tmp_path).publish("Champion demoted", "")


def test_the_wired_notifier_writes_the_workspace_outbox_for_the_settings_topic(test_settings: Settings) -> None:
    notifier = APP.open_resources(test_settings, read_only=False, stage=Notify).get(NOTIFICATIONS)
    assert (notifier.workspace, notifier.topic) == (test_settings.workspace, test_settings.pipeline.sns_topic_arn)
    notifier.publish("a", "x")
    notifier.publish("b", "y")
    first, second = _outbox(test_settings.workspace)
    assert first["message_id"] != second["message_id"]
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None


def test_a_stage_that_does_not_require_notifications_cannot_notify(test_settings: Settings) -> None:
    resources = APP.open_resources(test_settings, read_only=False, stage=Silent)
    with pytest.raises(StageDefinitionError, match="Silent uses resource 'notifications' but does not list it"):
        resources.get(NOTIFICATIONS)


def test_a_stage_run_notifies_and_its_preflight_only_run_fails_without_notifying(test_settings: Settings) -> None:
    shell = run_stage("notify", DAY, settings=test_settings, app=APP, preflight_only=True)
    assert shell.status == "preflight_failed"
    assert "must not notify in a preflight-only run" in (shell.error or "")
    assert _outbox(test_settings.workspace) == []
    real = run_stage("notify", DAY, settings=test_settings, app=APP)
    assert real.status == "ok", real.error
    assert [(r["subject"], r["topic"]) for r in _outbox(test_settings.workspace)] == [
        ("Champion demoted", test_settings.pipeline.sns_topic_arn)]
