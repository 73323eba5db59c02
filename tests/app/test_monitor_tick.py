"""``alpha-engine monitor tick``: the freshness cycle, the watchdog, the alarms and the delivery in one
scheduled call, each part isolated, never two ticks at once on a workspace."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alpha_engine.app import MONITOR_LOCK, SATURDAY, MonitorBusyError, monitor_tick
from alpha_engine.app import _monitoring as monitoring
from alpha_engine.cli import app as cli_app
from alpha_engine.config import Settings

SUNDAY = datetime(2026, 12, 6, 14, 0, tzinfo=UTC)  # the Saturday run of the 5th never started


def _invoke(workspace: Path, *args: str) -> Any:
    return CliRunner().invoke(cli_app, ["monitor", "tick", *args, "--workspace", str(workspace)],
                              env={"ALPHA_ENGINE_CONFIG": None}, catch_exceptions=False)


def _outbox(workspace: Path, name: str = "outbox.jsonl") -> list[dict[str, Any]]:
    path = workspace / "notifications" / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_tick_on_an_empty_workspace_runs_every_part_and_a_second_sends_nothing_new(tmp_path: Path) -> None:
    result = _invoke(tmp_path, "--at", SUNDAY.isoformat(), "--json")
    assert result.exit_code == 1, result.output
    parts = {p["part"]: p for p in json.loads(result.stdout)["parts"]}
    assert list(parts) == ["freshness", "watchdog", "alarms", "delivery"]
    assert parts["freshness"]["status"] == "problems" and "missing" in parts["freshness"]["summary"]
    assert parts["watchdog"]["status"] == "problems" and "saturday missed" in parts["watchdog"]["summary"]
    assert parts["alarms"]["status"] == "problems"  # no stage has a heartbeat: every heartbeat alarm fires
    assert parts["delivery"]["status"] == "ok" and "no channel configured" in parts["delivery"]["summary"]
    assert (tmp_path / "artifacts" / "_freshness_monitor" / "check_results.json").exists()
    assert json.loads((tmp_path / "_watchdog" / "last_check.json").read_text())["verdicts"][0]["status"] == "missed"
    alerts, watchdog = _outbox(tmp_path), _outbox(tmp_path, "watchdog.jsonl")
    assert watchdog and not any("watchdog" in (r.get("subject") or "").lower() for r in alerts)
    assert any(r["subject"].startswith('ALARM: "alpha-engine-heartbeat-') for r in alerts)

    again = _invoke(tmp_path, "--at", SUNDAY.isoformat(), "--json")
    assert again.exit_code == 1
    assert _outbox(tmp_path) == alerts and _outbox(tmp_path, "watchdog.jsonl") == watchdog  # deduplicated


def test_a_part_that_raises_never_skips_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(monitoring, "freshness_cycle", broken)
    report = monitor_tick(Settings(workspace=tmp_path), SATURDAY, SUNDAY, env={})
    statuses = {p.name: (p.status, p.error) for p in report.parts}
    assert statuses["freshness"] == ("error", "OSError: disk on fire")
    assert statuses["watchdog"][0] == "problems" and statuses["alarms"][0] == "problems"
    assert statuses["delivery"][0] == "ok"
    assert not report.ok


def test_a_failing_channel_is_a_delivery_problem_only(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path, notify={"channels": [  # type: ignore[arg-type]
        {"kind": "webhook", "name": "hook", "url_env": "HOOK_URL"}]})
    env = {"HOOK_URL": f"http://127.0.0.1:{_refused_port()}/hook"}
    report = monitor_tick(settings, SATURDAY, SUNDAY, env=env)
    delivery = {p.name: p for p in report.parts}["delivery"]
    assert delivery.status == "problems" and delivery.error is None and "hook:" in delivery.summary
    assert {p.name: p.status for p in report.parts}["alarms"] == "problems"  # it ran before the delivery


def test_a_second_tick_while_one_runs_does_nothing(tmp_path: Path) -> None:
    fd = os.open(tmp_path / MONITOR_LOCK, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(MonitorBusyError, match="another 'alpha-engine monitor tick' is running"):
            monitor_tick(Settings(workspace=tmp_path), SATURDAY, SUNDAY, env={})
        result = _invoke(tmp_path, "--at", SUNDAY.isoformat())
        assert result.exit_code == 75
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == [MONITOR_LOCK]
