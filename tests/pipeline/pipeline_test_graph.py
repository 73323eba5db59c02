"""Test-only stages and graph (never shipped): faults are switched on by files in the workspace.

Each stage counts its preflights and runs in ``<workspace>/test-counters/`` (outside the
artifact store) and writes one artifact per run. A fault file ``<workspace>/test-faults/<slug>``
makes it fail; its content says how:

* ``raise``: run raises;  ``exit``: the process exits 3 mid-run;  ``hang``: run sleeps past the
  stage timeout;  ``sigkill``: the process kills itself with SIGKILL;  ``preflight``: the
  preflight raises PreflightError;  ``block``: run prints "blocked" and waits (up to 5 minutes)
  until ``<workspace>/test-faults/<slug>.release`` exists, then goes on normally.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import replace
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


class _TestStage(Stage[NoOptions]):
    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        bump(ctx, f"{self.slug}.preflight")
        print(f"{self.slug}: preflight for {ctx.run_date}", flush=True)
        if fault(ctx, self.slug) == "preflight":
            raise PreflightError(f"{self.slug}: injected preflight failure")

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        bump(ctx, f"{self.slug}.run")
        print(f"{self.slug}: running", flush=True)
        kind = fault(ctx, self.slug)
        if kind == "raise":
            raise RuntimeError(f"{self.slug}: injected failure")
        if kind == "exit":
            os._exit(3)
        if kind == "hang":
            print(f"{self.slug}: hanging", flush=True)
            time.sleep(3600)
        if kind == "sigkill":
            os.kill(os.getpid(), signal.SIGKILL)
        if kind == "block":
            print(f"{self.slug}: blocked", flush=True)
            release = ctx.settings.workspace / "test-faults" / f"{self.slug}.release"
            deadline = time.monotonic() + 300
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
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
