"""``alpha-engine substrate check``: the substrate inventory against the workspace, read-only."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import (
    ConfigOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    load_configured,
    parse_date,
    utc_now,
)

substrate_app = typer.Typer(help="Substrate health: the inventory's rows checked against the workspace.",
                            no_args_is_help=True)


@substrate_app.command("check")
@command
def check_cmd(
    cadence: str = typer.Option(..., "--cadence", help="daily (daily rows), weekly (weekly and daily rows) or "
                                "per_event (per_event rows)."),
    run_date: str = typer.Option(None, "--run-date", help="YYYY-MM-DD the rows are checked for (keys with {date} "
                                 "walk back from it). Default: the app's default run date."),
    inventory: Path = typer.Option(None, "--inventory", help="An inventory YAML file instead of the configured one."),
    as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption,
) -> None:
    """Check every substrate row the cadence covers against the workspace, read-only: no metric is
    emitted and no report is written (WeeklySubstrateHealthCheck does both). One line per row;
    exit 1 iff a row is fail or error."""
    from alpha_engine.app import configured_inventory
    from alpha_engine.health import SUBSTRATE_CADENCES, check_substrate
    from alpha_engine.pipeline import ARTIFACTS, METRICS

    if cadence not in SUBSTRATE_CADENCES:
        raise UsageError(f"--cadence must be one of {', '.join(SUBSTRATE_CADENCES)}, got {cadence!r}")
    settings, app = load_configured(config, workspace)
    found = configured_inventory(settings, app, inventory)
    if found is None:
        raise UsageError(f"the pipeline app {settings.pipeline.app} has no substrate stage; name an inventory "
                         "with --inventory")
    now = utc_now()
    day = parse_date(run_date) if run_date else app.default_run_date(settings, now.date())
    resources = app.open_resources(settings, read_only=True)
    metrics = resources.get(METRICS) if resources.wired(METRICS) else None
    report = check_substrate(found, cadence, run_date=day, artifacts=resources.get(ARTIFACTS), metrics=metrics,
                             workspace=settings.workspace, now=now)
    if as_json:
        emit_json({**report.to_json(), "inventory": str(found.path)})
    else:
        for row in report.rows:
            typer.echo(f"{row.status:<17} {row.id:<24} {row.reason}")
        pct = "-" if report.pct_ok is None else f"{report.pct_ok:g}%"
        typer.echo(f"{len(report.rows)} row(s) for cadence {cadence} on {day}: "
                   + ", ".join(f"{n} {s}" for s, n in report.counts.items() if n) + f"; {pct} ok ({found.path})")
    if report.failed:
        raise typer.Exit(1)
