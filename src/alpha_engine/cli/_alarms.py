"""``alpha-engine alarms``: the alarms declared in code, their states and history, and a local evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import (
    ConfigOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
    parse_at,
)

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.monitor import AlarmBook

alarms_app = typer.Typer(help="Alarms over the metrics store (CloudWatch semantics): list, history, evaluate.",
                         no_args_is_help=True)


def _book(settings: Settings, *, read_only: bool) -> AlarmBook:
    from alpha_engine.monitor import AlarmBook

    return AlarmBook(settings.workspace / "alarms.db", read_only=read_only)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@alarms_app.command("list")
@command
def list_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every declared alarm with its last recorded state (INSUFFICIENT_DATA before its first evaluation)."""
    from alpha_engine.app import declared_alarms

    settings, app = load_configured(config, workspace)
    states = _book(settings, read_only=True).states()
    rows = []
    for alarm in declared_alarms(settings, app):
        state, reason, at = states.get(alarm.name, ("INSUFFICIENT_DATA", "not evaluated yet", None))
        rows.append({**alarm.to_json(), "state": state, "reason": reason, "evaluated_at": at})
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        dims = ",".join(f"{k}={v}" for k, v in row["dimensions"].items()) or "-"
        typer.echo(f"{row['state']:<17} {row['name']}  {row['namespace']}/{row['metric']} {dims}  "
                   f"{row['statistic']} {row['comparison']} {row['threshold']:g}, {row['datapoints_to_alarm']} of "
                   f"{row['evaluation_periods']} x {row['period']} s, missing={row['treat_missing_data']}")


@alarms_app.command("history")
@command
def history_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every recorded state change, oldest first: time, alarm, from -> to, reason."""
    settings, _ = load_configured(config, workspace)
    changes = _book(settings, read_only=True).history()
    if as_json:
        emit_json([c.to_json() for c in changes])
        return
    if not changes:
        typer.echo("(no alarm state changes recorded)")
    for c in changes:
        typer.echo(f"{_iso(c.at)}  {c.alarm}  {c.old} -> {c.new}\n    {c.reason}")


@alarms_app.command("evaluate")
@command
def evaluate_cmd(at: str = typer.Option(None, "--at", help="Evaluate as of this ISO time (UTC when it names no "
                                        "zone); default now."),
                 as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Evaluate every alarm, record the states, and notify each state change through the outbox."""
    from alpha_engine.app import alarm_evaluation
    from alpha_engine.pipeline import PipelineError

    settings, app = load_configured(config, workspace)
    when = parse_at(at)
    try:
        evaluations, changes = alarm_evaluation(settings, app, when)
    except PipelineError as exc:
        raise UsageError(str(exc)) from None
    if as_json:
        emit_json({"at": _iso(when), "alarms": [{"alarm": e.alarm, "state": e.state, "reason": e.reason}
                                                for e in evaluations],
                   "changes": [c.to_json() for c in changes]})
        return
    for e in evaluations:
        typer.echo(f"{e.state:<17} {e.alarm}  {e.reason}")
    typer.echo(f"{len(changes)} state change(s) recorded; those into or out of ALARM notified")

