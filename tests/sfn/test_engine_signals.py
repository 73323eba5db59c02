"""SIGTERM and SIGINT on an engine driving an execution (a real process running signal_driver.py):
the running task's process group gets that signal, the execution ends ABORTED with the signal's
name as its error and a cause naming the running state, its leases end, and a redrive finishes it.
A second signal does not wait out the grace period."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn import LocalRuntime, RuntimeConfig, SqliteStore
from alpha_engine.sfn.services._process import process_start_time, stop_process_group

DRIVER = Path(__file__).with_name("signal_driver.py")
TIMEOUT = 120  # generous: a loaded two-core machine


def _wait_for(path: Path, what: str, engine: subprocess.Popen[str] | None) -> str:
    """Poll for ``path`` to have content; fail at once if ``engine`` (when given) has ended."""
    for _ in range(TIMEOUT * 20):
        if path.exists() and path.read_text().strip():
            return path.read_text()
        if engine is not None and engine.poll() is not None:
            raise AssertionError(f"the engine ended before {what}: {engine.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} ({path})")


def _default_signals() -> None:
    # A test run in a background job inherits SIGINT ignored, and the engine leaves an ignored signal alone.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _driver(mode: str, workspace: Path, flags: Path, grace: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(DRIVER), mode, str(workspace), str(flags), str(grace)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_aborts_the_execution_after_forwarding_it_and_redrive_finishes_it(
        sig: signal.Signals, tmp_path: Path) -> None:
    workspace, flags = tmp_path / "ws", tmp_path / "flags"
    flags.mkdir()
    engine = _driver("start", workspace, flags, grace=60)
    _wait_for(flags / "job.pid", "the job started", engine)
    engine.send_signal(sig)
    result = _result(engine)

    assert (result["status"], result["error"], result["signal"]) == ("ABORTED", sig.name, int(sig))
    assert result["cause"].startswith(f"The engine received {sig.name} while Work was running")
    assert (flags / "job.signal").read_text().split() == [str(int(sig))]  # the job got that very signal
    store = SqliteStore(workspace / "sfn" / "executions.sqlite3")
    arn = store.list_executions()[0].arn
    last = store.events(arn)[-1]
    assert last["type"] == "ExecutionAborted"
    assert last["executionAbortedEventDetails"] == {"error": sig.name, "cause": result["cause"]}
    assert [(lease.status, lease.reason) for lease in store.leases(arn)] == [("ENDED", "attempt 1 of Work was stopped")]

    (flags / "succeed").touch()
    redriven = _result(_driver("redrive", workspace, flags, grace=60))
    assert (redriven["status"], redriven["signal"]) == ("SUCCEEDED", None)
    assert [lease.status for lease in store.leases(arn)] == ["ENDED", "ENDED"]


def test_a_second_signal_kills_the_tasks_without_waiting_out_the_grace_period(tmp_path: Path) -> None:
    workspace, flags = tmp_path / "ws", tmp_path / "flags"
    flags.mkdir()
    (flags / "ignore").touch()  # the job outlives the first signal
    engine = _driver("start", workspace, flags, grace=3600)  # longer than the test's timeout
    pid = int(_wait_for(flags / "job.pid", "the job started", engine))
    engine.send_signal(signal.SIGTERM)
    _wait_for(flags / "job.signal", "the job got the first SIGTERM", engine)
    engine.send_signal(signal.SIGTERM)
    result = _result(engine)  # would time out if the engine waited the full grace period
    assert (result["status"], result["error"]) == ("ABORTED", "SIGTERM")
    assert process_start_time(pid) is None


def test_every_task_of_a_parallel_state_gets_its_grace_period_however_fast_its_sibling_stops(
        tmp_path: Path) -> None:
    workspace, flags = tmp_path / "ws", tmp_path / "flags"
    flags.mkdir()
    engine = _driver("parallel", workspace, flags, grace=60)
    _wait_for(flags / "job.pid", "the job started", engine)
    slow = int(_wait_for(flags / "slow.pid", "the slow job started", engine))
    engine.send_signal(signal.SIGTERM)
    out, err = engine.communicate(timeout=TIMEOUT)
    # Work exits at once; Slow needs a while. The engine must not give up on Slow when Work is done:
    # Slow finished its shutdown (and was reaped) before the engine returned, and nothing was left behind.
    assert (flags / "slow.done").exists(), err
    assert process_start_time(slow) is None
    assert "Event loop is closed" not in err and "Traceback" not in err, err
    result = json.loads(out.strip().splitlines()[-1])
    assert (result["status"], result["error"]) == ("ABORTED", "SIGTERM")


def test_the_previous_signal_handlers_are_restored(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        del signum, frame

    previous = {sig: signal.signal(sig, mine) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        runtime = LocalRuntime(RuntimeConfig(workspace=tmp_path / "ws"))
        result = runtime.start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {})
        assert result.status == "SUCCEEDED" and result.signal is None
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is mine
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- an engine that dies: its tasks get SIGTERM, and resume stops what is left first -----------------


def test_when_the_engine_dies_its_job_gets_sigterm_and_resume_stops_it_before_running_the_task_again(
        tmp_path: Path) -> None:
    workspace, flags = tmp_path / "ws", tmp_path / "flags"
    flags.mkdir()
    (flags / "ignore").touch()  # the job survives the SIGTERM its engine's death sends it
    engine = _driver("start", workspace, flags, grace=60)
    pid = int(_wait_for(flags / "job.pid", "the job started", engine))
    engine.kill()
    engine.communicate(timeout=TIMEOUT)
    _wait_for(flags / "job.signal", "the parent-death SIGTERM", None)
    # Once per parent thread that dies: the kernel may first hand the job to another of the
    # engine's threads, whose death sends it again.
    assert set((flags / "job.signal").read_text().split()) == {str(int(signal.SIGTERM))}
    os.kill(pid, 0)  # still alive: it ignored it

    (flags / "succeed").touch()
    lines: list[str] = []
    runtime = LocalRuntime(RuntimeConfig(workspace=workspace, terminate_grace_seconds=1), log=lines.append)
    result = runtime.resume("signal-test")
    assert result.status == "SUCCEEDED", result.cause
    assert f"stopped the earlier attempt of Work (pid {pid}) before resuming" in lines
    assert process_start_time(pid) is None  # gone (or a zombie its new parent has not reaped yet)
    leases = runtime.store.leases(result.arn)
    assert [(lease.attempt, lease.status) for lease in leases] == [(1, "REVOKED"), (2, "ENDED")]
    assert leases[0].reason == "attempt 1 of Work was revoked before resuming the execution"


def test_a_process_that_only_reuses_the_pid_is_never_stopped() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        started = process_start_time(sleeper.pid)
        assert started is not None
        assert stop_process_group(sleeper.pid, started + 1, grace_seconds=0) is False  # another start time
        assert sleeper.poll() is None
        assert stop_process_group(sleeper.pid, started, grace_seconds=5) is True
        assert sleeper.wait(timeout=TIMEOUT) != 0
        assert process_start_time(sleeper.pid) is None
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()


def test_a_signal_ignored_on_entry_stays_ignored(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    def handler(request: object) -> object:
        seen["SIGINT"] = signal.getsignal(signal.SIGINT)
        return {}

    from alpha_engine.sfn.services import MockBinding

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runtime = LocalRuntime(RuntimeConfig(workspace=tmp_path / "ws"), extra_bindings=[MockBinding(handler)])
        result = runtime.start({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
            "End": True}}}, {})
        assert result.status == "SUCCEEDED", result.cause
        assert seen["SIGINT"] == signal.SIG_IGN  # not taken over while the task ran
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
