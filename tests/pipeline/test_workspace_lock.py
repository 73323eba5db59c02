"""One run per workspace: a second run, resume or redrive is refused while one is driving an execution."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alpha_engine.config import Settings
from alpha_engine.pipeline import LocalPipeline, WorkspaceBusyError
from alpha_engine.pipeline._workspace_lock import LOCK_FILE, WorkspaceLock
from conftest import set_fault

RUN_DATE = "2026-11-21"
WAIT = 120.0


def wait_for(condition: object, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended before {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_second_lock_is_refused_naming_the_holder_and_is_free_after_release(tmp_path: Path) -> None:
    first = WorkspaceLock(tmp_path, command="run", execution="saturday-2026-11-21-aaaa")
    with first:
        with pytest.raises(WorkspaceBusyError) as caught:
            WorkspaceLock(tmp_path, command="resume", execution="other").acquire()
        message = str(caught.value)
        assert f"pid {os.getpid()}" in message and "saturday-2026-11-21-aaaa" in message
        assert "'alpha-engine run'" in message and "kill -TERM" in message and "since 20" in message
    assert (tmp_path / LOCK_FILE).read_bytes() == b""  # no stale holder text
    with WorkspaceLock(tmp_path, command="run", execution="next"):
        pass


def test_the_lock_dies_with_its_holder_even_on_sigkill(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from alpha_engine.pipeline._workspace_lock import "
            "WorkspaceLock; WorkspaceLock(Path(sys.argv[1]), command='run', execution='doomed').acquire(); "
            "print('held', flush=True); time.sleep(600)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(WorkspaceBusyError, match="doomed"):
            WorkspaceLock(tmp_path, command="run", execution="x").acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=WAIT)
    finally:
        if holder.poll() is None:
            holder.kill()
    with WorkspaceLock(tmp_path, command="run", execution="after"):  # the kernel dropped it
        pass


def test_a_second_run_on_a_busy_workspace_is_refused_and_touches_nothing(test_settings: Settings) -> None:
    workspace = test_settings.workspace
    set_fault(test_settings, "beta", "block")
    first = subprocess.Popen(
        [sys.executable, "-m", "alpha_engine", "run", "--run-date", RUN_DATE, "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: any(b"beta: blocked" in p.read_bytes() for p in (workspace / "logs").rglob("*.log")),
                 "beta to block", first)
        before = {**tree(workspace / "logs"), **tree(workspace / "artifacts"), **tree(workspace / "sfn")}
        pipeline = LocalPipeline(test_settings)
        executions = [r.name for r in pipeline.executions()]
        for attempt in (lambda: pipeline.start({"run_date": RUN_DATE}), lambda: pipeline.resume(executions[0])):
            with pytest.raises(WorkspaceBusyError) as caught:
                attempt()
            assert executions[0] in str(caught.value) and f"pid {first.pid}" in str(caught.value)
        refused = subprocess.run([sys.executable, "-m", "alpha_engine", "run", "--run-date", RUN_DATE],
                                 stdin=subprocess.DEVNULL, capture_output=True, timeout=WAIT)
        assert refused.returncode == 75, refused.stderr
        assert b"is busy" in refused.stderr and executions[0].encode() in refused.stderr
        after = {**tree(workspace / "logs"), **tree(workspace / "artifacts"), **tree(workspace / "sfn")}
        # The refused runs created no execution and wrote no log; the first run's own files may grow.
        assert [r.name for r in pipeline.executions()] == executions
        assert set(after) == set(before), set(after) ^ set(before)
    finally:
        (workspace / "test-go").mkdir(exist_ok=True)
        (workspace / "test-go" / "beta").write_text("go")
        out, err = first.communicate(timeout=WAIT)
    assert first.returncode == 0, err
    assert json.loads(out)["execution"]["status"] == "SUCCEEDED"
