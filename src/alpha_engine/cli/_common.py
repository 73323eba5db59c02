"""What every command shares: the options, loading the settings and the pipeline app, output
helpers, and the one error translation (:func:`command`).

Exit codes: 0 ok; 1 the operation failed (the message says what and where); 64 usage (a bad
argument, config file or stage name). ``alpha-engine stage run`` adds 2 for a failed preflight.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.pipeline import PipelineApp

__all__ = [
    "USAGE_EXIT",
    "ConfigOption",
    "JsonOption",
    "UsageError",
    "WorkspaceOption",
    "command",
    "emit_json",
    "err",
    "load_configured",
    "parse_date",
    "parse_input",
]

USAGE_EXIT = 64
BUSY_EXIT = 75  # EX_TEMPFAIL: another run holds the workspace; try again later

WorkspaceOption = typer.Option(
    None, "--workspace", "-w", envvar="ALPHA_ENGINE_HOME",
    help="Workspace directory for everything a run writes: artifacts, market store, execution database, "
         "notification outbox (default: $ALPHA_ENGINE_HOME or ./.alpha-engine).",
)
ConfigOption = typer.Option(
    None, "--config", "-c", envvar="ALPHA_ENGINE_CONFIG",
    help="Config file (TOML or YAML). Default: <workspace>/config.toml or config.yaml if present.",
)
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")

P = ParamSpec("P")
R = TypeVar("R")


class UsageError(Exception):
    """A command-line argument is wrong (exit 64)."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.config import ConfigError
    from alpha_engine.pipeline import StageDefinitionError, UnknownStageError

    return UsageError, ConfigError, StageDefinitionError, UnknownStageError


def _busy_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.pipeline import WorkspaceBusyError

    return (WorkspaceBusyError,)


def _operation_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.data import DataError
    from alpha_engine.pipeline import PipelineError
    from alpha_engine.predictor import PredictorError
    from alpha_engine.sfn import SfnError
    from alpha_engine.store import StoreError

    return SfnError, PipelineError, StoreError, DataError, PredictorError


def command(func: Callable[P, R]) -> Callable[P, R]:
    """Translate library errors into a clean message and exit code (the one place that does)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except _usage_errors() as exc:
            raise _fail(str(exc), USAGE_EXIT) from None
        except _busy_errors() as exc:
            raise _fail(str(exc), BUSY_EXIT) from None
        except _operation_errors() as exc:
            raise _fail(str(exc), 1) from None

    return wrapper


def _fail(message: str, code: int) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def load_configured(config: Path | None, workspace: Path | None) -> tuple[Settings, PipelineApp]:
    """The settings and the pipeline app they name, with every stage's options and the domains'
    settings validated (ConfigError naming the file and the field otherwise)."""
    from alpha_engine.config import load_settings
    from alpha_engine.pipeline import load_app

    settings = load_settings(config, workspace=workspace)
    app = load_app(settings.pipeline.app)
    app.check_settings(settings)
    return settings, app


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False))


def err(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def parse_input(text: str | None) -> Any:
    """``--input`` accepts JSON text or ``@file``."""
    if text is None:
        return {}
    try:
        if text.startswith("@"):
            return json.loads(Path(text[1:]).read_text())
        return json.loads(text)
    except FileNotFoundError:
        raise UsageError(f"--input file not found: {text[1:]}") from None
    except ValueError as exc:
        raise UsageError(f"--input is not valid JSON: {exc}") from None


def parse_date(text: str, option: str = "--run-date") -> Any:
    """A YYYY-MM-DD option value as a date (UsageError otherwise)."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} must be YYYY-MM-DD, got {text!r}") from None
