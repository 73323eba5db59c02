"""``alpha-engine watchdog check``: did every expected execution start within its window?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import (
    ConfigOption,
    ExitCode,
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    err,
    load_configured,
    parse_at,
)

if TYPE_CHECKING:
    from alpha_engine.monitor import Verdict

__all__ = ["watchdog_app"]

watchdog_app = typer.Typer(help="The watchdog: alert when an expected pipeline execution never started.",
                           no_args_is_help=True)

@watchdog_app.command("check")
@command
def check_cmd(at: str = typer.Option(None, "--at", help="Check as of this ISO time (UTC when it names no zone); "
                                     "default now."),
              as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Check each watched schedule's window, alert on the watchdog topic for a missed one, deliver it.

    Exits 1 when a window was missed, or when the executions cannot be listed (never "ok" then)."""
    from alpha_engine.app import watchdog_check
    from alpha_engine.notify import WATCHDOG_TOPIC

    settings, app = load_configured(config, workspace)
    check = watchdog_check(settings, app, parse_at(at), heartbeat=at is None)
    missed, alerted, report = check.missed, check.alerted, check.delivery
    if as_json:
        emit_json(check.to_json())
    else:
        for verdict in check.verdicts:
            typer.echo(_line(verdict))
        if missed:
            err(f"watchdog: {len(alerted)} alert(s) published to the watchdog topic "
                f"({len(missed) - len(alerted)} already sent within 12 h); delivered: {report.summary()}")
        if missed and not any(WATCHDOG_TOPIC in c.topics for c in settings.notify.channels):
            err("warning: no channel subscribes to the watchdog topic (topics = [\"watchdog\"] in "
                "[[notify.channels]]; docs/notifications.md); the alert stays in notifications/watchdog.jsonl")
        for item in report.failed:
            err(f"undelivered: {item.subject!r} to channel {item.channel}: {item.error}")
        if check.heartbeat_problem:
            err(f"warning: {check.heartbeat_problem}")
    if missed:
        raise typer.Exit(ExitCode.FAILED)


def _line(verdict: Verdict) -> str:
    return f"{verdict.status:<8} {verdict.schedule:<9} {verdict.reason}"
