"""AggregateCosts (soft, Lambda-class, 600 s): the run date's LLM calls -> ``cost.parquet`` + metrics.

Reads ``decision_artifacts/_cost_raw/{run_date}/*/*.jsonl`` (Research's per-call telemetry; only
that date's prefix is listed), writes :data:`COST_TABLE` (one row per call, dollars recomputed
from the dated price table) and emits ``AlphaEngine/Cost`` per agent. No telemetry for the date:
SKIPPED, nothing written. A malformed line or a model without a price: the stage fails (soft)
naming the file and line, or the model and the price file, and writes nothing.

Module level imports only the framework and the eval declarations; pyarrow and the research
price table are imported in ``run()``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from alpha_engine.pipeline import METRICS, Compute, FailureClass, Stage, StageContext, StageOutcome

from ._artifacts import COST_TABLE
from ._dry_run import dry_run_llm, dry_run_outcome

__all__ = ["AggregateCosts", "AggregateCostsOptions"]


class AggregateCostsOptions(BaseModel):
    """``[stages.aggregate-costs]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Upstream's dry_run_llm (also the execution input's research_dry): boot, import, do nothing.
    dry_run_llm: bool = False


class AggregateCosts(Stage[AggregateCostsOptions]):
    name = "AggregateCosts"
    slug = "aggregate-costs"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 600
    description = ("Aggregates the run date's per-call LLM cost telemetry into cost.parquet (dollars recomputed "
                   "from the dated price table) and emits AlphaEngine/Cost per agent")
    Options = AggregateCostsOptions
    receives_execution_input = True  # research_dry
    consumes = ()  # the telemetry is read by listing one date's prefix (written only by an LLM run)
    produces = ()  # COST_TABLE is written only when the date has telemetry (docs/evals.md)
    updates = (COST_TABLE,)

    def preflight(self, ctx: StageContext[AggregateCostsOptions]) -> None:
        dry_run_llm(ctx)  # a malformed research_dry fails here, naming the field

    def run(self, ctx: StageContext[AggregateCostsOptions]) -> StageOutcome:
        import pyarrow.parquet  # noqa: F401  (the real heavy import, also under the dry path)

        from alpha_engine.research import PriceTable

        from ._costs import cost_datapoints, cost_table_bytes, price_calls, raw_prefix, read_cost_calls

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, ["alpha_engine.evals._costs", "alpha_engine.research", "pyarrow"])
        calls, files = read_cost_calls(ctx.artifacts, ctx.run_date)
        if not calls:
            return StageOutcome(summary={"status": "SKIPPED", "reason": f"no cost telemetry under "
                                         f"{raw_prefix(ctx.run_date)} (no LLM call that day)", "files": len(files)})
        priced = price_calls(calls, PriceTable.load())
        key = ctx.key(COST_TABLE)
        for row in priced.rows:
            COST_TABLE.validate(row, key=key)  # each row's contract (cost_table_row.schema.json)
        ctx.artifacts.write_bytes(key, cost_table_bytes(priced.rows))
        emitted = 0
        if ctx.resources.wired(METRICS):
            emitted = ctx.resource(METRICS).emit_many(cost_datapoints(priced.rows, ctx.now()))
        summary: dict[str, Any] = {
            "status": "OK", "key": key, "files": len(files), "calls": len(priced.rows),
            "runs": len({r["run_id"] for r in priced.rows}), "agents": len({r["agent_id"] for r in priced.rows}),
            "cost_usd": priced.total_usd, "recorded_cost_usd": round(sum(r["recorded_cost_usd"] for r in priced.rows), 8),
            "cost_mismatches": {"count": priced.mismatches, "examples": priced.examples}, "metrics_emitted": emitted}
        warnings: tuple[str, ...] = ()
        if priced.mismatches:
            warnings = (f"AggregateCosts: {priced.mismatches} call(s) recorded a cost_usd that differs from the price "
                        f"table's (the recomputed one is written); e.g. {priced.examples[0]}",)
        return StageOutcome(summary=summary, warnings=warnings)
