"""A test-only stage that follows docs/architecture.md's "Adding a stage" walk-through: this
module (with its schema) is all a new stage needs, plus one line in the graph (walkthrough_app.py).
It counts the Scanner's candidates, so it consumes the Scanner's artifact."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.data import CANDIDATES
from alpha_engine.pipeline import Compute, FailureClass, PreflightError, Stage, StageContext, StageOutcome
from alpha_engine.store import Artifact

CANDIDATE_COUNT = Artifact("research/{date}/candidate_count.json", schema="candidate_count.schema.json",
                           package=__name__, description="how many tickers the Scanner passed")


class CandidateCountOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    minimum: int = Field(default=0, ge=0)


class CandidateCount(Stage[CandidateCountOptions]):
    name = "CandidateCount"
    slug = "candidate-count"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 60
    description = "Counts the Scanner's candidates"
    consumes = (CANDIDATES,)
    produces = (CANDIDATE_COUNT,)

    def preflight(self, ctx: StageContext[CandidateCountOptions]) -> None:
        if not ctx.is_pending(CANDIDATES) and "counts" not in ctx.artifacts.read_json(ctx.key(CANDIDATES)):
            raise PreflightError(f"{ctx.key(CANDIDATES)} has no counts")

    def run(self, ctx: StageContext[CandidateCountOptions]) -> StageOutcome:
        counts = ctx.artifacts.read_json(ctx.key(CANDIDATES))["counts"]
        document = {"run_date": ctx.run_date.isoformat(), "scanned": counts["scanned"], "passed": counts["passed"],
                    "minimum": ctx.options.minimum, "meets_minimum": counts["passed"] >= ctx.options.minimum}
        ctx.artifacts.write_json(ctx.key(CANDIDATE_COUNT), document)
        warnings = () if document["meets_minimum"] else (f"only {counts['passed']} candidates",)
        return StageOutcome(summary={"passed": counts["passed"]}, warnings=warnings)
