"""The local Lambda handler behind every lambda-compute stage.

The Lambda binding runs this in a child process per invocation. It runs the same command a
Batch stage runs, ``alpha-engine logcapture run ... -- alpha-engine stage run SLUG``, so every
stage's output is teed and shipped to ``_logs/`` whatever its compute kind. A stage that fails
raises :class:`StageFailed` (or :class:`StagePreflightFailed`), whose name becomes the Task's
error, so the state machine's Catch sees an application error that Lambda retries never touch.

Only the standard library and the framework's artifact declarations are imported here: the child
boots fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._artifacts import STAGE_LOG
from ._deathsig import parent_death_signal
from ._logcapture import _Forwarder

__all__ = ["EXECUTION_INPUT_ENV", "STAGE_JOB_ENV", "StageFailed", "StageInvocationError", "StagePreflightFailed", "handler",
           "stage_command"]

# The execution input of a stage that receives it (``Stage.receives_execution_input``), as JSON: set
# by the Batch container overrides, or by this handler from the event's ``execution_input``.
EXECUTION_INPUT_ENV = "ALPHA_ENGINE_EXECUTION_INPUT"
# A polling stage's job (the submit phase's summary.job), for its poll and process phases, as JSON.
STAGE_JOB_ENV = "ALPHA_ENGINE_STAGE_JOB"


class StageInvocationError(Exception):
    """The event does not name a stage and run date."""


class StageFailed(Exception):
    """The stage's run failed (exit code 1) or its process died."""


class StagePreflightFailed(Exception):
    """The stage's preflight failed (exit code 2)."""


def stage_command(slug: str, run_date: str, *, preflight_only: bool, report: str | None = None,
                  execution: str = "manual", attempt: str = "0.0", python: str = sys.executable,
                  phase: str | None = None) -> list[str]:
    """The logcapture-wrapped stage command (the one Batch stages run as ``alpha-engine ...``)."""
    inner = [python, "-m", "alpha_engine", "stage", "run", slug, "--run-date", run_date]
    if phase:
        inner += ["--phase", phase]
    if report:
        inner += ["--report", report]
    if preflight_only:
        inner.append("--preflight-only")
    return [python, "-m", "alpha_engine", "logcapture", "run", "--slug", slug, "--run-date", run_date,
            "--execution", execution, "--attempt", attempt, "--", *inner]


def _run_log_capture(command: list[str], env: dict[str, str]) -> int:
    """Run the log capture command to its end; its exit code.

    A SIGTERM or SIGINT that stops the task reaches the whole process group, but the one the
    runtime's parent-death signal sends when the engine dies reaches only us: either way we pass
    it on to log capture (which forwards it to the stage and ships the log) and wait, so the log
    is never cut short. Log capture in turn gets SIGTERM if we die.
    """
    # The same forwarding log capture does for its own child (a signal that comes before the
    # child exists is held and sent once it does).
    forwarder = _Forwarder()
    forwarder.install()
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env,
                                 preexec_fn=parent_death_signal(signal.SIGTERM))
        forwarder.attach(child)
        return child.wait()
    finally:
        forwarder.restore()


def _parse_phase(event: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    phase, job, submitted = event.get("phase"), event.get("job"), event.get("submitted")
    if phase is not None and (not isinstance(phase, str) or not phase):
        raise StageInvocationError(f"event.phase must be a phase name, got {phase!r}")
    if submitted is not None:  # the state machine passes the submit phase's summary
        if not isinstance(submitted, dict):
            raise StageInvocationError(f"event.submitted must be an object, got {submitted!r}")
        job = submitted.get("job", job)
    if job is not None and not isinstance(job, dict):
        raise StageInvocationError(f"event.job must be an object, got {job!r}")
    return phase, job


def _parse(event: Any) -> tuple[str, str, bool, str, str, dict[str, Any] | None]:
    if not isinstance(event, dict):
        raise StageInvocationError(f"the event must be an object, got {type(event).__name__}")
    slug, run_date, preflight_only = event.get("stage"), event.get("run_date"), event.get("preflight_only", False)
    execution, attempt = event.get("execution", "manual"), event.get("attempt", "0.0")
    if not isinstance(slug, str) or not slug:
        raise StageInvocationError(f"event.stage must be a stage slug, got {slug!r}")
    if not isinstance(run_date, str) or not run_date:
        raise StageInvocationError(f"event.run_date must be a YYYY-MM-DD string, got {run_date!r}")
    if not isinstance(preflight_only, bool):
        raise StageInvocationError(f"event.preflight_only must be a boolean, got {preflight_only!r}")
    for field, value in (("execution", execution), ("attempt", attempt)):
        if not isinstance(value, str) or not value:
            raise StageInvocationError(f"event.{field} must be a non-empty string, got {value!r}")
    execution_input = event.get("execution_input")
    if execution_input is not None and not isinstance(execution_input, dict):
        raise StageInvocationError(f"event.execution_input must be an object, got {execution_input!r}")
    return slug, run_date, preflight_only, execution, attempt, execution_input


def handler(event: Any, context: Any) -> dict[str, Any]:
    slug, run_date, preflight_only, execution, attempt, execution_input = _parse(event)
    phase, job = _parse_phase(event)
    env = dict(os.environ)
    if execution_input is not None:
        env[EXECUTION_INPUT_ENV] = json.dumps(execution_input, sort_keys=True)
    if job is not None:
        env[STAGE_JOB_ENV] = json.dumps(job, sort_keys=True)
    with tempfile.TemporaryDirectory(prefix="alpha-engine-stage-") as tmp:
        report_path = Path(tmp) / "report.json"
        command = stage_command(slug, run_date, preflight_only=preflight_only, report=str(report_path),
                                execution=execution, attempt=attempt, phase=phase)
        code = _run_log_capture(command, env)
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    if code == 0 and report is not None:
        return {"status": "OK", "stage": slug, "run_date": run_date, "preflight_only": preflight_only,
                "summary": report.get("summary", {}), "warnings": report.get("warnings", [])}
    error = (report or {}).get("error") or f"the stage process exited with code {code}"
    logs = f"{STAGE_LOG.prefix}{slug}/{run_date}/{execution}/"
    message = f"{slug} ({run_date}): {error} (exit code {code}; log under {logs})"
    if code == 2:
        raise StagePreflightFailed(message)
    raise StageFailed(message)

