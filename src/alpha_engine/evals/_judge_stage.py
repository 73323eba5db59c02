"""EvalJudge: scores last week's research decisions, per rubric dimension (docs/evals.md).

A :class:`~alpha_engine.pipeline.PollingStage`: Submit (the weak model's Message Batch, anthropic
only) -> Poll (60 s waits, 6 hours at most, then a soft failure) -> Process (the rubric judge,
the batch's results, the strong pass, the writes). The work is in :mod:`._judge`; this module
stays light (anthropic and httpx are imported inside the phases).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.pipeline import (
    METRICS,
    Compute,
    FailureClass,
    PollingStage,
    PollLoop,
    PreflightError,
    StageContext,
    StageOutcome,
)

from ._artifacts import EVAL_JUDGMENT, EVAL_MANIFEST
from ._dry_run import dry_run_llm, dry_run_outcome
from ._errors import EvalJudgeError

if TYPE_CHECKING:
    from ._judge import JudgeConfig, JudgeRun

__all__ = ["EvalJudge", "EvalJudgeOptions"]

DEFAULT_MODELS = {"anthropic": ("claude-haiku-4-5", "claude-sonnet-4-6")}
DEFAULT_API_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai_compatible": ""}
_HEAVY = ["alpha_engine.evals._judge", "anthropic", "httpx"]


class EvalJudgeOptions(BaseModel):
    """``[stages.eval-judge]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run_llm: bool = False
    # The decisions judged: those captured in the window_days ending run_date, newest first, at
    # most per_agent_cap per agent id (0: no cap).
    window_days: int = Field(default=7, ge=1, le=56)
    per_agent_cap: int = Field(default=200, ge=0)
    # The LLM judge: none (the rubric judge only), anthropic (Message Batches) or openai_compatible.
    backend: Literal["none", "anthropic", "openai_compatible"] = "none"
    # Weak model: every LLM decision. Default claude-haiku-4-5 on anthropic; required for openai_compatible.
    weak_model: str = ""
    # Strong model: decisions with a weak dimension below 3, and all on the first Saturday of the month.
    # Default claude-sonnet-4-6 on anthropic; empty on openai_compatible: no strong pass.
    strong_model: str = ""
    # openai_compatible: the server root (required); anthropic: an optional API base URL override.
    base_url: str = ""
    # The environment variable holding the API key (the key is never a setting).
    # Default ANTHROPIC_API_KEY on anthropic; none on openai_compatible.
    api_key_env: str = ""
    max_tokens: int = Field(default=1024, ge=64)
    parse_attempts: int = Field(default=3, ge=1, le=3)  # per synchronous judgment
    max_snapshot_chars: int = Field(default=60_000, ge=1_000)
    timeout_seconds: float = Field(default=120.0, gt=0)


class EvalJudge(PollingStage[EvalJudgeOptions]):
    name = "EvalJudge"
    slug = "eval-judge"
    # Stage.__init_subclass__ finds the options model only on a direct Stage[...] base: say it here.
    Options = EvalJudgeOptions
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 900
    description = ("Judges the week's research decisions: a rubric judge always, an LLM judge (weak model by batch, "
                   "strong model on low scores and on the first Saturday) when configured")
    receives_execution_input = True  # research_dry
    produces = (EVAL_JUDGMENT, EVAL_MANIFEST)
    skip_family = "eval-judge"  # skip_eval_judge skips EvalRollingMean too
    poll_loop = PollLoop(wait_seconds=60, max_wait_seconds=21600, submit_timeout_seconds=300, poll_timeout_seconds=60)
    # Replaces the network (tests set an httpx.MockTransport); None: the real one.
    llm_transport: ClassVar[Any] = None

    def preflight(self, ctx: StageContext[EvalJudgeOptions]) -> None:
        dry = dry_run_llm(ctx)  # a malformed research_dry fails here, naming the field
        _config(ctx.options, {} if dry else os.environ, check_key=not dry)

    def _run(self, ctx: StageContext[EvalJudgeOptions]) -> JudgeRun:
        from ._judge import JudgeRun

        try:
            config = _config(ctx.options, os.environ, check_key=True)
        except PreflightError as exc:
            raise EvalJudgeError(f"eval-judge: {exc}") from exc
        return JudgeRun(ctx.artifacts, ctx.run_date, config, window_days=ctx.options.window_days,
                        per_agent_cap=ctx.options.per_agent_cap, transport=self.llm_transport)

    def submit(self, ctx: StageContext[EvalJudgeOptions]) -> Mapping[str, Any]:
        import anthropic  # noqa: F401  (the dry path imports the real stack)
        import httpx  # noqa: F401

        from . import _judge  # noqa: F401

        if dry_run_llm(ctx):
            return {"status": "empty", "dry_run_llm": True}
        return self._run(ctx).submit()

    def poll(self, ctx: StageContext[EvalJudgeOptions], job: Mapping[str, Any]) -> Literal["running", "ended"]:
        if dry_run_llm(ctx):
            return "ended"
        return "ended" if self._run(ctx).poll(job) == "ended" else "running"

    def process(self, ctx: StageContext[EvalJudgeOptions], job: Mapping[str, Any]) -> StageOutcome:
        import anthropic  # noqa: F401
        import httpx  # noqa: F401

        from . import _judge  # noqa: F401

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, list(_HEAVY))
        run = self._run(ctx)
        summary, points = run.process(job, now=ctx.now())
        if points and ctx.resources.wired(METRICS):
            ctx.resource(METRICS).emit_many(points)
        summary = {**summary, "metrics": len(points)}
        ctx.logger.info("eval-judge %s: %s", ctx.run_date, summary)
        return StageOutcome(summary=summary, warnings=tuple(run.warnings))


def _config(options: EvalJudgeOptions, env: Mapping[str, str], *, check_key: bool) -> JudgeConfig:
    """The JudgeConfig of ``options`` (PreflightError naming a missing setting or key)."""
    from ._judge import JudgeConfig

    backend = options.backend
    weak, strong = options.weak_model, options.strong_model
    if backend == "anthropic":
        weak = weak or DEFAULT_MODELS["anthropic"][0]
        strong = strong or DEFAULT_MODELS["anthropic"][1]
    elif backend == "openai_compatible":
        missing = [n for n, v in (("weak_model", weak), ("base_url", options.base_url)) if not v]
        if missing:
            raise PreflightError(f"[stages.eval-judge] backend 'openai_compatible' needs {' and '.join(missing)} "
                                 "(e.g. base_url = \"http://localhost:11434\", weak_model = \"llama3.1:8b\")")
    key = ""
    if backend != "none":
        key_env = options.api_key_env or DEFAULT_API_KEY_ENV[backend]
        key = env.get(key_env, "") if key_env else ""
        if check_key and key_env and not key:
            raise PreflightError(f"[stages.eval-judge] backend {backend!r}: the API key variable ${key_env} is not set "
                                 "or empty (the key is read from the environment only; api_key_env names the "
                                 "variable)")
    return JudgeConfig(backend=backend, weak_model=weak, strong_model=strong, base_url=options.base_url, api_key=key,
                       max_tokens=options.max_tokens, parse_attempts=options.parse_attempts,
                       max_snapshot_chars=options.max_snapshot_chars, timeout_seconds=options.timeout_seconds)
