"""Options every pipeline command shares: where the config and the workspace are."""

from __future__ import annotations

from pathlib import Path

import typer

from alpha_engine.config import ConfigError, Settings, load_settings

from ._common import fail

__all__ = ["ConfigOption", "HomeOption", "settings_from"]

ConfigOption = typer.Option(
    None, "--config", "-c", envvar="ALPHA_ENGINE_CONFIG",
    help="Config file (TOML or YAML). Default: <workspace>/config.toml or config.yaml if present.",
)
HomeOption = typer.Option(
    None, "--workspace", "-w", envvar="ALPHA_ENGINE_HOME",
    help="Workspace directory for everything a run writes (default: $ALPHA_ENGINE_HOME or ./.alpha-engine).",
)

USAGE_EXIT = 64


def settings_from(config: Path | None, workspace: Path | None) -> Settings:
    try:
        return load_settings(config, workspace=workspace)
    except ConfigError as exc:
        raise fail(str(exc), USAGE_EXIT) from None
