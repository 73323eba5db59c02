"""A stage never outlives its execution (fault injection on real processes, the test graph).

* log capture killed mid-stage: the stage dies with it (parent-death signal), nothing is written;
* a process of the stage that survives (its own session) tries to write after the execution
  failed: the write is refused by the lease fence, nothing is written;
* the engine's process group SIGKILLed, then ``resume`` at once: the earlier attempt stops (its
  parent-death SIGTERM, or resume stopping it first) and two attempts never overlap (each run
  holds a lock file and counts an overlap when it finds the lock held);
* SIGTERM on the engine: the execution ends ABORTED, the stage got SIGTERM, and redrive finishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.config import Settings
from alpha_engine.pipeline import LocalPipeline
from alpha_engine.sfn.services._process import process_start_time
from alpha_engine.store import ArtifactStore
from conftest import counters, runs, set_fault

RUN_DATE = "2026-11-21"
TIMEOUT = 180  # generous: real processes on a loaded two-core machine


def _poll(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    for _ in range(int(timeout / 0.05)):
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _pid_file(settings: Settings, name: str) -> int:
    path = settings.workspace / "test-pids" / name
    return int(_poll(lambda: path.exists() and path.read_text(), f"{path}"))


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1])


def _gone(pid: int) -> bool:
    return process_start_time(pid) is None  # exited (or a zombie nobody has reaped yet)


def _artifacts(settings: Settings) -> ArtifactStore:
    return ArtifactStore(settings.artifacts_uri)


class _Background:
    """``LocalPipeline.start`` on a thread (as a caller that is not the main thread runs it)."""

    def __init__(self, settings: Settings) -> None:
        self.pipeline = LocalPipeline(settings)
        self.result: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.result = self.pipeline.start({"run_date": RUN_DATE})

    def wait(self) -> Any:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the run did not end"
        return self.result


@pytest.mark.parametrize(("slug", "compute"), [("alpha", "lambda"), ("beta", "batch")])
def test_killing_log_capture_kills_its_stage_and_nothing_is_written(
        test_settings: Settings, slug: str, compute: str) -> None:
    set_fault(test_settings, slug, "block")
    run = _Background(test_settings)
    stage = _pid_file(test_settings, slug)
    log_capture = _parent_of(stage)
    assert "logcapture" in Path(f"/proc/{log_capture}/cmdline").read_text()
    os.kill(log_capture, signal.SIGKILL)
    _poll(lambda: _gone(stage), "the stage to die with its log capture")  # the parent-death signal
    result = run.wait()

    statuses = {s.slug: s.status for s in run.pipeline.stage_statuses(result.arn)}
    assert statuses[slug] == ("FAILED" if slug == "alpha" else "SOFT_FAILED")
    (test_settings.workspace / "test-go").mkdir(exist_ok=True)
    (test_settings.workspace / "test-go" / slug).touch()  # too late: nobody is left to write
    store = _artifacts(test_settings)
    assert not store.exists(f"test/{RUN_DATE}/{slug}.json")
    assert not store.exists(f"health/{slug}.json")
    assert not (test_settings.workspace / "test-signals" / slug).exists()  # SIGKILL: no chance to react


def test_a_surviving_process_of_a_failed_stage_cannot_write_after_the_execution_failed(
        test_settings: Settings) -> None:
    set_fault(test_settings, "alpha", "detach")
    result = _Background(test_settings).wait()
    assert result.status == "FAILED"
    survivor = _pid_file(test_settings, "alpha-detached")
    assert not _gone(survivor)  # it outlived its stage, its log capture and its execution

    (test_settings.workspace / "test-go").mkdir(exist_ok=True)
    (test_settings.workspace / "test-go" / "alpha").touch()
    outcome_file = test_settings.workspace / "test-detached" / "alpha"
    outcome = _poll(lambda: outcome_file.exists() and outcome_file.read_text(), "the survivor's write")
    assert outcome.startswith("FencedWriteError: "), outcome
    assert f"refused to write test/{RUN_DATE}/alpha.json" in outcome
    assert f"execution {result.name} is FAILED" in outcome
    assert not _artifacts(test_settings).exists(f"test/{RUN_DATE}/alpha.json")


def _engine(settings: Settings) -> subprocess.Popen[str]:
    """``alpha-engine run`` in a new session (so the test can kill its whole process group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "alpha_engine", "run", "--run-date", RUN_DATE, "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "ALPHA_ENGINE_HOME": str(settings.workspace)})


def _running_execution(pipeline: LocalPipeline) -> str:
    (record,) = pipeline.executions()
    assert record.status == "RUNNING"
    return str(record.arn)


@pytest.mark.parametrize(("slug", "kind"), [("alpha", "block"), ("beta", "block-unkillable")],
                         ids=["lambda-stops-on-its-own", "batch-ignores-sigterm"])
def test_sigkill_of_the_engine_group_then_resume_at_once_never_overlaps_two_attempts(
        test_settings: Settings, slug: str, kind: str) -> None:
    set_fault(test_settings, slug, kind)
    engine = _engine(test_settings)
    first = _pid_file(test_settings, slug)
    os.killpg(engine.pid, signal.SIGKILL)
    engine.communicate(timeout=TIMEOUT)
    set_fault(test_settings, slug, None)  # the next attempt runs normally

    lines: list[str] = []
    pipeline = LocalPipeline(test_settings, log=lines.append)
    result = pipeline.resume(_running_execution(pipeline))  # at once: the first attempt may be alive

    assert result.status == "SUCCEEDED", result.cause
    assert _gone(first)
    assert "SIGTERM" in (test_settings.workspace / "test-signals" / slug).read_text()  # parent-death signal
    assert runs(test_settings)[slug] == 2
    assert f"{slug}.overlap" not in counters(test_settings)
    if kind == "block-unkillable":  # it outlived the SIGTERM: resume had to stop it, and said so
        stopped = [line for line in lines if line.startswith("stopped the earlier attempt of Beta (pid ")]
        assert len(stopped) == 1 and stopped[0].endswith(" before resuming"), lines
    leases = pipeline.runtime.store.leases(result.arn)
    stage_leases = [lease for lease in leases if lease.state_name == slug.capitalize()]
    assert [lease.attempt for lease in stage_leases] == [1, 2]
    assert stage_leases[0].status == "REVOKED" and stage_leases[1].status == "ENDED"
    assert not any(lease.active for lease in leases)


def test_sigterm_on_the_engine_aborts_the_run_forwards_the_signal_and_redrive_finishes_it(
        test_settings: Settings) -> None:
    set_fault(test_settings, "alpha", "block")
    engine = _engine(test_settings)
    _pid_file(test_settings, "alpha")
    engine.send_signal(signal.SIGTERM)
    out, err = engine.communicate(timeout=TIMEOUT)

    pipeline = LocalPipeline(test_settings)
    (record,) = pipeline.executions()
    described = pipeline.describe(record.arn)
    assert (described["status"], described["error"]) == ("ABORTED", "SIGTERM"), (out, err)
    assert "while Alpha was running" in described["cause"]
    assert (test_settings.workspace / "test-signals" / "alpha").read_text().split()[0] == "SIGTERM"
    assert not any(lease.active for lease in pipeline.runtime.store.leases(record.arn))
    assert json.loads(out)["execution"]["status"] == "ABORTED"

    set_fault(test_settings, "alpha", None)
    redriven, _ = pipeline.redrive(record.arn)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert runs(test_settings)["alpha"] == 2 and "alpha.overlap" not in counters(test_settings)
