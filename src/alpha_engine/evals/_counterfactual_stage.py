"""The Counterfactual stage (soft, Lambda-class, 600 s): does an agent reduce to a depth-3 tree?

Reads the captured decisions of ``window_days`` (default 28) days ending at the run date, newest
first, each supported agent capped at ``max_artifacts_per_agent`` (500) decisions while listing
(:func:`scan_window`); fits each supported agent (:mod:`._counterfactual`); writes
:data:`COUNTERFACTUAL` (``runs/{run_id}.json``, run_id = the run date) and
:data:`COUNTERFACTUAL_LATEST` per fitted agent and emits ``AlphaEngine/Eval
agent_counterfactual_rule_fit`` and ``agent_counterfactual_rule_fit_n_samples``
``{judged_agent_id}``. Upstream's window was 56 days until the 600 s Lambda timed out at about
32,740 artifacts; it became 28 days with the per-agent cap. The scan and the loop between agents
stop ``deadline_reserve_seconds`` before the timeout (``complete: false``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.pipeline import (
    METRICS,
    Compute,
    FailureClass,
    Stage,
    StageContext,
    StageOutcome,
)

from ._artifacts import COUNTERFACTUAL, COUNTERFACTUAL_LATEST
from ._deadline import check_reserve, deadline
from ._dry_run import dry_run_llm, dry_run_outcome
from ._errors import EvalInputError
from ._namespaces import EVAL_NAMESPACE

__all__ = ["Counterfactual", "CounterfactualOptions"]


class CounterfactualOptions(BaseModel):
    """``[stages.counterfactual]`` (upstream's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run_llm: bool = False
    window_days: int = Field(default=28, ge=1)
    # 0 or None: no cap
    max_artifacts_per_agent: int | None = Field(default=500, ge=0)
    max_depth: int = Field(default=3, ge=1)
    min_samples: int = Field(default=10, ge=2)
    flag_threshold: float = Field(default=0.85, gt=0, le=1)
    deadline_reserve_seconds: int = Field(default=60, ge=0)


class Counterfactual(Stage[CounterfactualOptions]):
    name = "Counterfactual"
    slug = "counterfactual"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 600
    receives_execution_input = True
    description = ("Fits a depth-3 decision tree to ic_cio and macro_economist decisions of the last 28 days "
                   "(500 newest per agent); flags an in-sample match rate > 0.85")
    # consumes = (): the corpus is read by a bounded scan. An agent with fewer than 10 rows or one class
    # is skipped and writes nothing: updates, not produces (docs/evals.md).
    updates = (COUNTERFACTUAL, COUNTERFACTUAL_LATEST)

    def preflight(self, ctx: StageContext[CounterfactualOptions]) -> None:
        check_reserve(self, ctx.options.deadline_reserve_seconds)
        dry_run_llm(ctx)

    def run(self, ctx: StageContext[CounterfactualOptions]) -> StageOutcome:
        import sklearn.feature_extraction  # noqa: F401  (the real heavy imports, before the dry return)
        import sklearn.tree  # noqa: F401

        from ._counterfactual import run_counterfactual

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, ["sklearn.feature_extraction", "sklearn.tree",
                                               "alpha_engine.evals._counterfactual"])
        from alpha_engine.store import Datapoint

        options = ctx.options
        passed, budget = deadline(self, options.deadline_reserve_seconds)
        result = run_counterfactual(
            ctx.artifacts, end=ctx.run_date, window_days=options.window_days,
            per_agent_cap=options.max_artifacts_per_agent or None, max_depth=options.max_depth,
            min_samples=options.min_samples, flag_threshold=options.flag_threshold,
            deadline=passed)
        if result.unreadable and not result.decisions_loaded:
            raise EvalInputError(f"{self.name} {ctx.run_date}: none of the {len(result.unreadable)} decision(s) of "
                                 f"{result.start}..{result.end} could be read; first: {result.unreadable[0]}; "
                                 "fix or remove those artifacts, then rerun")
        run_id = ctx.run_date.isoformat()
        fitted = {a: f for a, f in sorted(result.fits.items()) if f.status == "FIT"}
        written = []
        for agent_id, fit in fitted.items():
            body = {"agent_id": agent_id, "run_id": run_id, "run_date": run_id,
                    "window": [result.start.isoformat(), result.end.isoformat()], "window_days": options.window_days,
                    "per_agent_cap": options.max_artifacts_per_agent or None, "max_depth": options.max_depth,
                    "complete": result.complete, **fit.to_json(), "flag_threshold": options.flag_threshold}
            for artifact, fields in ((COUNTERFACTUAL, {"agent_id": agent_id, "run_id": run_id}),
                                     (COUNTERFACTUAL_LATEST, {"agent_id": agent_id})):
                key = artifact.format(**fields)
                ctx.artifacts.write_json(key, body)
                written.append(key)
        if fitted and ctx.resources.wired(METRICS):
            now = ctx.now()
            points = []
            for agent_id, fit in fitted.items():
                dims = {"judged_agent_id": agent_id}
                points.append(Datapoint.of(EVAL_NAMESPACE, "agent_counterfactual_rule_fit", fit.match_rate or 0.0,
                                           dims, now))
                points.append(Datapoint.of(EVAL_NAMESPACE, "agent_counterfactual_rule_fit_n_samples", fit.n, dims,
                                           now, unit="Count"))
            ctx.resource(METRICS).emit_many(points)
        statuses = {a: f.status for a, f in sorted(result.fits.items())}
        flagged = sorted(a for a, f in fitted.items() if f.flag)
        summary: dict[str, Any] = {
            "status": "OK" if fitted else "SKIPPED", "complete": result.complete, "fitted": sorted(fitted),
            "flagged": flagged,
            "skipped": {a: f.reason for a, f in sorted(result.fits.items()) if f.status == "SKIPPED"},
            "unsupported": sorted(a for a, s in statuses.items() if s == "UNSUPPORTED"),
            "match_rate": {a: f.match_rate for a, f in fitted.items()},
            "decisions_loaded": result.decisions_loaded, "unreadable": len(result.unreadable), "written": written,
            "scan": result.scan}
        if not fitted:
            summary["reason"] = (f"stopped at its deadline ({budget} s) before any fit" if not result.complete
                                 else "no supported agent had enough decisions to fit a rule" if statuses
                                 else f"no captured decisions in {result.start}..{result.end}")
        warnings = [f"{a} is a demotion candidate: a depth-{options.max_depth} tree matches "
                    f"{fitted[a].match_rate:.3f} of its {fitted[a].n} decisions (> {options.flag_threshold})"
                    for a in flagged]
        warnings += [f"unreadable decision: {u}" for u in result.unreadable[:5]]
        if not result.complete:
            warnings.append(f"stopped at its deadline ({budget} s); fits cover what was read")
        return StageOutcome(summary=summary, warnings=tuple(warnings))
