"""The monitors over a workspace, wired to its stores: the freshness cycle, the watchdog check, the
alarm evaluation, and ``monitor_tick``, which runs all three and delivers what they published.

``alpha-engine freshness check``, ``watchdog check``, ``alarms evaluate`` and ``monitor tick``
each make one call here. The tick is what a scheduler runs (cron or a systemd timer every 15
minutes, as upstream's freshness monitor; docs/observability.md, "The scheduler"):

1. the freshness cycle (alerts to the ``alerts`` topic, one per artifact per cycle);
2. the watchdog check (alerts to its own ``watchdog`` topic, delivered by the check itself);
3. the alarm evaluation (state changes to the ``alerts`` topic);
4. the delivery of the ``alerts`` topic to its channels.

Each part is isolated: one that raises is reported with its error and the next still runs (the
lesson of upstream's routing quirk c, where one failed send skipped the next check). Two ticks never
overlap on one workspace: the second is refused at once (:class:`MonitorBusyError`) and does
nothing, so a slow tick and the next cron start cannot double-alert.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alpha_engine.config import Settings
from alpha_engine.health import (
    FreshnessCycle,
    Inventory,
    WeeklySubstrateHealthCheck,
    load_inventory,
    load_registry,
    run_freshness_cycle,
)
from alpha_engine.monitor import (
    WATCHDOG_DEDUP_SECONDS,
    Alarm,
    AlarmBook,
    Evaluation,
    StateChange,
    Verdict,
    WatchdogError,
    check_schedules,
    declared_schedules,
    default_alarms,
    evaluate_all,
    list_started,
    watchdog_alert,
    write_last_check,
)
from alpha_engine.notify import ALERTS_TOPIC, WATCHDOG_TOPIC, DeliveryReport, deliver, publish_to_topic
from alpha_engine.pipeline import (
    ARTIFACTS,
    HEARTBEAT_METRIC,
    HEARTBEAT_NAMESPACE,
    METRICS,
    LocalPipeline,
    PipelineApp,
    PipelineError,
    WorkspaceBusyError,
    heartbeat,
)
from alpha_engine.store import SqliteMetrics

from ._resources import open_notifications

__all__ = [
    "MONITOR_LOCK",
    "MonitorBusyError",
    "TickPart",
    "TickReport",
    "WatchdogCheck",
    "alarm_evaluation",
    "configured_inventory",
    "declared_alarms",
    "freshness_cycle",
    "monitor_tick",
    "watchdog_check",
]

MONITOR_LOCK = "monitor.lock"  # relative to the workspace
# How many executions the watchdog lists (newest first): far more than 7 days of local runs.
_LISTED = 10_000


class MonitorBusyError(WorkspaceBusyError):
    """Another ``monitor tick`` holds this workspace's monitor lock (exit 75, as a busy workspace)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- the freshness monitor ---------------------------------------------------------------------------


def freshness_cycle(settings: Settings, app: PipelineApp, at: datetime, *, write: bool = True,
                    registry: Path | None = None) -> FreshnessCycle:
    """One freshness cycle over the workspace's artifact store (``registry``: another registry file
    than the packaged one). Without ``write`` it only checks: no results, metrics or alerts."""
    from alpha_engine.store import TradingCalendar  # pandas and exchange_calendars: only when a monitor runs

    specs = load_registry(registry)
    resources = app.open_resources(settings, read_only=not write)
    notifier = open_notifications(settings, False, app.graph.contracts()) if write else None
    return run_freshness_cycle(specs, resources.get(ARTIFACTS), now=at, calendar=TradingCalendar(),
                               metrics=resources.get(METRICS) if write else None, notifier=notifier, write=write)


# -- the watchdog ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchdogCheck:
    """One watchdog check: a verdict per active schedule, the dedup keys it published (those already
    sent within 12 h are not), the delivery of the watchdog topic, and a heartbeat problem if any."""

    at: datetime
    verdicts: tuple[Verdict, ...]
    alerted: tuple[str, ...]
    delivery: DeliveryReport
    heartbeat_problem: str | None = None

    @property
    def missed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.status == "missed"]

    def to_json(self) -> dict[str, Any]:
        return {"checked_at": _iso(self.at), "verdicts": [v.to_json() for v in self.verdicts],
                "alerted": list(self.alerted), "delivery": self.delivery.to_json(),
                "heartbeat": self.heartbeat_problem}


