"""SIGTERM or SIGINT on ``alpha-engine run``: the stages get the signal, the execution is recorded
ABORTED and notified, the logs end with a line naming the signal, and a redrive finishes the run."""

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
from alpha_engine.pipeline import LocalPipeline, stage_log_prefix
from alpha_engine.store import ArtifactStore
from conftest import counters, set_fault

RUN_DATE = "2026-11-21"
WAIT = 120.0


def wait_for(condition: object, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def blocked(workspace: Path, slug: str) -> bool:
    return any(f"{slug}: blocked".encode() in p.read_bytes() for p in (workspace / "logs" / "stages" / slug).rglob("*.log"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_aborts_notifies_ships_the_logs_and_the_run_can_be_redriven(
        test_settings: Settings, sig: signal.Signals) -> None:
    workspace = test_settings.workspace
    set_fault(test_settings, "beta", "block")  # Beta (batch) blocks until test-go/beta exists
    run = subprocess.Popen([sys.executable, "-m", "alpha_engine", "run", "--run-date", RUN_DATE],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: blocked(workspace, "beta"), "Beta to block", run)
        run.send_signal(sig)
        _, err = run.communicate(timeout=WAIT)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    text = err.decode()
    assert run.returncode == 128 + sig, text
    pipeline = LocalPipeline(test_settings)
    (record,) = pipeline.executions()
    assert record.status == "ABORTED" and record.error == sig.name, record
    assert f"alpha-engine redrive {record.name}" in text and f"stopped by {sig.name}" in text

    statuses = {s.name: s.status for s in pipeline.stage_statuses(record.name)}
    assert statuses["Alpha"] == "SUCCEEDED" and statuses["Beta"] == "ABORTED" and statuses["Omega"] == "NOT_RUN"
    notice = pipeline.last_notification(record.name)
    assert notice is not None and notice["subject"] == "Alpha Engine Saturday Pipeline — ABORTED"
    assert sig.name in notice["message"] and "Stages interrupted: Beta" in notice["message"]
    assert f"alpha-engine redrive {record.name}" in notice["message"]

    store = ArtifactStore(test_settings.artifacts_uri)
    (key,) = store.list(stage_log_prefix("beta", RUN_DATE, record.name))
    last = store.read_bytes(key).decode().rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith(f"logcapture: received {sig.name}"), last
    assert not store.exists(f"test/{RUN_DATE}/beta.json")  # the stopped stage wrote nothing

    set_fault(test_settings, "beta", None)
    result, _ = pipeline.redrive(record.name)
    assert result.status == "SUCCEEDED"
    assert counters(test_settings)["alpha.run"] == 1  # finished stages are not run again
    assert store.exists(f"test/{RUN_DATE}/omega.json")
    assert json.loads(json.dumps(pipeline.describe(record.name)))["redriveCount"] == 1


def test_a_stage_process_dies_at_once_on_sigint_even_where_keyboardinterrupt_would_be_swallowed(
        test_settings: Settings) -> None:
    workspace = test_settings.workspace
    set_fault(test_settings, "alpha", "swallow-sigint")
    stage = subprocess.Popen([sys.executable, "-m", "alpha_engine", "stage", "run", "alpha", "--run-date", RUN_DATE],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: (workspace / "test-pids" / "alpha").exists(), "Alpha to run", stage)
        os.kill(stage.pid, signal.SIGINT)
        out, err = stage.communicate(timeout=WAIT)
    finally:
        if stage.poll() is None:
            stage.kill()
            stage.communicate()
    assert stage.returncode == -signal.SIGINT, (out, err)  # the kernel's default action, as for SIGTERM
    assert b"swallowed" not in out
    store = ArtifactStore(test_settings.artifacts_uri)
    assert not store.exists(f"test/{RUN_DATE}/alpha.json") and not store.exists("health/alpha.json")


@pytest.mark.parametrize("slug", ["alpha", "beta"], ids=["lambda", "batch"])
def test_a_stage_that_outlives_the_signal_is_killed_in_the_grace_period_and_its_log_still_shipped(
        test_settings: Settings, slug: str) -> None:
    workspace = test_settings.workspace
    set_fault(test_settings, slug, "block-unkillable")  # records the signal, goes on blocking
    run = subprocess.Popen([sys.executable, "-m", "alpha_engine", "run", "--run-date", RUN_DATE],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: blocked(workspace, slug), f"{slug} to block", run)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=WAIT)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 128 + signal.SIGTERM, err.decode()
    (record,) = LocalPipeline(test_settings).executions()
    assert record.status == "ABORTED"
    store = ArtifactStore(test_settings.artifacts_uri)
    (key,) = store.list(stage_log_prefix(slug, RUN_DATE, record.name))  # shipped before the engine's SIGKILL
    last = store.read_bytes(key).decode().rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith("logcapture: received SIGTERM and forwarded it to the command"), last
    assert "so log capture killed it (SIGKILL); the command exited with code 137" in last, last  # 5 s grace - 2 s
    assert not store.exists(f"test/{RUN_DATE}/{slug}.json")
