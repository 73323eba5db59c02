"""[pipeline] notifications chooses where a stage's own notifications go: the workspace's outbox by
default, the SNS topic itself when deployed ("sns"; moto in-process, never the network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY
from alpha_engine.config import Settings
from alpha_engine.pipeline import METRICS, NOTIFICATIONS
from alpha_engine.store import ReadOnlyStoreError

TOPIC = "arn:aws:sns:eu-west-2:123456789012:ae-alerts"


def _settings(tmp_path: Path, via: str) -> Settings:
    return Settings(workspace=tmp_path, pipeline={"notifications": via, "sns_topic_arn": TOPIC})  # type: ignore[arg-type]


def test_the_default_is_the_workspace_outbox(tmp_path: Path) -> None:
    notifier = SATURDAY.open_resources(_settings(tmp_path, "outbox"), read_only=False).get(NOTIFICATIONS)
    notifier.publish("subject", "message")
    record = json.loads((tmp_path / "notifications" / "outbox.jsonl").read_text().splitlines()[0])
    assert record["subject"] == "subject" and record["topic"] == TOPIC


def test_sns_publishes_to_the_topic_in_its_region_and_honours_read_only(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with moto.mock_aws():
        sns = boto3.client("sns", region_name="eu-west-2")
        sqs = boto3.client("sqs", region_name="eu-west-2")
        topic = sns.create_topic(Name="ae-alerts")["TopicArn"]
        assert topic == TOPIC
        queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

        settings = _settings(tmp_path, "sns")
        notifier = SATURDAY.open_resources(settings, read_only=False).get(NOTIFICATIONS)
        notifier.publish("Champion demoted", "the body", attributes={"dedup_key": "k1"})
        with pytest.raises(ReadOnlyStoreError, match="preflight-only"):
            SATURDAY.open_resources(settings, read_only=True).get(NOTIFICATIONS).publish("x", "y")

        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert (body["Subject"], body["Message"]) == ("Champion demoted", "the body")
    assert body["MessageAttributes"]["dedup_key"]["Value"] == "k1"
    assert not (tmp_path / "notifications").exists()  # nothing in the outbox


@pytest.mark.parametrize(("pipeline", "resource", "message"), [
    ({"notifications": "sns", "sns_topic_arn": TOPIC}, NOTIFICATIONS,
     r"notifications to arn:aws:sns:.*boto3 is not installed; pip install 'alpha-engine\[aws\]' or set \[pipeline\] "
     r"notifications = \"outbox\""),
    ({"metrics_uri": "cloudwatch://eu-west-2"}, METRICS,
     r"metrics_uri cloudwatch://eu-west-2: boto3 is not installed; .* or leave pipeline.metrics_uri empty"),
])
def test_without_boto3_each_aws_back_end_names_the_extra_and_the_alternative(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pipeline: dict[str, str], resource: Any,
        message: str) -> None:
    import sys

    from alpha_engine.store import StoreError

    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 raises ImportError
    settings = Settings(workspace=tmp_path, pipeline=pipeline)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=message):
        SATURDAY.open_resources(settings, read_only=False).get(resource)
