"""Test-only stages and graph (never shipped): faults are switched on by files in the workspace.

Each stage counts its preflights and runs in ``<workspace>/test-counters/`` (outside the
artifact store) and writes one artifact per run. A fault file ``<workspace>/test-faults/<slug>``
makes it fail; its content says how:

* ``raise``: run raises;  ``exit``: the process exits 3 mid-run;  ``hang``: run sleeps past the
  stage timeout;  ``sigkill``: the process kills itself with SIGKILL;  ``preflight``: the
  preflight raises PreflightError.
* ``block``: run writes its pid to ``<workspace>/test-pids/<slug>`` and waits (up to two minutes)
  for ``<workspace>/test-go/<slug>`` before writing its artifact; a SIGTERM or SIGINT is recorded in
  ``<workspace>/test-signals/<slug>`` and ends the process.  ``block-unkillable``: the same, but
  the process records those signals and goes on waiting.
* ``detach``: run starts a detached process (its own session, so no parent-death signal reaches
  it) that waits for the go file, then tries to write the stage's artifact through the stage's
  store and records what happened in ``<workspace>/test-detached/<slug>``; run then raises.

Every run holds ``<workspace>/test-locks/<slug>`` (flock) while it runs: a run that finds it held
(two attempts of one stage overlapping) counts ``<slug>.overlap``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from alpha_engine.app import RESOURCES, check_run_date
from alpha_engine.pipeline import (
    Branch,
    Compute,
    FailureClass,
    NoOptions,
    ParallelGroup,
    PipelineApp,
    PreflightError,
    Stage,
    StageContext,
    StageGraph,
    StageOutcome,
)
from alpha_engine.store import Artifact

HANG_TIMEOUT_SECONDS = 8


def bump(ctx: StageContext[Any], name: str) -> None:
    folder = ctx.settings.workspace / "test-counters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))


def fault(ctx: StageContext[Any], slug: str) -> str | None:
    path = ctx.settings.workspace / "test-faults" / slug
    return path.read_text().strip() if path.exists() else None


def _put(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_name(path.name + ".tmp").write_text(text)
    os.replace(path.with_name(path.name + ".tmp"), path)


def _wait_for_go(ctx: StageContext[Any], slug: str) -> None:
    go = ctx.settings.workspace / "test-go" / slug
    for _ in range(1200):
        if go.exists():
            return
        time.sleep(0.1)


def _block(ctx: StageContext[Any], slug: str, *, unkillable: bool) -> None:
    workspace = ctx.settings.workspace

    def record(signum: int, frame: object) -> None:
        with open(workspace / "test-signals" / slug, "a") as out:
            out.write(f"{signal.Signals(signum).name} ")
        if not unkillable:
            os._exit(128 + signum)

    (workspace / "test-signals").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, record)
    signal.signal(signal.SIGINT, record)
    _put(workspace / "test-pids" / slug, str(os.getpid()))
    print(f"{slug}: blocked", flush=True)
    _wait_for_go(ctx, slug)


def _detach(ctx: StageContext[Any], slug: str, key: str, lock: int) -> None:
    if os.fork() != 0:
        return
    os.close(lock)  # the survivor is not the stage's run: it must not keep the run's lock
    # The detached process: its own session, output away from log capture's pipe (which would
    # otherwise never close), and the stage's stores, fence included.
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        _put(ctx.settings.workspace / "test-pids" / f"{slug}-detached", str(os.getpid()))
        _wait_for_go(ctx, slug)
        try:
            ctx.artifacts.write_json(key, {"stage": slug, "by": "detached"})
            outcome = "written"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        _put(ctx.settings.workspace / "test-detached" / slug, outcome)
    except BaseException:
        _put(ctx.settings.workspace / "test-detached" / slug, traceback.format_exc())
    finally:
        os._exit(0)


@contextlib.contextmanager
def _overlap_lock(ctx: StageContext[Any], slug: str) -> Iterator[int]:
    """Hold the stage's lock file while the run runs; count an overlap if another run holds it."""
    folder = ctx.settings.workspace / "test-locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / slug, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            bump(ctx, f"{slug}.overlap")
            print(f"{slug}: another attempt is still running", file=sys.stderr, flush=True)
        yield fd
    finally:
        os.close(fd)


class _TestStage(Stage[NoOptions]):
    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        bump(ctx, f"{self.slug}.preflight")
        print(f"{self.slug}: preflight for {ctx.run_date}", flush=True)
        if fault(ctx, self.slug) == "preflight":
            raise PreflightError(f"{self.slug}: injected preflight failure")

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        with _overlap_lock(ctx, self.slug) as lock:
            return self._run(ctx, lock)

    def _run(self, ctx: StageContext[NoOptions], lock: int) -> StageOutcome:
        bump(ctx, f"{self.slug}.run")
        print(f"{self.slug}: running", flush=True)
        kind = fault(ctx, self.slug)
        if kind in ("block", "block-unkillable"):
            _block(ctx, self.slug, unkillable=kind == "block-unkillable")
        if kind == "detach":
            _detach(ctx, self.slug, ctx.key(self.produces[0]), lock)
            raise RuntimeError(f"{self.slug}: injected failure after detaching a process")
        if kind == "raise":
            raise RuntimeError(f"{self.slug}: injected failure")
        if kind == "swallow-sigint":  # as native code may (a LightGBM fit): the run goes on and writes
            _put(ctx.settings.workspace / "test-pids" / self.slug, str(os.getpid()))
            try:
                _wait_for_go(ctx, self.slug)
            except KeyboardInterrupt:
                print(f"{self.slug}: swallowed KeyboardInterrupt", flush=True)
        if kind == "exit":
            os._exit(3)
        if kind == "hang":
            print(f"{self.slug}: hanging", flush=True)
            time.sleep(3600)
        if kind == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        ctx.artifacts.write_json(ctx.key(self.produces[0]), {"stage": self.slug})
        return StageOutcome(summary={"wrote": 1})


class Alpha(_TestStage):
    name, slug = "Alpha", "alpha"
    failure_class, compute, timeout_seconds = FailureClass.HARD, Compute.LAMBDA, 120
    produces = (Artifact("test/{date}/alpha.json"),)


class Beta(_TestStage):
    name, slug = "Beta", "beta"
    failure_class, compute, timeout_seconds = FailureClass.SOFT, Compute.BATCH, 120
    produces = (Artifact("test/{date}/beta.json"),)


class Gamma(_TestStage):
    name, slug = "Gamma", "gamma"
    failure_class, compute, timeout_seconds = FailureClass.HARD, Compute.BATCH, HANG_TIMEOUT_SECONDS
    produces = (Artifact("test/{date}/gamma.json"),)


class Delta(_TestStage):
    name, slug = "Delta", "delta"
    failure_class, compute, timeout_seconds = FailureClass.HARD, Compute.LAMBDA, HANG_TIMEOUT_SECONDS
    produces = (Artifact("test/{date}/delta.json"),)


class Omega(_TestStage):
    name, slug = "Omega", "omega"
    failure_class, compute, timeout_seconds = FailureClass.SOFT, Compute.LAMBDA, 120
    produces = (Artifact("test/{date}/omega.json"),)


GRAPH = StageGraph(
    title="Saturday",
    steps=(
        Alpha,
        Beta,
        ParallelGroup("WorkParallel", (Branch("Research", (Gamma,)), Branch("Predictor", (Delta,)))),
        Omega,
    ),
)

APP = PipelineApp(graph=GRAPH, resources=RESOURCES)
# The same graph under the shipped run-date policy (refusals and weekday warnings).
POLICED_APP = replace(APP, check_run_date=check_run_date)
