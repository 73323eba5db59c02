"""Topics: a channel gets the messages of the topics it subscribes to, and no others.

The pipeline's notices go to the ``alerts`` topic (the outbox), the watchdog's alerts to the
``watchdog`` topic (its own outbox), as upstream keeps ``alpha-engine-watchdog-alerts`` apart.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_servers import webhook_server
from pydantic import TypeAdapter, ValidationError

from alpha_engine.config import ChannelSettings
from alpha_engine.notify import TOPICS, WATCHDOG_TOPIC, deliver, publish_to_topic
from alpha_engine.sfn import publish_to_outbox

T0 = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)


def channel(**fields: Any) -> ChannelSettings:
    adapter: TypeAdapter[ChannelSettings] = TypeAdapter(ChannelSettings)
    return adapter.validate_python(fields)


def pipeline_notice(workspace: Path) -> None:
    publish_to_outbox(workspace, topic="arn:aws:sns:us-east-1:111111111111:alpha-engine-alerts",
                      subject="Alpha Engine Saturday Pipeline — FAILED", message="Backtester failed", now=T0,
                      message_id="p1")


def watchdog_alert(workspace: Path, at: datetime = T0, message_id: str = "w1") -> dict[str, Any] | None:
    return publish_to_topic(workspace, WATCHDOG_TOPIC, subject="Alpha Engine watchdog — saturday pipeline never "
                            "started", message="no execution started", dedup_key="watchdog:saturday:2026-12-05",
                            now=at, message_id=message_id, dedup_window_seconds=12 * 3600)


def test_each_channel_gets_only_its_topics(tmp_path: Path) -> None:
    pipeline_notice(tmp_path)
    watchdog_alert(tmp_path)
    with webhook_server() as alerts, webhook_server() as watchdog, webhook_server() as both:
        env = {"ALERTS": alerts.url, "WATCHDOG": watchdog.url, "BOTH": both.url}
        channels = [channel(kind="webhook", name="alerts", url_env="ALERTS"),
                    channel(kind="webhook", name="watchdog", url_env="WATCHDOG", topics=["watchdog"]),
                    channel(kind="webhook", name="both", url_env="BOTH", topics=["alerts", "watchdog"])]
        report = deliver(tmp_path, channels, env=env, now=lambda: T0)
    assert [(d.channel, d.message_id) for d in report.deliveries] == [
        ("alerts", "p1"), ("watchdog", "w1"), ("both", "p1"), ("both", "w1")]
    assert [b["text"].split("\n")[0] for b in alerts.bodies] == ["Alpha Engine Saturday Pipeline — FAILED"]
    assert [b["text"].split("\n")[0] for b in watchdog.bodies] == [
        "Alpha Engine watchdog — saturday pipeline never started"]
    assert len(both.bodies) == 2


def test_delivering_one_topic_leaves_the_others_pending(tmp_path: Path) -> None:
    pipeline_notice(tmp_path)
    watchdog_alert(tmp_path)
    both = [channel(kind="webhook", name="both", url_env="BOTH", topics=["alerts", "watchdog"])]
    sent: list[str] = []
    report = deliver(tmp_path, both, env={}, now=lambda: T0, topics=(WATCHDOG_TOPIC,),
                     sender=lambda c, subject, message, env: sent.append(subject))
    assert [d.message_id for d in report.deliveries] == ["w1"] and len(sent) == 1
    later = deliver(tmp_path, both, env={}, now=lambda: T0, sender=lambda c, subject, message, env: sent.append(subject))
    assert [d.message_id for d in later.deliveries] == ["p1"]
    with pytest.raises(ValueError, match="unknown topic"):
        deliver(tmp_path, both, env={}, now=lambda: T0, topics=("pager",))


def test_a_topic_holds_one_message_per_dedup_key_within_its_window(tmp_path: Path) -> None:
    assert watchdog_alert(tmp_path) is not None
    assert watchdog_alert(tmp_path, T0 + timedelta(hours=11, minutes=59), "w2") is None
    assert watchdog_alert(tmp_path, T0 + timedelta(hours=12), "w3") is not None
    lines = (tmp_path / TOPICS[WATCHDOG_TOPIC]).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["message_id"] for r in records] == ["w1", "w3"]
    assert records[0]["topic"] == "alpha-engine-watchdog-alerts"
    assert records[0]["timestamp"] == "2026-12-06T14:00:00.000Z"
    assert records[0]["attributes"] == {"dedup_key": "watchdog:saturday:2026-12-05"}
    assert not (tmp_path / TOPICS["alerts"]).exists()


def test_channels_default_to_the_alerts_topic_and_refuse_an_unknown_one() -> None:
    assert channel(kind="webhook", name="a", url_env="A").topics == ["alerts"]
    with pytest.raises(ValidationError, match="topics"):
        channel(kind="webhook", name="a", url_env="A", topics=["pager"])
    with pytest.raises(ValidationError, match="topics"):
        channel(kind="webhook", name="a", url_env="A", topics=[])
    with pytest.raises(ValidationError, match="unique"):
        channel(kind="webhook", name="a", url_env="A", topics=["watchdog", "watchdog"])
