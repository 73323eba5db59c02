"""The watchdog: notices an expected execution that never started within its window.

The pipeline's own notices report what ran (succeeded, failed, aborted); nothing reports a run
that never began. The watchdog asks, for each declared :class:`Schedule`, whether an execution of
its state machine started inside the window the trading calendar expects, as upstream's
``alpha-engine-pipeline-watchdog`` does (``saturday-sf.md`` §5):

* ``weekday``: the 24 h before the check, on NYSE trading days (not due on other days);
* ``eod``: from the previous trading day's 20:00 UTC, less 1 h of slack, to the check, on trading
  days (19 h at 14:00 UTC after an ordinary day, 67 h after a weekend, 91 h after Memorial Day);
* ``saturday``: the 7 days before the check, on every day but Saturday (the day the run is due:
  the first check that can miss it is Sunday's, and every later one until the next Saturday).

What counts as *started*: an execution of the schedule's state machine (and role, when the
schedule names one) whose start time is inside the window, whatever became of it. A failed,
aborted or still running execution started; its outcome is the pipeline's own notices' business.
A shell run (``shell_run``, the Friday preflight rehearsal) does not count unless the schedule
says so: it runs no real work, and counting it would hide a Saturday that never ran.

A window is closed at both ends. :func:`check_schedules` is pure (executions and ``now`` in,
verdicts out); :func:`list_started` and :func:`write_last_check` are the edges. A listing that
fails raises :class:`WatchdogError` naming the cause: the watchdog never answers "ok" when it
cannot see.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from alpha_engine.store import StoreError

__all__ = [
    "WATCHDOG_DEDUP_SECONDS",
    "WATCHDOG_RESULTS",
    "Schedule",
    "StartedExecution",
    "Verdict",
    "WatchdogError",
    "Window",
    "check_schedules",
    "declared_schedules",
    "expected_window",
    "list_started",
    "watchdog_alert",
    "write_last_check",
]

WindowRule = Literal["weekday", "eod", "saturday"]
VerdictStatus = Literal["ok", "missed", "not_due"]

# Upstream's watchdog alerts at most once per 12 h for one schedule and window.
WATCHDOG_DEDUP_SECONDS = 12 * 3600
# The last check's verdicts, relative to the workspace (read by the health overview).
WATCHDOG_RESULTS = Path("_watchdog") / "last_check.json"

_EOD_ANCHOR = time(20, 0, tzinfo=UTC)
_EOD_SLACK = timedelta(hours=1)
_WEEKDAY_SPAN = timedelta(hours=24)
_SATURDAY_SPAN = timedelta(days=7)
_SATURDAY = 5  # date.weekday()


class WatchdogError(StoreError):
    """The watchdog cannot tell whether a run started: the executions could not be listed or read."""


class _Calendar(Protocol):
    """What the watchdog reads of the trading calendar (``alpha_engine.store.TradingCalendar``)."""

    def is_session(self, day: date) -> bool: ...

    def previous_session(self, day: date) -> date: ...


@dataclass(frozen=True)
class Schedule:
    """One run this installation expects: which state machine, which window rule.

    ``role``: the ``pipeline_role`` the execution input must carry (None: any). ``count_shell_runs``:
    whether a shell run (``shell_run`` in the input) counts as the run. ``active``: whether this
    installation has that pipeline (inactive schedules are declared, never checked).
    """

    name: str
    state_machine: str
    rule: WindowRule
    role: str | None = None
    count_shell_runs: bool = False
    active: bool = True

    def matches(self, execution: StartedExecution) -> bool:
        return (execution.state_machine == self.state_machine
                and (self.role is None or execution.role == self.role)
                and (self.count_shell_runs or not execution.shell_run))


def declared_schedules(saturday_state_machine: str) -> list[Schedule]:
    """The schedules upstream watches. Only the Saturday pipeline exists locally; the weekday and
    EOD declarations are inactive until those pipelines do (their rules are implemented and tested)."""
    return [
        Schedule("saturday", saturday_state_machine, "saturday"),
        Schedule("weekday", "alpha-engine-weekday-pipeline", "weekday", active=False),
        Schedule("eod", "alpha-engine-eod-pipeline", "eod", role="eod", active=False),
    ]


@dataclass(frozen=True)
class StartedExecution:
    """What the watchdog needs of one execution (``ListExecutions`` plus the input's flags)."""

    name: str
    state_machine: str
    start: datetime
    status: str
    role: str | None = None
    shell_run: bool = False

    @classmethod
    def from_record(cls, record: Any) -> StartedExecution:
        """From a runtime ``ExecutionRecord`` (``start_date`` in epoch seconds, ``input`` JSON text)."""
        given = json.loads(record.input or "{}")
        if not isinstance(given, dict):
            raise ValueError(f"execution {record.name}: its input is not a JSON object")
        role = given.get("pipeline_role")
        return cls(name=str(record.name), state_machine=str(record.state_machine_name),
                   start=datetime.fromtimestamp(float(record.start_date), UTC), status=str(record.status),
                   role=str(role) if role else None, shell_run=given.get("shell_run") is True)


@dataclass(frozen=True)
class Window:
    """``[start, end]`` in UTC; ``key`` names the expected run (its day), for the alert's dedup key."""

    start: datetime
    end: datetime
    key: str

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def holds(self, when: datetime) -> bool:
        return self.start <= when <= self.end

    def to_json(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "hours": round(self.hours, 3), "key": self.key}


@dataclass(frozen=True)
class Verdict:
    """One schedule's answer: ``ok`` (started in the window), ``missed`` or ``not_due``."""

    schedule: str
    state_machine: str
    status: VerdictStatus
    reason: str
    window: Window | None = None
    execution: str | None = None

    @property
    def dedup_key(self) -> str:
        """One alert per schedule and window (the window's key is the expected run's day)."""
        return f"watchdog:{self.schedule}:{self.window.key if self.window else '-'}"

    def to_json(self) -> dict[str, Any]:
        return {"schedule": self.schedule, "state_machine": self.state_machine, "status": self.status,
                "reason": self.reason, "window": self.window.to_json() if self.window else None,
                "execution": self.execution}


def expected_window(rule: WindowRule, now: datetime, calendar: _Calendar) -> Window | None:
    """The window a check at ``now`` (timezone-aware) expects a start in, or None when nothing is due."""
    return _window(rule, _utc(now), calendar)[0]


def check_schedules(schedules: Iterable[Schedule], executions: Sequence[StartedExecution], now: datetime,
                    calendar: _Calendar) -> list[Verdict]:
    """One verdict per schedule, in the given order (pure: the same inputs give the same verdicts)."""
    at = _utc(now)
    verdicts = []
    for schedule in schedules:
        window, why = _window(schedule.rule, at, calendar)
        if window is None:
            verdicts.append(Verdict(schedule.name, schedule.state_machine, "not_due", why))
            continue
        started = sorted((e for e in executions if schedule.matches(e) and window.holds(e.start)),
                         key=lambda e: (e.start, e.name))
        span = f"{_iso(window.start)} .. {_iso(window.end)} ({window.hours:g} h, {why})"
        if started:
            first = started[0]
            verdicts.append(Verdict(schedule.name, schedule.state_machine, "ok",
                                    f"{first.name} started {_iso(first.start)} ({first.status}) in {span}",
                                    window, first.name))
        else:
            verdicts.append(Verdict(schedule.name, schedule.state_machine, "missed",
                                    f"no {_what(schedule)} started in {span}", window))
    return verdicts


def watchdog_alert(verdict: Verdict) -> tuple[str, str]:
    """The subject (at most 100 characters, as SNS allows) and message of a missed window's alert."""
    subject = f"Alpha Engine watchdog — {verdict.schedule} pipeline never started"[:100]
    message = (f"The {verdict.schedule} pipeline ({verdict.state_machine}) did not start when expected: "
               f"{verdict.reason}. Look at the scheduler that starts it (alpha-engine status lists the "
               f"executions), then start the run: alpha-engine run.")
    return subject, message


def list_started(lister: Callable[[], Iterable[Any]], where: str) -> list[StartedExecution]:
    """The executions ``lister`` returns (runtime records), or :class:`WatchdogError` naming the cause.

    Any failure (an unreadable or corrupt execution store, a record whose input is not JSON) fails
    loud, as upstream's ``ListExecutions`` error propagates: "ok" would be a lie.
    """
    try:
        return [StartedExecution.from_record(record) for record in lister()]
    except Exception as exc:  # whatever the store raises, the watchdog's answer is "cannot tell"
        raise WatchdogError(
            f"watchdog: cannot list the executions in {where}: {type(exc).__name__}: {exc}; no schedule was "
            "checked. Repair or restore the execution store (alpha-engine status shows whether it reads), "
            "then check again") from exc


def write_last_check(workspace: Path, at: datetime, verdicts: Sequence[Verdict], alerted: Sequence[str],
                     error: str | None = None) -> Path:
    """Write ``<workspace>/_watchdog/last_check.json`` (temp then rename) and return its path.

    ``alerted``: the dedup keys published by this check (not those suppressed within 12 h).
    ``error``: why the check could not run (then ``verdicts`` is empty), so the health overview
    shows a blind watchdog, never the previous check's "ok".
    """
    path = workspace / WATCHDOG_RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"checked_at": _iso(_utc(at)), "error": error, "missed": sum(v.status == "missed" for v in verdicts),
            "verdicts": [v.to_json() for v in verdicts], "alerted": list(alerted)}
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".last_check.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _window(rule: WindowRule, now: datetime, calendar: _Calendar) -> tuple[Window | None, str]:
    today = now.date()
    if rule == "saturday":
        if today.weekday() == _SATURDAY:
            return None, "the Saturday run is due today; the first check that can miss it is Sunday's"
        expected = today - timedelta(days=(today.weekday() - _SATURDAY) % 7)
        return Window(now - _SATURDAY_SPAN, now, expected.isoformat()), "7 d, the Saturday run"
    if not calendar.is_session(today):
        return None, f"{today.isoformat()} is not an NYSE trading day"
    if rule == "weekday":
        return Window(now - _WEEKDAY_SPAN, now, today.isoformat()), "24 h on a trading day"
    previous = calendar.previous_session(today)
    start = datetime.combine(previous, _EOD_ANCHOR) - _EOD_SLACK
    if start >= now:
        return None, f"the EOD window opens at {_iso(start)}"
    return Window(start, now, previous.isoformat()), f"EOD of {previous.isoformat()} from 20:00 UTC less 1 h slack"


def _what(schedule: Schedule) -> str:
    parts = [f"execution of {schedule.state_machine}"]
    if schedule.role:
        parts.append(f"with pipeline_role {schedule.role!r}")
    if not schedule.count_shell_runs:
        parts.append("(shell runs not counted)")
    return " ".join(parts)


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"watchdog: the check time must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
