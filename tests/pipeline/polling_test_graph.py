"""Test-only graph with a polling stage (never shipped): Poller submits, is polled until a count
of polls is reached, then processes; After runs next. Files in the workspace steer it:

* ``test-poll/mode``: ``empty`` (submit returns an empty job), ``never`` (poll never ends: the
  loop's cap fails the stage), ``submit-raise`` (submit raises); absent: ends on the 2nd poll.
* ``test-poll/polls``: how many polls ran (the stage counts them there).

The loop's cap is ``POLL_TEST_MAX_WAIT`` seconds (environment; default 60): a stage process
boots in about a second, so a test of the cap sets a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from alpha_engine.app import RESOURCES
from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    NoOptions,
    PipelineApp,
    PollingStage,
    PollLoop,
    Stage,
    StageContext,
    StageGraph,
    StageOutcome,
)
from alpha_engine.store import Artifact

POLLED = Artifact("polled/{date}.json", description="Poller's result")
AFTER = Artifact("after/{date}.json", description="After ran")


def _state(ctx: StageContext[Any]) -> Path:
    folder = ctx.settings.workspace / "test-poll"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mode(ctx: StageContext[Any]) -> str:
    path = _state(ctx) / "mode"
    return path.read_text().strip() if path.exists() else ""


class Poller(PollingStage[NoOptions]):
    name = "Poller"
    slug = "poller"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 60
    produces = (POLLED,)
    poll_loop = PollLoop(wait_seconds=1, max_wait_seconds=int(os.environ.get("POLL_TEST_MAX_WAIT", "60")),
                         submit_timeout_seconds=60, poll_timeout_seconds=60)

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        pass

    def submit(self, ctx: StageContext[NoOptions]) -> Mapping[str, Any]:
        mode = _mode(ctx)
        if mode == "submit-raise":
            raise RuntimeError("the batch service refused the submission")
        return {"status": "empty"} if mode == "empty" else {"status": "submitted", "ticket": "t-1"}

    def poll(self, ctx: StageContext[NoOptions], job: Mapping[str, Any]) -> Literal["running", "ended"]:
        counter = _state(ctx) / "polls"
        polls = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(polls))
        return "ended" if polls >= 2 and _mode(ctx) != "never" else "running"

    def process(self, ctx: StageContext[NoOptions], job: Mapping[str, Any]) -> StageOutcome:
        ctx.artifacts.write_json(ctx.key(POLLED), {"job": dict(job)})
        return StageOutcome(summary={"status": "OK", "ticket": job.get("ticket")})


class After(Stage[NoOptions]):
    name = "After"
    slug = "after"
    failure_class = FailureClass.HARD
    compute = Compute.LAMBDA
    timeout_seconds = 60
    produces = (AFTER,)

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        pass

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        ctx.artifacts.write_json(ctx.key(AFTER), {"ran": True})
        return StageOutcome()


APP = PipelineApp(graph=StageGraph("Polling", (Poller, After)), resources=RESOURCES)
