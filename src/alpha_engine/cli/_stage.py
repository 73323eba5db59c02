"""``alpha-engine stage run`` and ``alpha-engine logcapture run``: what a Task state executes.

Both are on the path of every stage process, so this module imports only what they need.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from ._common import (
    ConfigOption,
    FreezeOption,
    WorkspaceOption,
    check_run_date,
    command,
    err,
    load_configured,
    parse_date,
)

stage_app = typer.Typer(help="Run one pipeline stage (what a Task state executes).", no_args_is_help=True)
logcapture_app = typer.Typer(help="Run a command with its output teed to a log that is shipped on exit.",
                             no_args_is_help=True)


@stage_app.command("run")
@command
def stage_run_cmd(
    slug: str = typer.Argument(..., help="Stage slug (see 'alpha-engine stages')."),
    run_date: str = typer.Option(..., "--run-date", help="The run's date, YYYY-MM-DD."),
    preflight_only: bool = typer.Option(
        False, "--preflight-only", envvar="ALPHA_ENGINE_PREFLIGHT_ONLY",
        help="Run only the preflight, with the stores opened read-only (a shell run).",
    ),
    report: Path = typer.Option(None, "--report", help="Also write the outcome as JSON to this file."),
    execution_input: str = typer.Option(
        None, "--execution-input", envvar="ALPHA_ENGINE_EXECUTION_INPUT",
        help="The execution's input as a JSON object (its skip_<slug> flags, a control field such as "
             "regime_action), for a stage that receives it.",
    ),
    phase: str = typer.Option(
        None, "--phase", help="One phase of a polling stage: submit, poll or process (what the state machine's "
                              "Submit, Poll and process states run); without it the stage runs all three.",
    ),
    job: str = typer.Option(
        None, "--job", envvar="ALPHA_ENGINE_STAGE_JOB",
        help="The job (JSON object) the submit phase returned, for the poll and process phases.",
    ),
    freeze: bool = FreezeOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Boot a stage, run its preflight and (unless --preflight-only) its run; write health/{slug}.json.

    Exit codes: 0 ok, 1 run failed, 2 preflight failed, 64 usage (unknown stage, bad date or config).
    A failure is also written to $SFN_TERMINATION_MESSAGE_PATH when set (the Batch binding reads it).
    """

    from alpha_engine.pipeline import ExitCode, run_stage, write_report, write_termination_message


    day = parse_date(run_date)
    given = _json_object("--execution-input", execution_input)
    submitted = _json_object("--job", job)
    settings, app = load_configured(config, workspace, freeze=freeze)
    check_run_date(app, day)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", force=True)
    with _dying_at_once_on_sigint():
        result = run_stage(slug, day, settings=settings, app=app, preflight_only=preflight_only,
                           execution_input=given, phase=phase, job=submitted)
    if report is not None:
        write_report(report, result)
    write_termination_message(result)
    line = f"stage {result.slug}: {result.status} in {result.duration_seconds:.1f}s"
    err(line if result.error is None else f"{line}: {result.error}")
    raise typer.Exit(int(result.exit_code) if result.exit_code != ExitCode.OK else 0)


def _json_object(flag: str, text: str | None) -> dict[str, Any] | None:
    """The JSON object an option holds (None when not given); UsageError naming the flag otherwise."""
    import json

    from ._common import UsageError

    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{flag} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be a JSON object, got {text!r}")
    return value


@contextlib.contextmanager
def _dying_at_once_on_sigint() -> Iterator[None]:
    """While the stage runs, SIGINT kills its process at once (the kernel's default action, exit
    130), as SIGTERM does. Python's KeyboardInterrupt waits for native code to return and can be
    swallowed there: PredictorTraining sent SIGINT mid-fit ran on, wrote its outputs and exited 0.
    A SIGINT ignored on entry stays ignored; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@logcapture_app.command("run", context_settings={"allow_interspersed_args": False})
@command
def logcapture_run_cmd(
    command_words: list[str] = typer.Argument(..., metavar="COMMAND", help="The command and its arguments, after '--'."),
    slug: str = typer.Option(..., "--slug",
                             help="Log name: _logs/{slug}/{date}/{execution}/{attempt}-{host}-{HHMMSS}Z.log."),
    log: Path = typer.Option(None, "--log", help="Local log file (default: "
                             "<workspace>/logs/stages/{slug}/{date}/{execution}/{attempt}.log)."),
    run_date: str = typer.Option(None, "--run-date", help="Date in the shipped key (default: today, UTC)."),
    execution: str = typer.Option("manual", "--execution",
                                  help="The execution this attempt belongs to ('manual' when run by hand)."),
    attempt: str = typer.Option("0.0", "--attempt", help="The attempt: {redrive count}.{retry count}."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Run COMMAND (no shell), tee its merged output byte-exact to the console and a log, ship the
    log to the artifact store on every exit, and exit with the command's exit code (128+N if a
    signal N killed it)."""
    from alpha_engine.pipeline import run_with_log_capture, stage_log_path

    settings, app = load_configured(config, workspace)
    if run_date is not None:
        parse_date(run_date)
    day = run_date or datetime.now(UTC).date().isoformat()
    sink = app.open_artifacts(settings, read_only=False)
    try:
        path = log or stage_log_path(settings.workspace, slug, day, execution, attempt)
        result = run_with_log_capture(command_words, slug=slug, log_path=path, sink=sink, run_date=run_date,
                                      execution=execution, attempt=attempt)
    except ValueError as exc:
        from ._common import UsageError

        raise UsageError(str(exc)) from None
    raise typer.Exit(result.exit_code)
