"""``alpha-engine predictor``: list, show, decisions, promote, rollback registered models."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import ConfigOption, JsonOption, WorkspaceOption, command, emit_json, load_configured

if TYPE_CHECKING:
    from alpha_engine.predictor import ModelRegistry

predictor_app = typer.Typer(help="The predictor's model registry: challengers and the champion.",
                            no_args_is_help=True)


def _registry(config: Path | None, workspace: Path | None, *, writable: bool = False) -> ModelRegistry:
    from alpha_engine.predictor import ModelRegistry

    settings, app = load_configured(config, workspace)
    return ModelRegistry(app.open_artifacts(settings, read_only=not writable))


@predictor_app.command("list")
@command
def list_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every registered model version, oldest first, with its out-of-sample IC, the IC's robust
    interval, DSR and skill-gate verdict; the champion is marked (and whether it serves provisionally)."""
    listing = _registry(config, workspace).listing()
    if as_json:
        emit_json(listing)
        return
    if not listing["versions"]:
        typer.echo("(no registered models)")
    for row in listing["versions"]:
        mark = "*" if row["champion"] else " "
        status = ("  (provisional champion: has not passed the skill gate)"
                  if row["champion"] and listing["champion_provisional"] else "")
        low, high = (_fmt(v) for v in row["ic_ci"])
        verdict = "skill" if row["skill_gate"] else "no detectable skill"
        typer.echo(f"{mark} {row['version_id']}  OOS IC {_fmt(row['meta_oos_ic'])} [{low}, {high}]  "
                   f"DSR {_fmt(row['dsr'])}  {verdict}{status}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@predictor_app.command("decisions")
@command
def decisions_cmd(as_json: bool = JsonOption, config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Every promotion decision PredictorTraining recorded, oldest first: the action, the champion
    before and after, and why (the figures are in --json and in each challenger's report)."""
    decisions = _registry(config, workspace).decisions()
    if as_json:
        emit_json(decisions)
        return
    if not decisions:
        typer.echo("(no promotion decisions recorded)")
    for d in decisions:
        after = f"{d['champion_after'] or 'none'}{' (provisional)' if d['provisional_after'] else ''}"
        typer.echo(f"{d['run_date']}  {d['action']:<19} {d['challenger']}  champion: {after}\n    {d['reason']}")


@predictor_app.command("show")
@command
def show_cmd(version: str = typer.Argument(None, help="Version id (default: the champion)."),
             config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Print a version's manifest (every metric, data vintage, config)."""
    registry = _registry(config, workspace)
    chosen = version or registry.champion()
    if chosen is None:
        from alpha_engine.predictor import RegistryError

        raise RegistryError("no champion model yet; name a version (see 'alpha-engine predictor list')")
    emit_json(registry.manifest(chosen))


@predictor_app.command("promote")
@command
def promote_cmd(version: str = typer.Argument(..., help="Version id to make the champion."),
                reason: str = typer.Option("manual promotion", "--reason", help="Recorded in the champion history."),
                config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Make a registered version the champion (recorded in the history, reversible with rollback)."""
    _registry(config, workspace, writable=True).promote(version, reason=reason)
    typer.echo(f"champion: {version}")


@predictor_app.command("rollback")
@command
def rollback_cmd(reason: str = typer.Option("manual rollback", "--reason", help="Recorded in the history."),
                 config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Restore the previous champion."""
    version = _registry(config, workspace, writable=True).rollback(reason=reason)
    typer.echo(f"champion: {version}")
