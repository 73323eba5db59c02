"""``alpha-engine health``: one screen over what watches the pipeline; every problem planted in its
own source shows up under ``attention``, and the command writes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.monitor import ALARM, Alarm, AlarmBook, Evaluation
from alpha_engine.notify import WATCHDOG_TOPIC, deliver, publish_to_topic
from alpha_engine.sfn import publish_to_outbox
from conftest import data_snapshot

T0 = datetime(2024, 11, 23, 10, 50, tzinfo=UTC)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)

    def invoke(workspace: Path, *args: str) -> Any:
        return CliRunner().invoke(app, ["health", *args, "--workspace", str(workspace)], catch_exceptions=False)

    return invoke


def _write(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload), encoding="utf-8")


def _snapshot(workspace: Path) -> dict[str, str]:
    """Every file but the runtime's store and SQLite's own -wal/-shm (a reader of a WAL database
    makes them; they hold no data of ours)."""
    return {k: v for k, v in data_snapshot(workspace, operational=("sfn/",)).items()
            if not k.endswith(("-wal", "-shm"))}


def _plant(workspace: Path) -> None:
    artifacts = workspace / "artifacts"
    marker = {"module": "x", "run_date": "2022-12-31", "duration_seconds": 1.0, "summary": {}, "warnings": []}
    _write(artifacts / "health" / "evaluator.json",
           {**marker, "status": "failed", "error": "ValueError: planted", "last_success": None})
    _write(artifacts / "health" / "parity.json",
           {**marker, "status": "ok", "error": None, "last_success": "2026-01-01T00:00:00Z"})
    _write(artifacts / "health" / "backtester.json", {"status": "ok"})  # fails the marker schema
    _write(artifacts / "_freshness_monitor" / "check_results.json",
           {"checked_at": "2026-01-01T00:00:00Z", "counts": {"fresh": 1, "stale": 1},
            "results": [{"artifact_id": "a", "state": "fresh"}, {"artifact_id": "weekly-manifest", "state": "stale"}]})
    for day, rows in (("2022-12-24", [("old_row", "fail")]),
                      ("2022-12-31", [("data_quality", "ok"), ("predictor_decisions", "fail")])):
        counts = {s: sum(1 for _, status in rows if status == s)
                  for s in ("ok", "fail", "degraded", "not_yet_effective", "error")}
        _write(artifacts / "monitoring" / "substrate" / f"{day}.json", {
            "run_date": day, "cadence": "weekly", "checked_at": "2026-01-01T00:00:00Z", "counts": counts,
            "pct_ok": 50.0, "rows": [{"id": i, "status": s, "reason": "planted", "source": None, "non_fatal": False,
                                      "cadence": "weekly"} for i, s in rows],
            "constituents_drift": {"status": "skipped", "reason": "planted", "source": None, "added": [],
                                   "removed": []}})
    _write(workspace / "_watchdog" / "last_check.json",
           {"checked_at": "2026-01-01T00:00:00Z", "error": None,
            "verdicts": [{"schedule": "saturday", "status": "missed", "reason": "no start in 7 days"}]})
    alarm = Alarm("planted-alarm", "AlphaEngine", "m", (), "Maximum", 60, 1, 1, "GreaterThanThreshold", 0)
    AlarmBook(workspace / "alarms.db").record([Evaluation(alarm.name, ALARM, "1 of 1 breaching", T0)])
    publish_to_outbox(workspace, topic="arn:aws:sns:us-east-1:111111111111:alpha-engine-alerts", subject="planted",
                      message="text", now=T0, message_id="m1")

    publish_to_topic(workspace, WATCHDOG_TOPIC, subject="planted watchdog alert", message="m", dedup_key="k",
                     now=T0 + timedelta(minutes=1), message_id="w1")

    def broken(*args: Any) -> None:
        from alpha_engine.notify import ChannelError

        raise ChannelError("connection refused")

    from pydantic import TypeAdapter

    from alpha_engine.config import ChannelSettings

    hook = TypeAdapter(ChannelSettings).validate_python({"kind": "webhook", "name": "hook", "url_env": "U"})
    deliver(workspace, [hook], env={}, now=lambda: T0, sender=broken)


def test_every_planted_problem_needs_attention_and_nothing_is_written(tmp_path: Path, cli: Any) -> None:
    _plant(tmp_path)
    before = _snapshot(tmp_path)
    result = cli(tmp_path, "--json")
    assert result.exit_code == 1, result.output
    assert _snapshot(tmp_path) == before
    view = json.loads(result.stdout)
    attention = "\n".join(view["attention"])
    for expected in ("no pipeline execution yet", "Evaluator (hard) is failed for run_date 2022-12-31: ValueError: "
                     "planted", "freshness monitor: 1 problem(s), e.g. weekly-manifest: stale",
                     "substrate check: 1 problem(s), e.g. predictor_decisions: fail",
                     "watchdog: 1 problem(s), e.g. saturday: missed (no start in 7 days)", "alarm planted-alarm is in ALARM",
                     "'planted' not delivered to channel hook: connection refused"):
        assert expected in attention
    assert "old_row" not in attention  # only the latest substrate report counts
    assert "Parity" not in attention
    assert "stage Backtester (hard): its health marker is unreadable" in attention and "health/backtester.json" in attention
    assert view["alarms"]["in_alarm"][0]["alarm"] == "planted-alarm"
    assert view["notifications"]["last"] == [
        {"timestamp": "2024-11-23T10:51:00.000Z", "topic": "watchdog", "subject": "planted watchdog alert"},
        {"timestamp": "2024-11-23T10:50:00.000Z", "topic": "alerts", "subject": "planted"}]
    text = cli(tmp_path)
    assert text.exit_code == 1
    assert "ALARM planted-alarm" in text.stdout and "attention (" in text.stdout


def test_an_unreadable_monitor_result_is_named(tmp_path: Path, cli: Any) -> None:
    path = tmp_path / "artifacts" / "_freshness_monitor" / "check_results.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    view = json.loads(cli(tmp_path, "--json").stdout)
    assert view["freshness"]["error"] and "check_results.json" in view["freshness"]["error"]
    assert any("freshness monitor's last result cannot be used" in item for item in view["attention"])


def test_a_watchdog_that_could_not_check_is_not_read_as_ok(tmp_path: Path, cli: Any) -> None:
    _write(tmp_path / "_watchdog" / "last_check.json",
           {"checked_at": "2026-01-01T00:00:00Z", "error": "WatchdogError: cannot list", "verdicts": []})
    view = json.loads(cli(tmp_path, "--json").stdout)
    assert any("watchdog's last result cannot be used: its last check at 2026-01-01T00:00:00Z could not run: "
               "WatchdogError: cannot list" in item for item in view["attention"])


def test_a_fresh_workspace_says_what_to_run(tmp_path: Path, cli: Any) -> None:
    result = cli(tmp_path / "new")
    assert result.exit_code == 1
    for command in ("alpha-engine run", "alpha-engine freshness check", "alpha-engine alarms evaluate",
                    "alpha-engine watchdog check"):
        assert command in result.stdout
