"""``alpha-engine stage run`` and ``alpha-engine logcapture run``: what a Task state executes."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from alpha_engine.pipeline import PipelineError
from alpha_engine.pipeline._local import stage_log_path
from alpha_engine.pipeline._logcapture import run_with_log_capture
from alpha_engine.pipeline._runner import ExitCode, run_stage, write_report

from ._common import err, fail
from ._settings_opts import USAGE_EXIT, ConfigOption, HomeOption, settings_from

stage_app = typer.Typer(help="Run one pipeline stage (what a Task state executes).", no_args_is_help=True)
logcapture_app = typer.Typer(help="Run a command with its output teed to a log that is shipped on exit.",
                             no_args_is_help=True)


def parse_run_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"--run-date must be YYYY-MM-DD, got {text!r}", USAGE_EXIT) from None


@stage_app.command("run")
def stage_run_cmd(
    slug: str = typer.Argument(..., help="Stage slug (see 'alpha-engine stages')."),
    run_date: str = typer.Option(..., "--run-date", help="The run's date, YYYY-MM-DD."),
    preflight_only: bool = typer.Option(
        False, "--preflight-only", envvar="ALPHA_ENGINE_PREFLIGHT_ONLY",
        help="Run only the preflight, with the stores opened read-only (a shell run).",
    ),
    report: Path = typer.Option(None, "--report", help="Also write the outcome as JSON to this file."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """Boot a stage, run its preflight and (unless --preflight-only) its run; write health/{slug}.json.

    Exit codes: 0 ok, 1 run failed, 2 preflight failed, 64 usage (unknown stage, bad date or config).
    """
    day = parse_run_date(run_date)
    settings = settings_from(config, workspace)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s", force=True)
    try:
        result = run_stage(slug, day, settings=settings, preflight_only=preflight_only)
    except PipelineError as exc:
        raise fail(str(exc), USAGE_EXIT) from None
    if report is not None:
        write_report(report, result)
    line = f"stage {slug}: {result.status} in {result.duration_seconds:.1f}s"
    err(line if result.error is None else f"{line}: {result.error}")
    raise typer.Exit(int(result.exit_code) if result.exit_code != ExitCode.OK else 0)


@logcapture_app.command("run", context_settings={"allow_interspersed_args": False})
def logcapture_run_cmd(
    command: list[str] = typer.Argument(..., help="The command and its arguments, after '--'."),
    slug: str = typer.Option(..., "--slug", help="Log name: _logs/{slug}/{date}/{host}-{HHMMSS}Z.log."),
    log: Path = typer.Option(None, "--log", help="Local log file (default: <workspace>/logs/stages/{slug}/{date}.log)."),
    run_date: str = typer.Option(None, "--run-date", help="Date in the shipped key (default: today, UTC)."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """Run COMMAND (no shell), tee its merged output byte-exact to the console and a log, ship the
    log to the artifact store on every exit, and exit with the command's exit code (128+N if a
    signal N killed it)."""
    from alpha_engine.store import ArtifactStore

    settings = settings_from(config, workspace)
    if run_date is not None:
        parse_run_date(run_date)
    day = run_date or datetime.now(UTC).date().isoformat()
    path = log or stage_log_path(settings.workspace, slug, day)
    sink = ArtifactStore(settings.artifacts_uri)
    try:
        result = run_with_log_capture(command, slug=slug, log_path=path, sink=sink, run_date=run_date)
    except ValueError as exc:
        raise fail(str(exc), USAGE_EXIT) from None
    raise typer.Exit(result.exit_code)
