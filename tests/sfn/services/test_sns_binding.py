"""SnsBinding: one durable JSON line per publish in the outbox, AWS result shapes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from alpha_engine.sfn._errors import StatesError
from alpha_engine.sfn.services import BindingContext, SnsBinding, TaskRequest

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
CLOCK = datetime(2024, 11, 23, 10, 50, tzinfo=UTC)


def _publish(ctx: BindingContext, params: Any, resource: str = "arn:aws:states:::sns:publish") -> Any:
    ids = iter(f"id-{n}" for n in range(100))
    binding = SnsBinding(now=lambda: CLOCK, new_id=lambda: next(ids))
    return asyncio.run(
        binding.invoke(TaskRequest(resource, "request-response", params, "arn:exec", "Pub"), ctx)
    )


def _outbox(ctx: BindingContext) -> list[dict[str, Any]]:
    lines = (ctx.workspace / "notifications" / "outbox.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_publish_appends_one_outbox_line_and_logs_the_subject(
    ctx: BindingContext, log_lines: list[str]
) -> None:
    attributes = {"kind": {"DataType": "String", "StringValue": "weekly"}}
    _publish(
        ctx,
        {"TopicArn": TOPIC, "Subject": "Run done", "Message": "all good", "MessageAttributes": attributes},
    )
    assert _outbox(ctx) == [
        {
            "timestamp": "2024-11-23T10:50:00.000Z",
            "message_id": "id-1",
            "topic": TOPIC,
            "subject": "Run done",
            "message": "all good",
            "attributes": attributes,
        }
    ]
    assert any("Run done" in line for line in log_lines)


def test_publish_returns_message_id_and_sdk_metadata(ctx: BindingContext) -> None:
    result = _publish(ctx, {"TopicArn": TOPIC, "Message": "x"})
    assert set(result) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert result["MessageId"] == "id-1"
    assert result["SdkHttpMetadata"]["HttpHeaders"]["Content-Type"] == "text/xml"
    assert result["SdkHttpMetadata"]["HttpHeaders"]["Date"] == "Sat, 23 Nov 2024 10:50:00 GMT"


def test_json_message_is_sent_as_compact_json_text(ctx: BindingContext) -> None:
    _publish(ctx, {"TopicArn": TOPIC, "Message": {"Message": "HelloWorld!"}})
    assert _outbox(ctx)[0]["message"] == '{"Message":"HelloWorld!"}'


def test_publishes_append_in_order(ctx: BindingContext) -> None:
    for n in range(3):
        _publish(ctx, {"TopicArn": TOPIC, "Message": f"m{n}"})
    assert [line["message"] for line in _outbox(ctx)] == ["m0", "m1", "m2"]


def test_fifo_topic_requires_message_group_id(ctx: BindingContext) -> None:
    with pytest.raises(StatesError) as info:
        _publish(ctx, {"TopicArn": TOPIC + ".fifo", "Message": "x"})
    assert info.value.error == "SNS.InvalidParameterException"
    assert (info.value.cause or "").startswith(
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics (Service: AmazonSNS; "
        "Status Code: 400; Error Code: InvalidParameter;"
    )


def test_fifo_publish_returns_a_sequence_number(ctx: BindingContext) -> None:
    result = _publish(ctx, {"TopicArn": TOPIC + ".fifo", "Message": "x", "MessageGroupId": "g"})
    assert result["SequenceNumber"].isdigit() and len(result["SequenceNumber"]) == 20


def test_missing_topic_is_invalid_parameter(ctx: BindingContext) -> None:
    with pytest.raises(StatesError) as info:
        _publish(ctx, {"Message": "x"})
    assert info.value.error == "SNS.InvalidParameterException"


def test_aws_sdk_form_returns_the_bare_response_and_sdk_error_names(ctx: BindingContext) -> None:
    sdk = "arn:aws:states:::aws-sdk:sns:publish"
    assert _publish(ctx, {"TopicArn": TOPIC, "Message": "x"}, sdk) == {"MessageId": "id-1"}
    with pytest.raises(StatesError) as info:
        _publish(ctx, {"TopicArn": TOPIC}, sdk)
    assert info.value.error == "Sns.InvalidParameterException"
