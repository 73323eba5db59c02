"""``alpha-engine health``: one screen over runs, stages, monitors, alarms and notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import ConfigOption, ExitCode, JsonOption, WorkspaceOption, command, emit_json, load_configured

__all__ = ["health_cmd"]


def _monitor_line(name: str, section: dict[str, Any]) -> str:
    if section["error"]:
        return f"{name:<10} unreadable: {section['error']}"
    if section["result"] is None:
        return f"{name:<10} not run yet"
    result = section["result"]
    when = result.get("checked_at") or result.get("run_date") or "?"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(section["counts"].items())) or "no counts"
    return f"{name:<10} {when}: {counts}" + (f"; {len(section['problems'])} problem(s)" if section["problems"] else "")


def _print(view: dict[str, Any]) -> None:
    echo = typer.echo
    echo(f"workspace {view['workspace']}")
    echo("")
    echo("runs:")
    for run in view["runs"] or [{"name": "(none yet)", "status": "", "run_date": "", "shell_run": False,
                                  "started": ""}]:
        echo(f"  {run['status']:<10} {run['name']}  run_date {run['run_date']}  started {run['started']}"
             + ("  (shell run)" if run["shell_run"] else ""))
    echo("")
    counts: dict[str, int] = {}
    for stage in view["stages"]:
        counts[stage["status"]] = counts.get(stage["status"], 0) + 1
    echo("stages: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for stage in view["stages"]:
        if stage["status"] not in ("ok", "never_run"):
            echo(f"  {stage['stage']} ({stage['failure_class']}): {stage['status']} for {stage['run_date']}: "
                 f"{stage['error'] or ''}")
    echo("")
    for name in ("freshness", "substrate", "watchdog"):
        echo(_monitor_line(name, view[name]))
        for problem in view[name]["problems"][:5]:
            echo(f"  {problem}")
    alarms = view["alarms"]
    echo("")
    echo(f"alarms: {alarms['evaluated']} evaluated, "
         + (", ".join(f"{k} {v}" for k, v in sorted(alarms["counts"].items())) or "none yet"))
    for alarm in alarms["in_alarm"]:
        echo(f"  ALARM {alarm['alarm']} since {alarm['since']}")
    notes = view["notifications"]
    echo("")
    echo(f"notifications (last {len(notes['last'])}):")
    for note in notes["last"]:
        echo(f"  {note['timestamp']}  [{note['topic']}] {note['subject']}")
    echo("")
    if view["attention"]:
        echo(f"attention ({len(view['attention'])}):")
        for item in view["attention"]:
            echo(f"  - {item}")
    else:
        echo("all clear")


@command
def health_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """One screen: the last runs, stage health, freshness, substrate rows, the watchdog, alarms in
    ALARM and the last notifications, then what needs attention. Reads only; exits 1 when anything
    needs attention (0: all clear)."""
    from alpha_engine.app import health_overview

    settings, app = load_configured(config, workspace)
    view = health_overview(settings, app)
    if as_json:
        emit_json(view)
    else:
        _print(view)
    if view["attention"]:
        raise typer.Exit(ExitCode.FAILED)
