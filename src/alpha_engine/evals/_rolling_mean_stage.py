"""EvalRollingMean: the 28-day mean judge score per agent family and dimension, and its minimum
(the eval-quality alarm's metric). The arithmetic is in :mod:`._rolling_mean`; docs/evals.md."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.pipeline import METRICS, Compute, FailureClass, Stage, StageContext, StageOutcome

from ._artifacts import EVAL_JUDGMENT, EVAL_ROLLING_MEAN
from ._dry_run import dry_run_llm, dry_run_outcome
from ._errors import EvalInputError

__all__ = ["EvalRollingMean", "EvalRollingMeanOptions"]


class EvalRollingMeanOptions(BaseModel):
    """``[stages.eval-rolling-mean]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Upstream's EvalRollingMean has no dry flag (quirk d); ours honours research_dry and this option.
    dry_run_llm: bool = False
    window_days: int = Field(default=28, ge=1, le=56)


class EvalRollingMean(Stage[EvalRollingMeanOptions]):
    name = "EvalRollingMean"
    slug = "eval-rolling-mean"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 300
    description = ("The 28-day mean judge score per agent family and dimension -> agent_quality_score_4w_mean "
                   "and its minimum (alarmed below 3.0)")
    receives_execution_input = True  # research_dry
    produces = (EVAL_ROLLING_MEAN,)
    skip_family = "eval-judge"  # skip_eval_judge skips it with EvalJudge

    def preflight(self, ctx: StageContext[EvalRollingMeanOptions]) -> None:
        dry_run_llm(ctx)  # a malformed research_dry fails here, naming the field

    def run(self, ctx: StageContext[EvalRollingMeanOptions]) -> StageOutcome:
        from . import _rolling_mean

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, ["alpha_engine.evals._rolling_mean"])
        result = _rolling_mean.rolling_mean(ctx.artifacts, end=ctx.run_date, window_days=ctx.options.window_days)
        window = [result.start.isoformat(), result.end.isoformat()]
        warnings = tuple(f"eval-rolling-mean: unreadable judgment {u}" for u in result.unreadable[:10])
        if not result.means:
            if result.unreadable:
                raise EvalInputError(
                    f"eval-rolling-mean {ctx.run_date}: all {len(result.unreadable)} judgment(s) in {window[0]}.."
                    f"{window[1]} are unreadable (first: {result.unreadable[0]}); fix or rerun EvalJudge for those "
                    "dates, then rerun this stage")
            return StageOutcome(summary={"status": "SKIPPED", "window": window, "reason": (
                f"no judgment under {EVAL_JUDGMENT.prefix}{{date}}/ from {window[0]} to {window[1]}: "
                "no metric emitted (the alarm treats missing data as not breaching)")})
        key = ctx.key(EVAL_ROLLING_MEAN)
        ctx.artifacts.write_json(key, result.document(ctx.run_date))
        points = _rolling_mean.rolling_mean_datapoints(result, ctx.now())
        if ctx.resources.wired(METRICS):
            ctx.resource(METRICS).emit_many(points)
        low = result.minimum or {}
        return StageOutcome(summary={
            "status": "OK", "window": window, "judgments_read": result.judgments_read, "decisions": result.decisions,
            "means": len(result.means), "minimum": low.get("mean"), "minimum_of": f"{low.get('judged_agent_id')}/"
            f"{low.get('criterion')}", "unreadable": len(result.unreadable), "metrics": len(points), "key": key},
            warnings=warnings)
