"""``alpha-engine watchdog check``: did every expected execution start within its window?"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._common import (
    ConfigOption,
    ExitCode,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    err,
    load_configured,
    utc_now,
)

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.monitor import Verdict
    from alpha_engine.pipeline import PipelineApp

__all__ = ["watchdog_app"]

watchdog_app = typer.Typer(help="The watchdog: alert when an expected pipeline execution never started.",
                           no_args_is_help=True)

# How many executions the check lists (newest first): far more than 7 days of local runs.
_LISTED = 10_000


@watchdog_app.command("check")
@command
def check_cmd(at: str = typer.Option(None, "--at", help="Check as of this ISO time (UTC when it names no zone); "
                                     "default now."),
              as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Check each watched schedule's window, alert on the watchdog topic for a missed one, deliver it.

    Exits 1 when a window was missed, or when the executions cannot be listed (never "ok" then)."""
    from alpha_engine.monitor import (
        WATCHDOG_DEDUP_SECONDS,
        WatchdogError,
        check_schedules,
        watchdog_alert,
        write_last_check,
    )
    from alpha_engine.notify import WATCHDOG_TOPIC, deliver, publish_to_topic
    from alpha_engine.store import TradingCalendar

    settings, app = load_configured(config, workspace)
    when = utc_now() if at is None else _parse_at(at)
    schedules = [s for s in _schedules(settings) if s.active]
    try:
        started = _started(settings, app)
    except WatchdogError as exc:
        write_last_check(settings.workspace, when, [], [], error=str(exc))
        raise
    verdicts = check_schedules(schedules, started, when, TradingCalendar())
    alerted = []
    for verdict in verdicts:
        if verdict.status != "missed":
            continue
        subject, message = watchdog_alert(verdict)
        record = publish_to_topic(settings.workspace, WATCHDOG_TOPIC, subject=subject, message=message,
                                  dedup_key=verdict.dedup_key, now=when,
                                  message_id=f"{verdict.dedup_key}:{_iso(when)}",
                                  dedup_window_seconds=WATCHDOG_DEDUP_SECONDS)
        if record is not None:
            alerted.append(verdict.dedup_key)
    report = deliver(settings.workspace, settings.notify.channels, env=os.environ, now=lambda: datetime.now(UTC),
                     topics=(WATCHDOG_TOPIC,))
    write_last_check(settings.workspace, when, verdicts, alerted)
    heartbeat = _heartbeat(settings, app, when) if at is None else None
    missed = [v for v in verdicts if v.status == "missed"]
    if as_json:
        emit_json({"checked_at": _iso(when), "verdicts": [v.to_json() for v in verdicts], "alerted": alerted,
                   "delivery": report.to_json(), "heartbeat": heartbeat})
    else:
        for verdict in verdicts:
            typer.echo(_line(verdict))
        if missed:
            err(f"watchdog: {len(alerted)} alert(s) published to the watchdog topic "
                f"({len(missed) - len(alerted)} already sent within 12 h); delivered: {report.summary()}")
        if missed and not any(WATCHDOG_TOPIC in c.topics for c in settings.notify.channels):
            err("warning: no channel subscribes to the watchdog topic (topics = [\"watchdog\"] in "
                "[[notify.channels]]; docs/notifications.md); the alert stays in notifications/watchdog.jsonl")
        for item in report.failed:
            err(f"undelivered: {item.subject!r} to channel {item.channel}: {item.error}")
        if heartbeat:
            err(f"warning: {heartbeat}")
    if missed:
        raise typer.Exit(ExitCode.FAILED)


def _schedules(settings: Settings) -> list[Any]:
    from alpha_engine.monitor import declared_schedules

    return declared_schedules(settings.pipeline.state_machine_name)


def _started(settings: Settings, app: PipelineApp) -> list[Any]:
    """The runtime's executions of this workspace (WatchdogError when they cannot be listed)."""
    from alpha_engine.monitor import list_started
    from alpha_engine.pipeline import LocalPipeline

    def lister() -> list[Any]:
        return LocalPipeline(settings, app=app).executions(limit=_LISTED)

    return list_started(lister, f"the execution store of {settings.workspace}")


def _heartbeat(settings: Settings, app: PipelineApp, when: datetime) -> str | None:
    """Emit ``AlphaEngine/Heartbeat{Process=watchdog}`` for a completed check at the real time (a
    check ``--at`` another time is a what-if and emits none); returns the problem if the emit failed
    (a heartbeat that cannot be written never hides the check's verdicts)."""
    from alpha_engine.pipeline import HEARTBEAT_METRIC, HEARTBEAT_NAMESPACE, METRICS

    try:
        metrics = app.open_resources(settings, read_only=False).get(METRICS)
        metrics.emit(HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC, 1.0, {"Process": "watchdog"}, when, "Count")
    except Exception as exc:  # reported, never fatal: the verdicts are the check's answer
        return f"could not emit the heartbeat {HEARTBEAT_NAMESPACE}/{HEARTBEAT_METRIC}{{Process=watchdog}}: {exc}"
    return None


def _line(verdict: Verdict) -> str:
    return f"{verdict.status:<8} {verdict.schedule:<9} {verdict.reason}"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_at(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at must be an ISO time such as 2026-12-06T14:00:00Z, got {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
