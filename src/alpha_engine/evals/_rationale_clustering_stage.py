"""The RationaleClustering stage (soft, Lambda-class, 600 s): are the agents' rationales templated?

Reads the captured decisions of the 56 days ending at the run date (:func:`scan_window`, each
agent id capped at ``max_rationales_per_agent`` decisions while listing), clusters each agent
family's newest 500 rationales (:mod:`._rationale_clustering`), writes one
:data:`RATIONALE_ANALYSIS` per family that has enough rationales and emits
``AlphaEngine/Eval agent_rationale_template_concentration{judged_agent_id}``. The window ends at
``run_date``, not the wall clock, so a run that crosses midnight keeps one date and one ISO week.
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

from ._artifacts import RATIONALE_ANALYSIS
from ._deadline import check_reserve, deadline
from ._dry_run import dry_run_llm, dry_run_outcome
from ._errors import EvalInputError
from ._namespaces import EVAL_NAMESPACE

__all__ = ["RationaleClustering", "RationaleClusteringOptions"]

VECTORIZER = "tfidf char_wb 3-5, digit runs -> #"


class RationaleClusteringOptions(BaseModel):
    """``[stages.rationale-clustering]`` (upstream's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run_llm: bool = False
    window_days: int = Field(default=56, ge=1)
    max_rationales_per_agent: int = Field(default=500, ge=1)
    min_rationales: int = Field(default=5, ge=2)
    similarity_threshold: float = Field(default=0.75, gt=0, le=1)
    concentration_threshold: float = Field(default=0.7, gt=0, le=1)
    # stop this long before the timeout, leaving time to write what was done
    deadline_reserve_seconds: int = Field(default=60, ge=0)


class RationaleClustering(Stage[RationaleClusteringOptions]):
    name = "RationaleClustering"
    slug = "rationale-clustering"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 600
    receives_execution_input = True
    description = ("Clusters each agent family's rationales of the last 56 days (digit-normalised char n-gram TF-IDF, "
                   "single linkage at cosine >= 0.75); flags template concentration > 0.7")
    # consumes = (): the corpus is read by a bounded scan. A family with fewer than 5 rationales writes
    # nothing, so the analysis is not written on every run: updates, not produces (docs/evals.md).
    updates = (RATIONALE_ANALYSIS,)

    def preflight(self, ctx: StageContext[RationaleClusteringOptions]) -> None:
        check_reserve(self, ctx.options.deadline_reserve_seconds)
        dry_run_llm(ctx)  # a malformed research_dry is a PreflightError

    def run(self, ctx: StageContext[RationaleClusteringOptions]) -> StageOutcome:
        import scipy.sparse.csgraph  # noqa: F401  (the real heavy imports, before the dry return)
        import sklearn.feature_extraction.text  # noqa: F401

        from ._rationale_clustering import iso_week, run_rationale_clustering

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, ["scipy.sparse.csgraph", "sklearn.feature_extraction.text",
                                               "alpha_engine.evals._rationale_clustering"])
        from alpha_engine.store import Datapoint

        options = ctx.options
        passed, budget = deadline(self, options.deadline_reserve_seconds)
        result = run_rationale_clustering(
            ctx.artifacts, end=ctx.run_date, window_days=options.window_days, cap=options.max_rationales_per_agent,
            min_rationales=options.min_rationales, threshold=options.similarity_threshold,
            concentration_threshold=options.concentration_threshold,
            deadline=passed)
        if result.unreadable and not result.decisions_loaded:
            raise EvalInputError(f"{self.name} {ctx.run_date}: none of the {len(result.unreadable)} decision(s) of "
                                 f"{result.start}..{result.end} could be read; first: {result.unreadable[0]}; "
                                 "fix or remove those artifacts, then rerun")
        week = iso_week(ctx.run_date)
        keys = []
        for family, report in sorted(result.reports.items()):
            key = ctx.key(RATIONALE_ANALYSIS, agent_id=family, iso_week=week)
            ctx.artifacts.write_json(key, {
                "agent_id": family, "iso_week": week, "run_date": ctx.run_date.isoformat(),
                "window": [result.start.isoformat(), result.end.isoformat()], **report.to_json(),
                "decisions": result.loaded_by_family.get(family, 0),
                "similarity_threshold": options.similarity_threshold,
                "concentration_threshold": options.concentration_threshold, "vectorizer": VECTORIZER,
                "complete": result.complete})
            keys.append(key)
        if result.reports and ctx.resources.wired(METRICS):
            now = ctx.now()
            ctx.resource(METRICS).emit_many(
                Datapoint.of(EVAL_NAMESPACE, "agent_rationale_template_concentration", r.concentration,
                             {"judged_agent_id": family}, now)
                for family, r in sorted(result.reports.items()))
        flagged = sorted(f for f, r in result.reports.items() if r.flag)
        summary: dict[str, Any] = {
            "status": "OK" if result.reports else "SKIPPED", "complete": result.complete,
            "analysed": len(result.reports), "flagged": flagged, "thin": dict(sorted(result.thin.items())),
            "without_rationales": result.without_rationales, "decisions_loaded": result.decisions_loaded,
            "unreadable": len(result.unreadable), "written": keys, "scan": result.scan}
        if not result.reports:
            summary["reason"] = (f"stopped at its deadline ({budget} s) before any analysis" if not result.complete
                                 else f"no agent family had {options.min_rationales} rationales in "
                                 f"{result.start}..{result.end}" if result.decisions_loaded or result.thin
                                 else f"no captured decisions with rationales in {result.start}..{result.end}")
        warnings = [f"{f} rationales look templated (top-3 cluster share "
                    f"{result.reports[f].concentration:.2f} > {options.concentration_threshold})" for f in flagged]
        warnings += [f"unreadable decision: {u}" for u in result.unreadable[:5]]
        if not result.complete:
            warnings.append(f"stopped at its deadline ({budget} s); the analyses cover what was read")
        return StageOutcome(summary=summary, warnings=tuple(warnings))
