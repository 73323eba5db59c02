"""SaturdayHealthCheck: did every stage of this run leave a fresh health marker and its outputs?

For each other stage of the configured graph it reads ``health/{slug}.json`` and the stage's
declared outputs for the run date, and classifies the stage:

* ``ok``: marker status ok for this run_date and every declared output present;
* ``skipped``: no marker for this run_date (skipped, or not run);
* ``failed``: marker status failed for this run_date;
* ``missing_outputs``: marker ok but a declared output is absent.

The report goes to ``monitoring/health/{date}.json``; problems are warnings (the stage is
soft: a health check never fails the run).
"""

from __future__ import annotations

from typing import Any

from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    load_graph,
)
from alpha_engine.store import StoreError

__all__ = ["SaturdayHealthCheck"]

REPORT_KEY = "monitoring/health/{date}.json"


class SaturdayHealthCheck(Stage):
    name = "SaturdayHealthCheck"
    slug = "saturday-health-check"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 90
    description = "Checks every stage's health marker and declared outputs for the run date"
    inputs = ("health/*.json",)
    outputs = (REPORT_KEY,)

    def _others(self, ctx: StageContext) -> list[type[Stage]]:
        graph = load_graph(ctx.settings.pipeline.graph)
        return [stage for stage in graph.stages() if stage.slug != self.slug]

    def preflight(self, ctx: StageContext) -> None:
        try:
            ctx.artifacts.list("health/")
        except StoreError as exc:
            raise PreflightError(f"cannot list health markers in {ctx.settings.artifacts_uri}: {exc}") from exc
        self._others(ctx)

    def run(self, ctx: StageContext) -> StageOutcome:
        day = ctx.run_date.isoformat()
        rows: dict[str, dict[str, Any]] = {}
        warnings = []
        for stage in self._others(ctx):
            rows[stage.slug] = row = self._check(ctx, stage, day)
            if row["status"] in ("failed", "missing_outputs"):
                detail = row.get("error") or ", ".join(row["missing_outputs"])
                warnings.append(f"{stage.name}: {row['status']} ({detail})")
        counts = {status: sum(1 for r in rows.values() if r["status"] == status)
                  for status in ("ok", "skipped", "failed", "missing_outputs")}
        ctx.artifacts.write_json(ctx.key(REPORT_KEY), {"run_date": day, "stages": rows, "counts": counts})
        ctx.logger.info("checked %d stages: %s", len(rows), counts)
        return StageOutcome(summary={"checked": len(rows), **counts}, warnings=tuple(warnings))

    @staticmethod
    def _check(ctx: StageContext, stage: type[Stage], day: str) -> dict[str, Any]:
        key = f"health/{stage.slug}.json"
        marker = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        if marker is None or marker.get("run_date") != day:
            return {"status": "skipped", "marker_run_date": marker.get("run_date") if marker else None}
        if marker["status"] != "ok":
            return {"status": "failed", "error": marker.get("error")}
        missing = [ctx.key(p) for p in stage.outputs if "*" not in p and not ctx.artifacts.exists(ctx.key(p))]
        return {"status": "missing_outputs" if missing else "ok", "missing_outputs": missing}
