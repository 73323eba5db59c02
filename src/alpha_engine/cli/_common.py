"""What every command shares: the options, loading the settings and the pipeline app, output
helpers, the run-date check, and the one error translation (:func:`command`).

Exit codes (:class:`ExitCode`; the same table is in docs/cli.md):

* 0 ``OK``: the command did what it was asked.
* 1 ``FAILED``: the operation failed; the message says what, where and what to do next.
* 2 ``PREFLIGHT_FAILED``: a stage's preflight failed (``alpha-engine stage run``, and ``data ingest``,
  which runs DataPhase1).
* 64 ``USAGE``: a bad argument, option, config file, run_date or stage name, including click's
  own usage errors (a missing or unknown option), which click alone would exit 2 for.
* 75 ``BUSY``: another ``run``, ``resume`` or ``redrive`` holds the workspace (one run per workspace).
* 128+N (:func:`signal_exit_code`): stopped by signal N (130 for SIGINT, 143 for SIGTERM).

With ``--json``, a command that fails prints one JSON object on stdout,
``{"error": {"type": ..., "message": ..., "exit_code": ...}}``, besides the red line on stderr.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.pipeline import PipelineApp

__all__ = [
    "BUSY_EXIT",
    "CLICK_EXCEPTION",
    "CLICK_USAGE_ERROR",
    "RUN_DATE_HELP",
    "USAGE_EXIT",
    "ConfigOption",
    "ExitCode",
    "JsonOption",
    "UsageError",
    "WorkspaceOption",
    "check_run_date",
    "command",
    "emit_json",
    "emit_error",
    "err",
    "json_requested",
    "load_configured",
    "parse_date",
    "parse_input",
    "signal_exit_code",
    "utc_now",
    "warn",
]


class ExitCode(IntEnum):
    """Every exit code of ``alpha-engine`` (the table in the module docstring and docs/cli.md)."""

    OK = 0
    FAILED = 1
    PREFLIGHT_FAILED = 2
    USAGE = 64
    BUSY = 75


USAGE_EXIT = ExitCode.USAGE
BUSY_EXIT = ExitCode.BUSY
_SIGNAL_BASE = 128


def signal_exit_code(signum: int) -> int:
    """The exit code of a command stopped by signal ``signum``: 128 + N, as a shell reports it."""
    return _SIGNAL_BASE + int(signum)


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
FreezeOption = typer.Option(
    False, "--freeze",
    help="Compute and record every config change (the Evaluator's auto-apply and regression rollback) as "
         "'would apply', but write no config (freeze_config; $ALPHA_ENGINE_FREEZE_CONFIG).",
)
# What the shipped app's run-date policy does (alpha_engine.app.default_run_date, check_run_date).
RUN_DATE_HELP = ("YYYY-MM-DD. Default: for a provider with a fixed dataset (sample, files, synthetic) the first "
                 "Saturday after its last bar (the sample: 2022-12-31); for a live feed (yfinance, polygon) "
                 "today, UTC. A date whose session has not closed yet is refused (exit 64); a day other "
                 "than Saturday runs with a warning.")

P = ParamSpec("P")
R = TypeVar("R")

# click's exception classes, reached through typer's public BadParameter (typer may vendor click).
CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
CLICK_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class UsageError(Exception):
    """A command-line argument is wrong (exit 64)."""


def _usage_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.config import ConfigError
    from alpha_engine.deploy import TemplateError
    from alpha_engine.health import SubstrateInventoryError
    from alpha_engine.pipeline import RunDateError, StageDefinitionError, UnknownStageError

    return (UsageError, ConfigError, StageDefinitionError, UnknownStageError, RunDateError, SubstrateInventoryError,
            TemplateError)


def _busy_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.pipeline import WorkspaceBusyError

    return (WorkspaceBusyError,)


def _operation_errors() -> tuple[type[BaseException], ...]:
    from alpha_engine.data import DataError
    from alpha_engine.deploy import DeployError
    from alpha_engine.evaluator import EvaluatorError
    from alpha_engine.pipeline import PipelineError
    from alpha_engine.predictor import PredictorError
    from alpha_engine.sfn import SfnError
    from alpha_engine.store import StoreError

    return SfnError, PipelineError, StoreError, DataError, PredictorError, EvaluatorError, DeployError


def command(func: Callable[P, R]) -> Callable[P, R]:
    """Translate library errors into a clean message and exit code (the one place that does);
    with ``--json`` (the ``as_json`` parameter) also into one JSON error object on stdout."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json"))
        _WARNINGS.clear()
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, CLICK_EXCEPTION):
            raise
        except _usage_errors() as exc:
            raise _fail(exc, ExitCode.USAGE, as_json) from None
        except _busy_errors() as exc:
            raise _fail(exc, ExitCode.BUSY, as_json) from None
        except _operation_errors() as exc:
            raise _fail(exc, ExitCode.FAILED, as_json) from None
        except Exception as exc:  # a bug: the traceback follows, but --json still gets its object
            if as_json:
                emit_error(type(exc).__name__, str(exc), ExitCode.FAILED)
            raise

    return wrapper


