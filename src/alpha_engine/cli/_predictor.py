"""``alpha-engine predictor``: list, show, promote, rollback registered models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._common import emit_json, fail
from ._settings_opts import ConfigOption, HomeOption, settings_from

predictor_app = typer.Typer(help="The predictor's model registry: challengers and the champion.",
                            no_args_is_help=True)


def _registry(config: Path | None, workspace: Path | None, *, writable: bool = False) -> Any:
    from alpha_engine.predictor import ModelRegistry
    from alpha_engine.store import ArtifactStore

    settings = settings_from(config, workspace)
    return ModelRegistry(ArtifactStore(settings.artifacts_uri, read_only=not writable))


@predictor_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
             config: Path = ConfigOption, workspace: Path = HomeOption) -> None:
    """Every registered model version, oldest first, with its CPCV IC; the champion is marked (and
    whether it serves provisionally)."""
    registry = _registry(config, workspace)
    champion = registry.champion()
    provisional = registry.champion_is_provisional()
    rows = []
    for entry in registry.versions():
        manifest = registry.manifest(entry["version_id"])
        validation = manifest.get("validation", {})
        rows.append({"version_id": entry["version_id"], "run_date": entry.get("run_date"),
                     "champion": entry["version_id"] == champion,
                     "cpcv_mean_ic": validation.get("cpcv", {}).get("mean_ic"),
                     "meta_oos_ic": validation.get("meta_oos_ic", {}).get("mean")})
    if as_json:
        emit_json({"champion": champion, "champion_provisional": provisional, "versions": rows})
        return
    if not rows:
        typer.echo("(no registered models)")
    for row in rows:
        mark = "*" if row["champion"] else " "
        status = "  (provisional champion: has not passed the promotion gate)" if row["champion"] and provisional else ""
        typer.echo(f"{mark} {row['version_id']}  CPCV IC {row['cpcv_mean_ic']}  OOS IC {row['meta_oos_ic']}{status}")


@predictor_app.command("show")
def show_cmd(version: str = typer.Argument(None, help="Version id (default: the champion)."),
             config: Path = ConfigOption, workspace: Path = HomeOption) -> None:
    """Print a version's manifest (every metric, data vintage, config)."""
    registry = _registry(config, workspace)
    version = version or registry.champion()
    if version is None:
        raise fail("no champion model yet; name a version (see 'alpha-engine predictor list')", 1)
    try:
        emit_json(registry.manifest(version))
    except Exception as exc:
        raise fail(str(exc), 1) from None


@predictor_app.command("promote")
def promote_cmd(version: str = typer.Argument(..., help="Version id to make the champion."),
                reason: str = typer.Option("manual promotion", "--reason", help="Recorded in the champion history."),
                config: Path = ConfigOption, workspace: Path = HomeOption) -> None:
    """Make a registered version the champion (recorded in the history, reversible with rollback)."""
    registry = _registry(config, workspace, writable=True)
    try:
        registry.promote(version, reason=reason)
    except Exception as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"champion: {version}")


@predictor_app.command("rollback")
def rollback_cmd(reason: str = typer.Option("manual rollback", "--reason", help="Recorded in the history."),
                 config: Path = ConfigOption, workspace: Path = HomeOption) -> None:
    """Restore the previous champion."""
    registry = _registry(config, workspace, writable=True)
    try:
        version = registry.rollback(reason=reason)
    except Exception as exc:
        raise fail(str(exc), 1) from None
    typer.echo(f"champion: {version}")
