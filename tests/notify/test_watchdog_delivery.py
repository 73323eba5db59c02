"""``alpha-engine watchdog check`` alerts on its own channel: real local webhooks, one subscribed to
``alerts`` (the pipeline's notices), one to ``watchdog``; executions planted in the workspace's
real execution store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from notify_servers import Webhook, webhook_server
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.sfn import publish_to_outbox
from planted_executions import plant_execution as plant

SUNDAY = "2026-12-06T14:00:00Z"
runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ws"
    home.mkdir()
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(home))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return home


@pytest.fixture
def hooks(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Webhook, Webhook]]:
    with webhook_server() as alerts, webhook_server() as watchdog:
        monkeypatch.setenv("ALERTS_HOOK", alerts.url)
        monkeypatch.setenv("WATCHDOG_HOOK", watchdog.url)
        (workspace / "config.toml").write_text(
            '[[notify.channels]]\nkind = "webhook"\nname = "ops"\nurl_env = "ALERTS_HOOK"\n\n'
            '[[notify.channels]]\nkind = "webhook"\nname = "pager"\nurl_env = "WATCHDOG_HOOK"\n'
            'topics = ["watchdog"]\n', encoding="utf-8")
        yield alerts, watchdog


def check(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["watchdog", "check", *args])
    return result.exit_code, result.output


def test_a_missed_window_exits_1_and_alerts_only_the_watchdog_channel_once_in_12_h(
        workspace: Path, hooks: tuple[Webhook, Webhook]) -> None:
    alerts, watchdog = hooks
    plant(workspace, "shell-2026-12-04", "2026-12-04T21:00:00+00:00", given={"shell_run": True})
    publish_to_outbox(workspace, topic="arn:aws:sns:us-east-1:111111111111:alpha-engine-alerts",
                      subject="Alpha Engine Saturday Preflight Pipeline — succeeded", message="shell run",
                      now=datetime(2026, 12, 4, 22, tzinfo=UTC), message_id="pipeline-1")
    code, out = check("--at", SUNDAY, "--json")
    assert code == 1, out
    body = json.loads(out)
    assert [v["status"] for v in body["verdicts"]] == ["missed"]
    assert body["alerted"] == ["watchdog:saturday:2026-12-05"]
    assert alerts.bodies == []  # the pipeline's channel gets no watchdog alert (nor is its own notice sent here)
    assert len(watchdog.bodies) == 1
    assert watchdog.bodies[0]["text"].startswith("Alpha Engine watchdog — saturday pipeline never started\n")
    # within 12 h: the same window is still missed, nothing is published or sent again
    code, out = check("--at", "2026-12-07T01:59:59Z")
    assert code == 1 and out.startswith("missed   saturday")
    assert len(watchdog.bodies) == 1 and alerts.bodies == []
    last = json.loads((workspace / "_watchdog" / "last_check.json").read_text(encoding="utf-8"))
    assert last["alerted"] == [] and last["missed"] == 1
    # 12 h later it alerts again
    assert check("--at", "2026-12-07T02:00:00Z")[0] == 1
    assert len(watchdog.bodies) == 2 and alerts.bodies == []
