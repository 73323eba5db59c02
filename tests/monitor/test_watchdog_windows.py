"""The watchdog's windows from the NYSE calendar, and its verdicts over planted executions.

Upstream (``saturday-sf.md`` §5): weekday 24 h on trading days; EOD from the previous trading
day's 20:00 UTC to the check plus 1 h slack (19 h, 67 h after a weekend, 91 h after Memorial
Day); Saturday 7 d, checked on Sunday. Any execution started in the window counts.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alpha_engine.monitor import (
    WATCHDOG_RESULTS,
    Schedule,
    StartedExecution,
    WatchdogError,
    check_schedules,
    declared_schedules,
    expected_window,
    list_started,
    write_last_check,
)
from alpha_engine.store import TradingCalendar

CALENDAR = TradingCalendar()
SATURDAY_SM = "alpha-engine-saturday-pipeline"
SATURDAY = Schedule("saturday", SATURDAY_SM, "saturday")
EOD = Schedule("eod", "alpha-engine-eod-pipeline", "eod", role="eod")
WEEKDAY = Schedule("weekday", "alpha-engine-weekday-pipeline", "weekday")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def started(when: str, machine: str = SATURDAY_SM, *, status: str = "SUCCEEDED", role: str | None = None,
            shell_run: bool = False, name: str = "run") -> StartedExecution:
    return StartedExecution(name, machine, at(when), status, role, shell_run)


# -- windows ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("check", "hours", "key"), [
    ("2026-05-27T14:00:00", 19, "2026-05-26"),  # Wednesday after an ordinary Tuesday
    ("2026-06-01T14:00:00", 67, "2026-05-29"),  # Monday after a weekend
    ("2026-05-26T14:00:00", 91, "2026-05-22"),  # Tuesday after Memorial Day (Monday 2026-05-25)
])
def test_eod_window_runs_from_the_previous_trading_day_20_utc_less_1_h_slack(check: str, hours: int,
                                                                             key: str) -> None:
    window = expected_window("eod", at(check), CALENDAR)
    assert window is not None
    assert (window.hours, window.key, window.end) == (hours, key, at(check))
    assert window.start == at(f"{key}T19:00:00")


@pytest.mark.parametrize("check", ["2026-05-25T14:00:00", "2026-05-30T14:00:00", "2026-05-31T14:00:00"])
def test_eod_and_weekday_are_not_due_on_a_holiday_or_a_weekend(check: str) -> None:
    assert expected_window("eod", at(check), CALENDAR) is None
    assert expected_window("weekday", at(check), CALENDAR) is None
    [verdict] = check_schedules([WEEKDAY], [], at(check), CALENDAR)
    assert verdict.status == "not_due" and "not an NYSE trading day" in verdict.reason


def test_weekday_window_is_the_24_hours_before_the_check_on_a_trading_day() -> None:
    window = expected_window("weekday", at("2026-05-26T14:00:00"), CALENDAR)
    assert window is not None
    assert (window.start, window.hours, window.key) == (at("2026-05-25T14:00:00"), 24, "2026-05-26")


def test_saturday_is_not_due_on_saturday_and_checked_on_sunday_and_every_later_day() -> None:
    assert expected_window("saturday", at("2026-12-05T23:59:59"), CALENDAR) is None
    sunday = expected_window("saturday", at("2026-12-06T14:00:00"), CALENDAR)
    friday = expected_window("saturday", at("2026-12-11T23:00:00"), CALENDAR)
    assert sunday is not None and friday is not None
    assert (sunday.start, sunday.hours, sunday.key) == (at("2026-11-29T14:00:00"), 168, "2026-12-05")
    assert friday.key == "2026-12-05" and friday.holds(at("2026-12-05T00:00:00"))


def test_a_check_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_schedules([SATURDAY], [], datetime(2026, 12, 6, 14), CALENDAR)


# -- verdicts -----------------------------------------------------------------------------------

SUNDAY = at("2026-12-06T14:00:00")


def verdict_of(schedule: Schedule, executions: list[StartedExecution], now: datetime = SUNDAY) -> str:
    [verdict] = check_schedules([schedule], executions, now, CALENDAR)
    return verdict.status


def test_a_saturday_run_in_the_window_is_ok_and_its_absence_is_missed() -> None:
    run = started("2026-12-05T09:00:00", name="saturday-2026-12-05")
    [verdict] = check_schedules([SATURDAY], [run], SUNDAY, CALENDAR)
    assert verdict.status == "ok" and verdict.execution == "saturday-2026-12-05"
    [missed] = check_schedules([SATURDAY], [], SUNDAY, CALENDAR)
    assert missed.status == "missed" and missed.window is not None
    assert "no execution of alpha-engine-saturday-pipeline" in missed.reason and "168 h" in missed.reason


@pytest.mark.parametrize(("planted", "why"), [
    (started("2026-11-28T09:00:00"), "the previous Saturday, outside the 7 days"),
    (started("2026-12-05T09:00:00", "alpha-engine-weekday-pipeline"), "another state machine"),
    (started("2026-12-05T09:00:00", shell_run=True), "a shell run (preflight rehearsal)"),
    (started("2026-12-06T14:00:01"), "after the check"),
])
def test_an_execution_that_does_not_count_leaves_the_window_missed(planted: StartedExecution, why: str) -> None:
    assert verdict_of(SATURDAY, [planted]) == "missed", why


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT", "RUNNING"])
def test_a_started_execution_counts_whatever_became_of_it(status: str) -> None:
    assert verdict_of(SATURDAY, [started("2026-12-05T09:00:00", status=status)]) == "ok"


def test_window_ends_are_inclusive() -> None:
    assert verdict_of(SATURDAY, [started("2026-11-29T14:00:00")]) == "ok"
    assert verdict_of(SATURDAY, [started("2026-12-06T14:00:00")]) == "ok"
    assert verdict_of(SATURDAY, [started("2026-11-29T13:59:59")]) == "missed"


def test_a_schedule_that_counts_shell_runs_accepts_one() -> None:
    lenient = Schedule("saturday", SATURDAY_SM, "saturday", count_shell_runs=True)
    assert verdict_of(lenient, [started("2026-12-05T09:00:00", shell_run=True)]) == "ok"


def test_the_eod_schedule_needs_its_role_and_a_start_after_the_previous_session() -> None:
    tuesday = at("2026-05-26T14:00:00")  # window from Friday 2026-05-22 19:00
    machine = "alpha-engine-eod-pipeline"
    assert verdict_of(EOD, [started("2026-05-22T20:30:00", machine, role="eod")], tuesday) == "ok"
    assert verdict_of(EOD, [started("2026-05-22T20:30:00", machine)], tuesday) == "missed"
    assert verdict_of(EOD, [started("2026-05-22T18:30:00", machine, role="eod")], tuesday) == "missed"


def test_the_dedup_key_names_the_schedule_and_the_expected_run() -> None:
    sunday, = check_schedules([SATURDAY], [], SUNDAY, CALENDAR)
    monday, = check_schedules([SATURDAY], [], at("2026-12-07T14:00:00"), CALENDAR)
    next_week, = check_schedules([SATURDAY], [], at("2026-12-13T14:00:00"), CALENDAR)
    assert sunday.dedup_key == monday.dedup_key == "watchdog:saturday:2026-12-05"
    assert next_week.dedup_key == "watchdog:saturday:2026-12-12"


def test_only_the_saturday_schedule_is_active_locally() -> None:
    schedules = declared_schedules(SATURDAY_SM)
    assert [(s.name, s.rule, s.active) for s in schedules] == [
        ("saturday", "saturday", True), ("weekday", "weekday", False), ("eod", "eod", False)]
    assert schedules[0].state_machine == SATURDAY_SM


# -- listing fails loud -------------------------------------------------------------------------

@dataclass
class Record:
    name: str
    state_machine_name: str
    input: str
    status: str
    start_date: float


def test_a_record_gives_its_start_role_and_shell_run() -> None:
    record = Record("r", SATURDAY_SM, '{"pipeline_role": "weekly", "shell_run": true}', "FAILED",
                    at("2026-12-05T09:00:00").timestamp())
    assert list_started(lambda: [record], "here") == [
        StartedExecution("r", SATURDAY_SM, at("2026-12-05T09:00:00"), "FAILED", "weekly", True)]


def test_a_store_that_cannot_be_listed_raises_naming_the_cause() -> None:
    def broken() -> list[Record]:
        raise sqlite3.DatabaseError("file is not a database")

    with pytest.raises(WatchdogError, match=r"cannot list the executions in /ws/sfn: DatabaseError: file is not "
                                            r"a database; no schedule was checked"):
        list_started(broken, "/ws/sfn")


def test_a_record_with_a_broken_input_fails_loud_too() -> None:
    record = Record("r", SATURDAY_SM, "{not json", "SUCCEEDED", 0.0)
    with pytest.raises(WatchdogError, match="JSONDecodeError"):
        list_started(lambda: [record], "here")


def test_last_check_is_written_whole(tmp_path: Path) -> None:
    verdicts = check_schedules([SATURDAY], [], SUNDAY, CALENDAR)
    path = write_last_check(tmp_path, SUNDAY, verdicts, ["watchdog:saturday:2026-12-05"])
    assert path == tmp_path / WATCHDOG_RESULTS
    body = json.loads(path.read_text(encoding="utf-8"))
    assert body["checked_at"] == "2026-12-06T14:00:00Z" and body["missed"] == 1 and body["error"] is None
    assert body["verdicts"][0]["window"]["key"] == "2026-12-05"
    assert [p.name for p in path.parent.iterdir()] == ["last_check.json"]
    assert (SUNDAY - timedelta(days=7)).isoformat().startswith(body["verdicts"][0]["window"]["start"][:10])
