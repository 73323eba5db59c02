"""SaturdayHealthCheck: did every stage of this run leave a fresh health marker and its outputs?

For each other stage of the graph it runs in, it reads the stage's health marker and checks the
stage's declared outputs for the run date, and classifies the stage:

* ``ok``: marker status ok for this run_date and every declared output present;
* ``skipped``: no marker for this run_date (skipped, or not run);
* ``failed``: marker status failed for this run_date;
* ``missing_outputs``: marker ok but a declared output is absent.

Outputs checked are those with one key per run (dated by run_date) or one fixed key; families
such as a model registry's versions are not. The report goes to ``monitoring/health/{date}.json``;
problems are warnings (the stage is soft: a health check never fails the run).
"""

from __future__ import annotations

from typing import Any

from alpha_engine.pipeline import (
    HEALTH_MARKER,
    Compute,
    FailureClass,
    NoOptions,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)
from alpha_engine.store import StoreError

from ._artifacts import HEALTH_REPORT

__all__ = ["SaturdayHealthCheck"]


class SaturdayHealthCheck(Stage[NoOptions]):
    name = "SaturdayHealthCheck"
    slug = "saturday-health-check"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 90
    description = "Checks every stage's health marker and declared outputs for the run date"
    consumes = (optional(HEALTH_MARKER),)  # every stage may have been skipped
    produces = (HEALTH_REPORT,)

    def _others(self, ctx: StageContext[NoOptions]) -> list[type[Stage[Any]]]:
        return [stage for stage in ctx.graph.stages() if stage.slug != self.slug]

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        try:
            ctx.artifacts.list(HEALTH_MARKER.prefix)
        except StoreError as exc:
            raise PreflightError(f"cannot list health markers in {ctx.settings.artifacts_uri}: {exc}") from exc

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        day = ctx.run_date.isoformat()
        rows: dict[str, dict[str, Any]] = {}
        warnings = []
        for stage in self._others(ctx):
            rows[stage.slug] = row = self._check(ctx, stage, day)
            if row["status"] in ("failed", "missing_outputs"):
                detail = (row.get("error") or "no error recorded") if row["status"] == "failed" \
                    else ", ".join(row["missing_outputs"])
                warnings.append(f"{stage.name}: {row['status']} ({detail})")
        counts = {status: sum(1 for r in rows.values() if r["status"] == status)
                  for status in ("ok", "skipped", "failed", "missing_outputs")}
        ctx.artifacts.write_json(ctx.key(HEALTH_REPORT), {"run_date": day, "stages": rows, "counts": counts})
        ctx.logger.info("checked %d stages: %s", len(rows), counts)
        return StageOutcome(summary={"checked": len(rows), **counts}, warnings=tuple(warnings))

    @staticmethod
    def _check(ctx: StageContext[NoOptions], stage: type[Stage[Any]], day: str) -> dict[str, Any]:
        key = HEALTH_MARKER.format(slug=stage.slug)
        marker = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        if marker is None or marker.get("run_date") != day:
            return {"status": "skipped", "marker_run_date": marker.get("run_date") if marker else None}
        if marker["status"] != "ok":
            return {"status": "failed", "error": marker.get("error")}
        keys = [a.run_key(ctx.run_date) for a in stage.produces]
        missing = [key for key in keys if key is not None and not ctx.artifacts.exists(key)]
        return {"status": "missing_outputs" if missing else "ok", "missing_outputs": missing}
