"""A stage that submits work elsewhere, waits for it, then processes the result.

Upstream's eval judge hands its requests to the Anthropic Message Batches API and comes back for
the results: Submit -> Poll (a Wait loop, capped at 6 hours, failing soft) -> Process, three
Lambda invocations and a Wait state in the state machine, so nothing holds a process open while
a batch runs. A :class:`PollingStage` declares that shape once:

* ``submit(ctx)`` starts the work and returns the *job*, a small JSON object the state machine
  carries between the phases. ``job["status"]`` is ``"submitted"`` (poll it) or ``"empty"``
  (nothing to wait for: go straight to ``process``). The framework stamps ``job["submitted_at"]``.
* ``poll(ctx, job)`` returns ``"running"`` or ``"ended"``. Once ``poll_loop.max_wait_seconds``
  have passed since ``submitted_at``, the framework raises :class:`PollTimeoutError` instead of
  polling: the stage fails soft, saying so (its health marker names the timeout).
* ``process(ctx, job)`` collects the results and does the stage's work; its outcome is the
  stage's outcome (health marker, heartbeat), as ``run`` is for any stage.

The composer turns the declaration into ``{Name}Submit -> {Name}PollChoice -> {Name}PollWait ->
{Name}Poll -> {Name}PollDecision -> ... -> {Name}`` (the last, the process phase, carries the
stage's own name and result); ``alpha-engine stage run`` outside an
execution runs :meth:`PollingStage.run`, the same three phases in one process, sleeping between
polls. A polling stage is soft and lambda-class: a Batch job would hold a container for the whole wait.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel

from ._errors import StageDefinitionError
from ._stage import Stage, StageContext, StageOutcome

__all__ = ["JOB_STATUSES", "PHASES", "POLL_STATUSES", "PollLoop", "PollTimeoutError", "PollingStage", "poll_status",
           "submitted_job"]

OptionsT = TypeVar("OptionsT", bound=BaseModel)

JOB_STATUSES = ("submitted", "empty")
POLL_STATUSES = ("running", "ended")
PHASES = ("submit", "poll", "process")


class PollTimeoutError(Exception):
    """The submitted work did not end within ``poll_loop.max_wait_seconds``."""


@dataclass(frozen=True)
class PollLoop:
    """The shape of a polling stage's loop (upstream's eval judge: 60 s waits, a 6-hour cap)."""

    wait_seconds: int = 60
    max_wait_seconds: int = 6 * 3600
    submit_timeout_seconds: int = 300
    poll_timeout_seconds: int = 60

    def __post_init__(self) -> None:
        for name in ("wait_seconds", "max_wait_seconds", "submit_timeout_seconds", "poll_timeout_seconds"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value > 0):
                raise StageDefinitionError(f"PollLoop.{name} must be a positive int, got {value!r}")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def poll_status(stage: PollingStage[Any], ctx: StageContext[Any], job: Mapping[str, Any]) -> str:
    """The poll phase: the stage's own ``poll`` (checked: ``running`` or ``ended``), or
    PollTimeoutError once ``max_wait_seconds`` have passed since ``submitted_at``."""
    try:
        submitted = datetime.fromisoformat(str(job["submitted_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{stage.name}: the job has no valid submitted_at ({exc}); the submit phase stamps it") from exc
    waited = (ctx.now() - submitted).total_seconds()
    if waited > stage.poll_loop.max_wait_seconds:
        raise PollTimeoutError(
            f"{stage.name}: the work submitted at {job['submitted_at']} had not ended after {int(waited)} s "
            f"(the cap is poll_loop.max_wait_seconds = {stage.poll_loop.max_wait_seconds} s); its results are not "
            "processed this run. Look at the external job (job: "
            f"{ {k: v for k, v in job.items() if k != 'submitted_at'} }); the next run submits afresh")
    status = stage.poll(ctx, job)
    if status not in POLL_STATUSES:
        raise ValueError(f"{type(stage).__name__}.poll returned {status!r}; expected {' or '.join(map(repr, POLL_STATUSES))}")
    return status


def submitted_job(stage: PollingStage[Any], ctx: StageContext[Any]) -> dict[str, Any]:
    """The submit phase: the stage's job, checked and stamped with ``submitted_at``."""
    job = dict(stage.submit(ctx))
    if job.get("status") not in JOB_STATUSES:
        raise ValueError(f"{type(stage).__name__}.submit returned a job with status {job.get('status')!r}; "
                         f"expected one of {', '.join(JOB_STATUSES)}")
    job["submitted_at"] = _iso(ctx.now())
    return job


class PollingStage(Stage[OptionsT]):
    """Base class of a stage whose work runs elsewhere (see module docstring)."""

    poll_loop: ClassVar[PollLoop] = PollLoop()
    # How the inline run (outside an execution) waits between polls; tests replace it.
    sleep: ClassVar[Callable[[float], None]] = staticmethod(time.sleep)

    @abstractmethod
    def submit(self, ctx: StageContext[OptionsT]) -> Mapping[str, Any]:
        """Start the work; return the job (JSON object) with ``status`` submitted or empty."""

    @abstractmethod
    def poll(self, ctx: StageContext[OptionsT], job: Mapping[str, Any]) -> Literal["running", "ended"]:
        """Whether the submitted work has ended."""

    @abstractmethod
    def process(self, ctx: StageContext[OptionsT], job: Mapping[str, Any]) -> StageOutcome | None:
        """Collect the results and finish the stage's work."""

    def run(self, ctx: StageContext[OptionsT]) -> StageOutcome | None:
        """The three phases in one process (``alpha-engine stage run`` outside an execution)."""
        job = submitted_job(self, ctx)
        if job["status"] == "submitted":
            while poll_status(self, ctx, job) != "ended":
                type(self).sleep(self.poll_loop.wait_seconds)
        return self.process(ctx, job)