def watchdog_check(settings: Settings, app: PipelineApp, at: datetime, *, heartbeat: bool = True,
                   env: Mapping[str, str] | None = None, now: Callable[[], datetime] = _utc_now) -> WatchdogCheck:
    """Check each active schedule's window at ``at``, publish a missed one to the watchdog topic
    (once per schedule and expected run per 12 h), deliver that topic, and record the check in
    ``<workspace>/_watchdog/last_check.json``. ``heartbeat``: emit ``Heartbeat{Process=watchdog}``
    (a what-if check at another time should not). Raises WatchdogError, after recording it, when
    the executions cannot be listed: never an "ok" it did not check."""
    from alpha_engine.store import TradingCalendar  # pandas and exchange_calendars: only when a monitor runs

    schedules = [s for s in declared_schedules(settings.pipeline.state_machine_name) if s.active]
    try:
        started = list_started(lambda: LocalPipeline(settings, app=app).executions(limit=_LISTED),
                               f"the execution store of {settings.workspace}")
    except WatchdogError as exc:
        write_last_check(settings.workspace, at, [], [], error=str(exc))
        raise
    verdicts = check_schedules(schedules, started, at, TradingCalendar())
    alerted = []
    for verdict in verdicts:
        if verdict.status != "missed":
            continue
        subject, message = watchdog_alert(verdict)
        record = publish_to_topic(settings.workspace, WATCHDOG_TOPIC, subject=subject, message=message,
                                  dedup_key=verdict.dedup_key, now=at, message_id=f"{verdict.dedup_key}:{_iso(at)}",
                                  dedup_window_seconds=WATCHDOG_DEDUP_SECONDS)
        if record is not None:
            alerted.append(verdict.dedup_key)
    report = deliver(settings.workspace, settings.notify.channels, env=os.environ if env is None else env, now=now,
                     topics=(WATCHDOG_TOPIC,))
    write_last_check(settings.workspace, at, verdicts, alerted)
    problem = _watchdog_heartbeat(settings, app, at) if heartbeat else None
    return WatchdogCheck(at, tuple(verdicts), tuple(alerted), report, problem)


def _watchdog_heartbeat(settings: Settings, app: PipelineApp, at: datetime) -> str | None:
    """Emit ``AlphaEngine/Heartbeat{Process=watchdog}``; the problem when it cannot be written (a
    heartbeat never hides the check's verdicts)."""
    try:
        metrics = app.open_resources(settings, read_only=False).get(METRICS)
        metrics.emit_many([heartbeat("watchdog", at)])
    except Exception as exc:  # noqa: BLE001 (reported, never fatal)
        return f"could not emit the heartbeat {HEARTBEAT_NAMESPACE}/{HEARTBEAT_METRIC}{{Process=watchdog}}: {exc}"
    return None


# -- alarms ------------------------------------------------------------------------------------------


def configured_inventory(settings: Settings, app: PipelineApp, path: Path | None = None) -> Inventory | None:
    """The substrate inventory ``path`` names, else the one the app's substrate stage is configured
    with (``[stages.weekly-substrate-health-check] inventory``, default the packaged one); None when
    the app has no substrate stage and no ``path`` is given."""
    if path is not None:
        return load_inventory(path)
    stages = [s for s in app.graph.stages() if issubclass(s, WeeklySubstrateHealthCheck)]
    if not stages:
        return None
    configured = getattr(app.stage_options(settings, stages[0]), "inventory", None)
    return load_inventory(None if configured is None else Path(configured).expanduser())


def declared_alarms(settings: Settings, app: PipelineApp) -> list[Alarm]:
    """Every alarm this installation declares: a weekly heartbeat alarm per stage of the app's
    graph, the health-check failure alarm, the eval-quality floor, and a substrate alarm per row
    of the configured inventory plus the aggregate one."""
    inventory = configured_inventory(settings, app)
    return default_alarms((stage.slug for stage in app.graph.stages()),
                          substrate_rows=inventory.row_ids if inventory is not None else ())


def alarm_evaluation(settings: Settings, app: PipelineApp, at: datetime) -> tuple[list[Evaluation], list[StateChange]]:
    """Evaluate every declared alarm at ``at`` over the workspace's metrics.db, record the states in
    ``<workspace>/alarms.db`` and publish each change into or out of ALARM to the notifications outbox. Raises
    PipelineError when the metrics are on CloudWatch: there the alarms are CloudWatch's own."""
    metrics = app.open_resources(settings, read_only=True).get(METRICS)
    if not isinstance(metrics, SqliteMetrics):
        raise PipelineError(f"metrics go to {type(metrics).__name__} (pipeline.metrics_uri "
                            f"{settings.pipeline.metrics_uri!r}); alarms are evaluated locally over the workspace's "
                            "metrics.db only, on CloudWatch by CloudWatch")
    notifier = open_notifications(settings, False, app.graph.contracts())
    book = AlarmBook(settings.workspace / "alarms.db")
    return evaluate_all(declared_alarms(settings, app), metrics, book, at, notifier)


