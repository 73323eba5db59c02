"""Delivering the outbox to real local channels: SMTP (aiosmtpd) and a webhook (http.server)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from notify_servers import refused_port, smtp_server, webhook_server
from pydantic import TypeAdapter, ValidationError

from alpha_engine.config import ChannelSettings, NotifySettings
from alpha_engine.notify import DELIVERY_LOG, ChannelError, deliver, failed_deliveries, send
from alpha_engine.sfn import publish_to_outbox

T0 = datetime(2024, 11, 23, 10, 50, tzinfo=UTC)
SECRET_URL_PATH = "/hooks/T0-s3cr3t-token-4711"
PASSWORD = "pa55-w0rd-never-printed"


def now() -> datetime:
    return T0


def channel(**fields: Any) -> ChannelSettings:
    adapter: TypeAdapter[ChannelSettings] = TypeAdapter(ChannelSettings)
    return adapter.validate_python(fields)


def publish(workspace: Path, subject: str, message: str, *, at: datetime = T0, message_id: str = "m1",
            attributes: Mapping[str, Any] | None = None) -> None:
    publish_to_outbox(workspace, topic="arn:aws:sns:us-east-1:111111111111:alpha-engine-alerts", subject=subject,
                      message=message, attributes=attributes, now=at, message_id=message_id)


def test_a_message_reaches_email_and_webhook_once(tmp_path: Path) -> None:
    publish(tmp_path, "Alpha Engine Saturday Pipeline — SUCCESS", "All steps completed successfully.")
    with smtp_server() as (port, inbox), webhook_server() as hook:
        env = {"HOOK_URL": hook.url + SECRET_URL_PATH}
        channels = [channel(kind="email", name="ops-mail", host="127.0.0.1", port=port, from_addr="ae@localhost",
                            to=["ops@localhost"]),
                    channel(kind="webhook", name="slack", url_env="HOOK_URL")]
        report = deliver(tmp_path, channels, env=env, now=now)
        assert [(d.channel, d.status) for d in report.deliveries] == [("ops-mail", "sent"), ("slack", "sent")]
        assert len(inbox.mails) == 1
        sender, recipients, raw = inbox.mails[0]
        assert (sender, recipients) == ("ae@localhost", ["ops@localhost"])
        assert "All steps completed successfully." in raw
        assert hook.bodies == [{"text": "Alpha Engine Saturday Pipeline — SUCCESS\nAll steps completed successfully."}]
        assert hook.paths == [SECRET_URL_PATH]
        # a rerun, resume or redrive delivers again: nothing is sent twice
        assert deliver(tmp_path, channels, env=env, now=now).deliveries == []
        assert len(inbox.mails) == 1 and len(hook.bodies) == 1


def test_telegram_style_body(tmp_path: Path) -> None:
    publish(tmp_path, "subject", "text")
    with webhook_server() as hook:
        hook_channel = channel(kind="webhook", name="tg", style="telegram", chat_id="-100123", url_env="TG_URL")
        deliver(tmp_path, [hook_channel], env={"TG_URL": hook.url + "/bot123:abc/sendMessage"}, now=now)
    assert hook.bodies == [{"chat_id": "-100123", "text": "subject\ntext"}]


def test_a_failing_channel_is_reported_retried_and_never_raises(tmp_path: Path) -> None:
    publish(tmp_path, "Alpha Engine Saturday Pipeline — FAILED", "Saturday Pipeline failed.")
    with webhook_server() as hook:
        hook.status = 500
        env = {"HOOK_URL": hook.url + SECRET_URL_PATH}
        hook_channel = channel(kind="webhook", name="slack", url_env="HOOK_URL")
        mail = channel(kind="email", name="mail", host="127.0.0.1", port=refused_port(), from_addr="a@b.c",
                       to=["o@b.c"], timeout_seconds=2)
        report = deliver(tmp_path, [hook_channel, mail], env=env, now=now)
        assert [(d.channel, d.status) for d in report.failed] == [("slack", "failed"), ("mail", "failed")]
        assert "HTTP 500" in (report.failed[0].error or "")
        assert "ConnectionRefusedError" in (report.failed[1].error or "")
        assert [row["channel"] for row in failed_deliveries(tmp_path)] == ["mail", "slack"]
        # the webhook recovers: the next call retries only what failed
        hook.status = 200
        again = deliver(tmp_path, [hook_channel], env=env, now=now)
        assert [(d.channel, d.status) for d in again.deliveries] == [("slack", "sent")]
        assert len(hook.bodies) == 2
    assert [row["channel"] for row in failed_deliveries(tmp_path)] == ["mail"]
    with sqlite3.connect(tmp_path / DELIVERY_LOG) as log:
        assert log.execute("SELECT attempts FROM deliveries WHERE channel = 'slack'").fetchone() == (2,)


def test_a_missing_secret_names_the_variable(tmp_path: Path) -> None:
    publish(tmp_path, "s", "m")
    report = deliver(tmp_path, [channel(kind="webhook", name="slack", url_env="NOT_SET_HOOK")], env={}, now=now)
    assert "NOT_SET_HOOK" in (report.failed[0].error or "") and "not set" in (report.failed[0].error or "")


def test_dedup_window_per_channel(tmp_path: Path) -> None:
    # the same notice twice within the window: the second is suppressed; after the window it is sent
    publish(tmp_path, "s", "same text", message_id="m1")
    publish(tmp_path, "s", "same text", message_id="m2", at=T0 + timedelta(minutes=30))
    publish(tmp_path, "s", "same text", message_id="m3", at=T0 + timedelta(hours=2))
    publish(tmp_path, "other", "x", message_id="m4", at=T0 + timedelta(minutes=31),
            attributes={"dedup_key": {"DataType": "String", "StringValue": "k"}})
    publish(tmp_path, "other2", "y", message_id="m5", at=T0 + timedelta(minutes=32),
            attributes={"dedup_key": {"DataType": "String", "StringValue": "k"}})
    sent: list[tuple[str, str]] = []

    def sender(ch: ChannelSettings, subject: str, message: str, env: Mapping[str, str]) -> None:
        sent.append((ch.name, subject))

    hourly = channel(kind="webhook", name="hourly", url_env="U", dedup_window_seconds=3600)
    every = channel(kind="webhook", name="every", url_env="U", dedup_window_seconds=0)
    report = deliver(tmp_path, [hourly, every], env={}, now=now, sender=sender)
    statuses = [(d.channel, d.message_id, d.status) for d in report.deliveries]
    assert statuses == [("hourly", "m1", "sent"), ("hourly", "m2", "suppressed"), ("hourly", "m3", "sent"),
                        ("hourly", "m4", "sent"), ("hourly", "m5", "suppressed"),
                        ("every", "m1", "sent"), ("every", "m2", "sent"), ("every", "m3", "sent"),
                        ("every", "m4", "sent"), ("every", "m5", "sent")]
    assert len(sent) == 8


def test_secrets_never_leave_the_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a working and a failing webhook, a failing SMTP login: the secrets appear nowhere in the workspace
    # or in what was printed
    publish(tmp_path, "Alpha Engine Saturday Pipeline — FAILED", "Saturday Pipeline failed.")
    with webhook_server() as good, webhook_server() as bad, smtp_server() as (port, _inbox):
        bad.status = 500
        env = {"GOOD_URL": good.url + SECRET_URL_PATH, "BAD_URL": bad.url + SECRET_URL_PATH + "x",
               "DOWN_URL": f"http://127.0.0.1:{refused_port()}{SECRET_URL_PATH}", "SMTP_PASSWORD": PASSWORD}
        channels = [channel(kind="webhook", name="good", url_env="GOOD_URL"),
                    channel(kind="webhook", name="bad", url_env="BAD_URL"),
                    channel(kind="webhook", name="down", url_env="DOWN_URL", timeout_seconds=2),
                    channel(kind="email", name="mail", host="127.0.0.1", port=port, from_addr="a@b.c", to=["o@b.c"],
                            username="ae", password_env="SMTP_PASSWORD", timeout_seconds=2)]
        report = deliver(tmp_path, channels, env=env, now=now)
        print(json.dumps(report.to_json()))
        print(failed_deliveries(tmp_path))
    assert [d.status for d in report.deliveries] == ["sent", "failed", "failed", "failed"]
    captured = capsys.readouterr()
    for secret in (SECRET_URL_PATH.strip("/"), "s3cr3t-token", PASSWORD):
        assert secret not in captured.out + captured.err
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), f"{secret!r} leaked into {path}"


def test_redaction_is_what_keeps_an_echoed_secret_out() -> None:
    # planted flaw: a library whose error text echoes the URL; send() masks it
    from alpha_engine.notify._channels import redact

    assert redact(f"cannot open http://h{SECRET_URL_PATH}", [f"http://h{SECRET_URL_PATH}"]) == "cannot open ***"
    hook = channel(kind="webhook", name="h", url_env="U")
    with pytest.raises(ChannelError) as failure:
        send(hook, "s", "m", {"U": f"http://127.0.0.1{SECRET_URL_PATH} x"})  # urllib echoes the path
    assert "s3cr3t" not in str(failure.value) and "***" in str(failure.value)


def test_config_keeps_secrets_out_of_the_file() -> None:
    with pytest.raises(ValidationError, match="url"):
        NotifySettings.model_validate({"channels": [{"kind": "webhook", "name": "h", "url": "http://x/secret"}]})
    with pytest.raises(ValidationError, match="password"):
        NotifySettings.model_validate({"channels": [{"kind": "email", "name": "m", "host": "h", "from_addr": "a@b",
                                                     "to": ["c@d"], "password": "x"}]})
    with pytest.raises(ValidationError, match="chat_id"):
        NotifySettings.model_validate({"channels": [{"kind": "webhook", "name": "t", "style": "telegram",
                                                     "url_env": "A"}]})
    with pytest.raises(ValidationError, match="unique"):
        NotifySettings.model_validate({"channels": [{"kind": "webhook", "name": "h", "url_env": "A"},
                                                    {"kind": "webhook", "name": "h", "url_env": "B"}]})


def test_sns_channel_publishes_through_boto3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    moto = pytest.importorskip("moto")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    publish(tmp_path, "Alpha Engine Saturday Pipeline — SUCCESS", "done")
    with moto.mock_aws():
        client = boto3.client("sns", region_name="us-east-1")
        arn = client.create_topic(Name="alpha-engine-alerts")["TopicArn"]
        report = deliver(tmp_path, [channel(kind="sns", name="aws", topic_arn=arn)], env={}, now=now)
        missing = arn.replace("alpha-engine-alerts", "no-such-topic")
        failed = deliver(tmp_path, [channel(kind="sns", name="aws-missing", topic_arn=missing)], env={}, now=now)
    assert [d.status for d in report.deliveries] == ["sent"]
    assert [d.status for d in failed.deliveries] == ["failed"]
    assert "NotFound" in (failed.failed[0].error or "")


def test_the_documented_configuration_validates() -> None:
    import re
    import tomllib

    docs = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", docs, re.S)
    assert example is not None
    settings = NotifySettings.model_validate(tomllib.loads(example.group(1))["notify"])
    assert [c.kind for c in settings.channels] == ["email", "webhook", "sns"]


def test_two_deliveries_at_once_send_each_message_once(tmp_path: Path) -> None:
    # B starts while A is in the middle of sending m1, before A has logged it: without the delivery
    # lock B would read an empty log and send m1 a second time.
    import threading
    import time

    publish(tmp_path, "s", "text")
    sent: list[str] = []
    a_is_sending = threading.Event()

    def sender(ch: ChannelSettings, subject: str, message: str, env: Mapping[str, str]) -> None:
        sent.append(threading.current_thread().name)
        a_is_sending.set()
        time.sleep(0.5)

    hook = channel(kind="webhook", name="hook", url_env="U")
    reports: dict[str, Any] = {}

    def run(name: str) -> None:
        reports[name] = deliver(tmp_path, [hook], env={}, now=now, sender=sender)

    a = threading.Thread(target=run, args=("a",), name="a")
    a.start()
    assert a_is_sending.wait(10)
    b = threading.Thread(target=run, args=("b",), name="b")
    b.start()
    a.join(20)
    b.join(20)
    assert sent == ["a"]
    assert [d.status for d in reports["a"].deliveries] == ["sent"]
    assert reports["b"].deliveries == []