def _fail(exc: BaseException, code: int, as_json: bool) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    if as_json:
        emit_error(type(exc).__name__, str(exc), code)
    return typer.Exit(code)


def emit_error(error_type: str, message: str, code: int) -> None:
    """The JSON error object a failing ``--json`` command prints on stdout (one per command)."""
    typer.echo(json.dumps({"error": {"type": error_type, "message": message, "exit_code": int(code)}},
                          ensure_ascii=False))


# Warnings about the command's input (warn), for --json output; reset per command.
_WARNINGS: list[str] = []


def warn(message: str) -> None:
    """One line on stderr now, and an entry of ``input_warnings`` in this command's JSON output."""
    _WARNINGS.append(message)
    typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)


def utc_now() -> datetime:
    """The wall clock the run-date check reads (one seam: tests replace it)."""
    return datetime.now(UTC)


def parse_at(text: str | None) -> datetime:
    """An ``--at`` option: an ISO time, UTC when it names no zone; None is now (UsageError when bad)."""
    if text is None:
        return utc_now()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at must be an ISO time such as 2026-12-05T12:00:00Z, got {text!r}") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def check_run_date(app: PipelineApp, day: date) -> None:
    """Ask the app's run-date policy about ``day`` now: warnings go through :func:`warn`; a refused
    date raises RunDateError (exit 64) before anything is opened or written."""
    for warning in app.check_run_date(day, utc_now()):
        warn(warning)


def load_configured(config: Path | None, workspace: Path | None, *,
                    freeze: bool = False) -> tuple[Settings, PipelineApp]:
    """The settings and the pipeline app they name, with every stage's options and the domains'
    settings validated (ConfigError naming the file and the field otherwise). ``freeze``: the
    ``--freeze`` flag (``freeze_config``, passed on to the stage processes)."""
    from alpha_engine.config import load_settings
    from alpha_engine.pipeline import load_app

    settings = load_settings(config, workspace=workspace, freeze_config=True) if freeze else \
        load_settings(config, workspace=workspace)
    app = load_app(settings.pipeline.app)
    app.check_settings(settings)
    return settings, app


def emit_json(value: Any) -> None:
    """The command's JSON output; an object also carries the command's :func:`warn` lines."""
    if isinstance(value, dict) and _WARNINGS and "input_warnings" not in value:
        value = {**value, "input_warnings": list(_WARNINGS)}
    typer.echo(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False))


def json_requested(args: Sequence[str]) -> bool:
    """Whether a command line asks for ``--json`` (before any ``--``)."""
    words = list(args)
    return "--json" in (words[:words.index("--")] if "--" in words else words)


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