# -- the tick ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickPart:
    """One part of a tick: ``ok``, ``problems`` (it ran and found some), or ``error`` (it raised)."""

    name: str
    status: str
    summary: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"part": self.name, "status": self.status, "summary": self.summary, "error": self.error}


@dataclass(frozen=True)
class TickReport:
    at: datetime
    parts: tuple[TickPart, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(p.status == "ok" for p in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "ok": self.ok, "parts": [p.to_json() for p in self.parts]}


def _freshness_part(settings: Settings, app: PipelineApp, at: datetime) -> TickPart:
    cycle = freshness_cycle(settings, app, at)
    counts = ", ".join(f"{n} {state}" for state, n in cycle.counts.items())
    summary = (f"{len(cycle.results)} artifact(s): {counts}; {len(cycle.alerted)} alert(s) sent"
               + (f"; {len(cycle.errors)} error(s): {'; '.join(cycle.errors)}" if cycle.errors else ""))
    return TickPart("freshness", "problems" if cycle.problems or cycle.errors else "ok", summary)


def _watchdog_part(settings: Settings, app: PipelineApp, at: datetime, env: Mapping[str, str] | None,
                   now: Callable[[], datetime]) -> TickPart:
    check = watchdog_check(settings, app, at, env=env, now=now)
    summary = "; ".join(f"{v.schedule} {v.status}" for v in check.verdicts) or "no active schedule"
    summary += f"; {len(check.alerted)} alert(s) published; delivered: {check.delivery.summary()}"
    if check.heartbeat_problem:
        summary += f"; {check.heartbeat_problem}"
    bad = check.missed or check.delivery.failed or check.heartbeat_problem
    return TickPart("watchdog", "problems" if bad else "ok", summary)


def _alarms_part(settings: Settings, app: PipelineApp, at: datetime) -> TickPart:
    evaluations, changes = alarm_evaluation(settings, app, at)
    firing = sorted(e.alarm for e in evaluations if e.state == "ALARM")
    summary = f"{len(evaluations)} alarm(s), {len(changes)} change(s)" + (
        f"; in ALARM: {', '.join(firing)}" if firing else "")
    return TickPart("alarms", "problems" if firing else "ok", summary)


def _delivery_part(settings: Settings, env: Mapping[str, str] | None, now: Callable[[], datetime]) -> TickPart:
    report = deliver(settings.workspace, settings.notify.channels, env=os.environ if env is None else env, now=now,
                     topics=(ALERTS_TOPIC,))
    summary = report.summary() if settings.notify.channels else "no channel configured (the outbox keeps them)"
    failed = "; ".join(f"{d.channel}: {d.error}" for d in report.failed)
    return TickPart("delivery", "problems" if report.failed else "ok", summary + (f"; failed: {failed}" if failed else ""))


def monitor_tick(settings: Settings, app: PipelineApp, at: datetime, *, env: Mapping[str, str] | None = None,
                 now: Callable[[], datetime] = _utc_now) -> TickReport:
    """Run the freshness cycle, the watchdog, the alarm evaluation and the delivery at ``at``, each
    isolated (module docstring). Raises MonitorBusyError, doing nothing, while another tick runs."""
    path = settings.workspace / MONITOR_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MonitorBusyError(f"workspace {settings.workspace} is busy: another 'alpha-engine monitor tick' is "
                                   "running; this one did nothing (the next scheduled tick will run)") from None
        parts = []
        steps: list[tuple[str, Callable[[], TickPart]]] = [
            ("freshness", lambda: _freshness_part(settings, app, at)),
            ("watchdog", lambda: _watchdog_part(settings, app, at, env, now)),
            ("alarms", lambda: _alarms_part(settings, app, at)),
            ("delivery", lambda: _delivery_part(settings, env, now)),
        ]
        for name, step in steps:
            try:
                parts.append(step())
            except Exception as exc:  # noqa: BLE001 (one part's failure never skips the next)
                parts.append(TickPart(name, "error", "did not complete", f"{type(exc).__name__}: {exc}"))
        return TickReport(at, tuple(parts))
    finally:
        os.close(fd)
