"""``alpha-engine monitor tick``: what a scheduler runs every 15 minutes."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    ConfigOption,
    ExitCode,
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
    parse_at,
)

__all__ = ["monitor_app"]

monitor_app = typer.Typer(help="The monitors together, for a scheduler: freshness, watchdog, alarms, delivery.",
                          no_args_is_help=True)


@monitor_app.command("tick")
@command
def tick_cmd(at: str = typer.Option(None, "--at", help="Run as of this ISO time (UTC when it names no zone); "
                                    "default now."),
             as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Run the freshness cycle, the watchdog check and the alarm evaluation, then deliver the alerts:
    each part on its own (one that fails never skips the next). One line per part.

    Exit 0 when every part is ok, 1 when one found problems or failed, 75 while another tick runs
    on this workspace (that one does nothing). Schedule it with cron or a systemd timer
    (docs/observability.md, "The scheduler")."""
    from alpha_engine.app import monitor_tick

    settings, app = load_configured(config, workspace)
    report = monitor_tick(settings, app, parse_at(at))
    if as_json:
        emit_json(report.to_json())
    else:
        for part in report.parts:
            typer.echo(f"{part.status:<8} {part.name:<9} {part.summary}" + (f": {part.error}" if part.error else ""))
    if not report.ok:
        raise typer.Exit(ExitCode.FAILED)
