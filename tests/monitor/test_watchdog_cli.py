"""``alpha-engine watchdog check``: verdicts, exit codes, last_check.json, the heartbeat, fail loud.

Executions are planted in the workspace's real execution store (``sfn/executions.sqlite3``). The
watchdog's own channel is tested in tests/notify/test_watchdog_delivery.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
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


def check(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["watchdog", "check", *args])
    return result.exit_code, result.output


def test_a_started_saturday_run_is_ok_and_exits_0(workspace: Path) -> None:
    plant(workspace, "saturday-2026-12-05", "2026-12-05T09:00:00+00:00", status="FAILED")
    code, out = check("--at", SUNDAY)
    assert code == 0, out
    assert out.startswith("ok       saturday  saturday-2026-12-05 started 2026-12-05T09:00:00Z (FAILED)")
    last = json.loads((workspace / "_watchdog" / "last_check.json").read_text(encoding="utf-8"))
    assert (last["checked_at"], last["missed"], last["verdicts"][0]["status"]) == (SUNDAY, 0, "ok")


def test_saturday_is_not_due_on_saturday(workspace: Path) -> None:
    code, out = check("--at", "2026-12-05T20:00:00Z")
    assert code == 0 and out.startswith("not_due  saturday")
    assert not (workspace / "notifications" / "watchdog.jsonl").exists()


def test_an_unreadable_execution_store_fails_loud_and_never_reports_ok(workspace: Path) -> None:
    plant(workspace, "saturday-2026-12-05", "2026-12-05T09:00:00+00:00")
    (workspace / "sfn" / "executions.sqlite3").write_bytes(b"not a database " * 512)
    result = runner.invoke(app, ["watchdog", "check", "--at", SUNDAY, "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "WatchdogError"
    assert "cannot list the executions in the execution store of" in error["message"]
    assert "file is not a database" in error["message"]
    last = json.loads((workspace / "_watchdog" / "last_check.json").read_text(encoding="utf-8"))
    assert last["verdicts"] == [] and "file is not a database" in last["error"]


def test_a_check_at_the_real_time_emits_the_watchdog_heartbeat(workspace: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("alpha_engine.cli._common.utc_now", lambda: datetime(2026, 12, 6, 14, tzinfo=UTC))
    plant(workspace, "saturday-2026-12-05", "2026-12-05T09:00:00+00:00")
    assert check()[0] == 0
    result = runner.invoke(app, ["metrics", "get", "Heartbeat", "--json"])
    assert '"Process": "watchdog"' in result.output, result.output
    # a what-if check (--at) emits none
    before = result.output
    assert check("--at", SUNDAY)[0] == 0
    assert runner.invoke(app, ["metrics", "get", "Heartbeat", "--json"]).output == before


def test_a_bad_time_is_a_usage_error(workspace: Path) -> None:
    code, out = check("--at", "Sunday")
    assert code == 64 and "--at must be an ISO time" in out


def test_a_missed_window_without_a_watchdog_subscriber_says_where_the_alert_stays(workspace: Path) -> None:
    result = runner.invoke(app, ["watchdog", "check", "--at", SUNDAY])
    assert result.exit_code == 1
    assert "no channel subscribes to the watchdog topic" in result.stderr
    assert "watchdog:saturday:2026-12-05" in (workspace / "notifications" / "watchdog.jsonl").read_text(encoding="utf-8")
