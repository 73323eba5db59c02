"""``alpha-engine freshness``: the freshness monitor over the workspace's artifact store."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    ConfigOption,
    ExitCode,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
    parse_at,
)

freshness_app = typer.Typer(help="The freshness monitor: is every registered artifact there and recent enough?",
                            no_args_is_help=True)


@freshness_app.command("check")
@command
def check_cmd(at: str = typer.Option(None, "--at", help="Check as of this ISO time (UTC when it names no zone); "
                                     "default now."),
              no_write: bool = typer.Option(False, "--no-write", help="Only check: write no results or heartbeat, "
                                            "emit no metrics, send no alerts."),
              registry: Path = typer.Option(None, "--registry", help="A registry file other than the packaged "
                                            "freshness_registry.yaml."),
              as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Run one freshness cycle: one line per missing, stale or probe_failed artifact, then the counts.

    Writes _freshness_monitor/check_results.json and heartbeat.json, emits the heartbeat and the
    cycle-completion metrics, and sends one alert per problem artifact per cycle through the
    notifications outbox (a rerun of the same cycle sends nothing new). Exit 1 when any artifact is
    missing, stale or probe_failed.
    """
    from alpha_engine.app import freshness_cycle
    from alpha_engine.health import FreshnessRegistryError

    settings, app = load_configured(config, workspace)
    when = parse_at(at)
    try:
        cycle = freshness_cycle(settings, app, when, write=not no_write, registry=registry)
    except FreshnessRegistryError as exc:
        raise UsageError(str(exc)) from None
    if as_json:
        emit_json({**cycle.to_json(), "alerted": list(cycle.alerted), "already_alerted": list(cycle.already_alerted),
                   "errors": cycle.errors, "written": cycle.written})
    else:
        for result in cycle.problems:
            typer.echo(f"{result.state:<12} {result.severity:<8} {result.spec.id}  {result.reason}")
        for error in cycle.errors:
            typer.echo(f"error        {error}")
        counts = ", ".join(f"{n} {state}" for state, n in cycle.counts.items())
        sent = f"; {len(cycle.alerted)} alert(s) sent, {len(cycle.already_alerted)} already sent this cycle"
        typer.echo(f"{len(cycle.results)} artifact(s): {counts}" + ("" if no_write else sent))
    if cycle.problems:
        raise typer.Exit(ExitCode.FAILED)
