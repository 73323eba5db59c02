"""SaturdayHealthCheck: did every stage of this run leave a fresh health marker and its outputs?

For each stage before it in the graph it runs in (a stage after it, such as
WeeklySubstrateHealthCheck, has not run yet when it checks), it reads the stage's health marker and checks the
stage's declared outputs for the run date, and classifies the stage:

* ``ok``: marker status ok for this run_date and every declared output present;
* ``skipped``: the execution's input skips it (``skip_<slug>``), whatever its marker says;
* ``failed``: marker status failed for this run_date (the marker's error is the reason);
* ``not_run``: no marker, or a marker for another run_date (it never ran for this run date: the
  run stopped before it, or the stage was run on its own for another date);
* ``missing_outputs``: marker ok but a declared output is absent.

Outputs checked are those with one key per run (dated by run_date) or one fixed key; families
such as a model registry's versions are not. The dated keys come from the freshness registry
(``freshness_registry.yaml``, the entries the stage owns) as well as from the stage's declared
outputs, so the health check and the freshness monitor check the same keys; a dated output with
no registry entry is still checked, and listed under ``unregistered`` in the report (and the log)
so the gap in the registry is seen. ``failed`` and ``not_run`` rows carry the marker's
``last_success`` and its age in days (from the check's clock, ``ctx.now``).

**Verdict** (``status`` in the report, with every problem stage in ``problems``):

* ``failed`` when a *hard* stage is failed, not_run or missing_outputs;
* ``degraded`` when only *soft* stages are;
* ``ok`` otherwise. Skipped stages are never problems.

**Outcome.** The report goes to ``monitoring/health/{date}.json`` in every case. ``degraded``:
the stage succeeds and each problem is a warning, which the run's summary shows. ``failed``: the
stage fails (:class:`HealthCheckFailedError` naming each problem, exit 1). The stage is soft, so a
run goes on to its notification either way: in the stage table it is SOFT_FAILED with that
cause; run on its own (``alpha-engine stage run saturday-health-check``) it exits 1. A shell run
only runs the preflight and writes nothing.

**Metric.** After writing the report it emits ``AlphaEngine/HealthChecksFailed`` (no dimensions,
unit Count, the check's clock) = the number of hard problems, so 0 unless the verdict is
``failed``: the ``AlphaEngine-HealthCheckFailures`` alarm (``alpha_engine.monitor``) watches it.

It learns which stages are skipped from the execution's input (``receives_execution_input``); run
outside an execution, no stage is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alpha_engine.pipeline import (
    HEALTH_MARKER,
    METRICS,
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
from ._errors import FreshnessRegistryError, HealthCheckFailedError
from ._registry import ArtifactSpec, load_registry

__all__ = ["SaturdayHealthCheck"]

_STATUSES = ("ok", "skipped", "failed", "not_run", "missing_outputs")
_PROBLEMS = ("failed", "not_run", "missing_outputs")


def _age_days(last_success: Any, now: datetime) -> float | None:
    if not isinstance(last_success, str):
        return None
    try:
        stamp = datetime.fromisoformat(last_success.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return round((now - stamp).total_seconds() / 86400, 1)


def _reason(row: dict[str, Any], day: str) -> str:
    status = row["status"]
    if status == "failed":
        text = f"its marker for {day} says failed: {row['error'] or 'no error recorded'}"
    elif status == "missing_outputs":
        return f"its marker is ok but {', '.join(row['missing_outputs'])} is missing"
    elif row["marker_run_date"] is None:
        return "no health marker: it has never run here"
    else:
        text = f"its last marker is for run_date {row['marker_run_date']}, so it did not run for {day}"
    if row["last_success"] is None:
        return f"{text}; it has never succeeded"
    return f"{text}; last success {row['last_success']} ({row['last_success_age_days']} days ago)"


class SaturdayHealthCheck(Stage[NoOptions]):
    name = "SaturdayHealthCheck"
    slug = "saturday-health-check"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 90
    description = "Checks every stage's health marker and declared outputs for the run date"
    consumes = (optional(HEALTH_MARKER),)  # every stage may have been skipped
    produces = (HEALTH_REPORT,)
    receives_execution_input = True  # to tell a skipped stage from one that never ran
    registry_path: str | None = None  # the freshness registry; None: the packaged freshness_registry.yaml

    def _others(self, ctx: StageContext[NoOptions]) -> list[type[Stage[Any]]]:
        """The stages before this one in graph order (every other stage if it is not in the graph)."""
        stages = list(ctx.graph.stages())
        slugs = [stage.slug for stage in stages]
        return stages[:slugs.index(self.slug)] if self.slug in slugs else stages

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        try:
            ctx.artifacts.list(HEALTH_MARKER.prefix)
        except StoreError as exc:
            raise PreflightError(f"cannot list health markers in {ctx.settings.artifacts_uri}: {exc}") from exc
        try:
            load_registry(self.registry_path)
        except FreshnessRegistryError as exc:
            raise PreflightError(str(exc)) from exc

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        day = ctx.run_date.isoformat()
        rows: dict[str, dict[str, Any]] = {}
        problems: list[dict[str, str]] = []
        specs = load_registry(self.registry_path)
        unregistered: dict[str, list[str]] = {}
        for stage in self._others(ctx):
            owned = [spec for spec in specs if spec.owner == stage.slug]
            known = {spec.key for spec in owned}
            if missing_entries := [a.key for a in stage.produces if a.dated and a.key not in known]:
                unregistered[stage.slug] = missing_entries
                ctx.logger.warning("%s: dated output(s) %s have no freshness registry entry (checked here all "
                                   "the same); add them to the registry", stage.name, ", ".join(missing_entries))
            rows[stage.slug] = row = self._check(ctx, stage, day, owned)
            if row["status"] in _PROBLEMS:
                problems.append({"stage": stage.name, "failure_class": stage.failure_class.value,
                                 "status": row["status"], "reason": _reason(row, day)})
        hard = [p for p in problems if p["failure_class"] == FailureClass.HARD.value]
        verdict = "failed" if hard else "degraded" if problems else "ok"
        counts = {status: sum(1 for r in rows.values() if r["status"] == status) for status in _STATUSES}
        key = ctx.key(HEALTH_REPORT)
        ctx.artifacts.write_json(key, {"run_date": day, "status": verdict, "problems": problems,
                                       "stages": rows, "counts": counts, "unregistered": unregistered})
        ctx.logger.info("checked %d stages: %s; verdict %s", len(rows), counts, verdict)
        if ctx.resources.wired(METRICS):
            ctx.resource(METRICS).emit("AlphaEngine", "HealthChecksFailed", float(len(hard)), None, ctx.now(),
                                       unit="Count")
        described = [f"{p['stage']} ({p['failure_class']}): {p['status']}: {p['reason']}" for p in problems]
        if verdict == "failed":
            raise HealthCheckFailedError(
                f"health check failed for {day}: {len(problems)} stage(s) failed, did not run or lack outputs, "
                f"{len(hard)} of them hard: "
                + "; ".join(described) + f" (report {key})")
        return StageOutcome(summary={"status": verdict, "checked": len(rows), **counts}, warnings=tuple(described))

    @staticmethod
    def _check(ctx: StageContext[NoOptions], stage: type[Stage[Any]], day: str,
               owned: list[ArtifactSpec]) -> dict[str, Any]:
        key = HEALTH_MARKER.format(slug=stage.slug)
        marker = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        marker_day = marker.get("run_date") if marker else None
        if stage.slug in ctx.skipped:
            return {"status": "skipped", "marker_run_date": marker_day}
        last_success = marker.get("last_success") if marker else None
        since = {"last_success": last_success, "last_success_age_days": _age_days(last_success, ctx.now())}
        if marker is None or marker_day != day:
            return {"status": "not_run", "marker_run_date": marker_day, **since}
        if marker["status"] != "ok":
            return {"status": "failed", "error": marker.get("error"), **since}
        declared = [output for a in stage.produces if (output := a.run_key(ctx.run_date)) is not None]
        keys = list(dict.fromkeys([*declared, *(spec.format(day) for spec in owned)]))
        missing = [key for key in keys if not ctx.artifacts.exists(key)]
        return {"status": "missing_outputs" if missing else "ok", "missing_outputs": missing}
