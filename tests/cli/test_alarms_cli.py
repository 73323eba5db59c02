"""``alpha-engine alarms list|history|evaluate``: the declared alarms on a workspace, a local
evaluation that records and notifies each change once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.store import SqliteMetrics

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return tmp_path / "ws"


def test_list_shows_every_declared_alarm_before_any_evaluation(workspace: Path) -> None:
    listed = json.loads(runner.invoke(app, ["alarms", "list", "--json"]).stdout)
    names = [a["name"] for a in listed]
    assert "alpha-engine-heartbeat-data-phase1" in names and "AlphaEngine-HealthCheckFailures" in names
    assert {a["state"] for a in listed} == {"INSUFFICIENT_DATA"}
    assert not (workspace / "alarms.db").exists()


def test_evaluate_records_changes_once_and_notifies_them(workspace: Path) -> None:
    SqliteMetrics(workspace / "metrics.db").emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"},
                                                 datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    first = runner.invoke(app, ["alarms", "evaluate", "--at", "2026-12-05T12:00:00Z", "--json"])
    assert first.exit_code == 0, first.output
    states = {a["alarm"]: a["state"] for a in json.loads(first.stdout)["alarms"]}
    assert states["alpha-engine-heartbeat-data-phase1"] == "OK"
    assert states["alpha-engine-heartbeat-scanner"] == "ALARM"
    assert states["AlphaEngine-HealthCheckFailures"] == "OK"
    again = json.loads(runner.invoke(app, ["alarms", "evaluate", "--at", "2026-12-05T13:00:00Z", "--json"]).stdout)
    assert again["changes"] == []
    history = json.loads(runner.invoke(app, ["alarms", "history", "--json"]).stdout)
    assert len(history) == len(states)
    outbox = [json.loads(line) for line in (workspace / "notifications" / "outbox.jsonl").read_text().splitlines()]
    # one notification per change into ALARM (INSUFFICIENT_DATA -> OK is recorded, not sent), none for the
    # re-evaluation
    assert sorted(r["subject"] for r in outbox) == sorted(f'ALARM: "{a}"' for a, s in states.items() if s == "ALARM")
    text = runner.invoke(app, ["alarms", "list"]).output
    assert "OK                alpha-engine-heartbeat-data-phase1" in text


def test_a_bad_at_is_a_usage_error(workspace: Path) -> None:
    result = runner.invoke(app, ["alarms", "evaluate", "--at", "tomorrow"])
    assert result.exit_code == 64 and "--at must be an ISO time" in result.output
