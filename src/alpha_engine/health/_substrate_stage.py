"""WeeklySubstrateHealthCheck: does every substrate row of the inventory have its artifact or metric?

Runs after SaturdayHealthCheck (upstream row 22) whatever that check's verdict: it reads only the
artifact store, the metrics store and the market store, never the health report. It checks the
inventory's rows for its cadence (``weekly``: weekly and daily rows; :mod:`._substrate` says how a
row is judged), checks the constituents for drift, then:

* writes ``monitoring/substrate/{date}.json`` (:data:`SUBSTRATE_REPORT`);
* emits ``AlphaEngine/Substrate`` ``SubstrateRowOK{RowID}`` per row and the aggregates
  ``SubstrateChecksOK``/``Failed``/``Degraded``/``Pending`` (the substrate alarms watch them);
* warns for each degraded row and for constituents drift;
* fails (it is soft: the run goes on to its notification) when a row is ``fail`` or ``error``,
  naming each row, why, and what to do.

A shell run only runs the preflight (the inventory loads and the artifact store lists) and writes
nothing.

**Constituents drift** (upstream compares Wikipedia's S&P list with the ArcticDB universe): the
stored universe (the market store's tickers) against the configured constituents source as
DataPhase1 last recorded it (the latest ``market_data/weekly/{date}/constituents.json`` at most 8
days back). Added: in the constituents, not stored; removed: stored, not in the constituents. Drift
is a warning, never a failure; no market store or no constituents artifact skips the comparison.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from alpha_engine.data import WEEKLY_CONSTITUENTS
from alpha_engine.pipeline import (
    MARKET,
    METRICS,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
)
from alpha_engine.store import StoreError

from ._artifacts import SUBSTRATE_REPORT
from ._errors import SubstrateCheckFailedError, SubstrateInventoryError
from ._inventory import DEFAULT_MAX_AGE_DAYS, Inventory, load_inventory
from ._substrate import RowResult, SubstrateReport, check_substrate, substrate_datapoints

__all__ = ["SubstrateCheckOptions", "WeeklySubstrateHealthCheck", "constituents_drift"]


class SubstrateCheckOptions(BaseModel):
    """``[stages.weekly-substrate-health-check]``: the inventory file (default: the packaged one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inventory: str | None = None


def _remedy(row: RowResult, inventory: Inventory) -> str:
    if row.status == "error":
        return "read the error, fix the artifact or the inventory row, then rerun the check"
    kinds = {s.kind for r in inventory.rows if r.id == row.id for s in r.sources}
    if kinds == {"metric"}:
        return "look at the metric's series (alpha-engine metrics get NAME) and what emits it"
    return f"rerun the stage that writes {row.source} for this run date (or fix the inventory row)"


def constituents_drift(configured: list[str] | None, stored: list[str] | None, source: str | None,
                       why_skipped: str = "") -> dict[str, Any]:
    """The drift entry of the report: tickers added to / removed from the configured constituents
    compared with the stored universe."""
    if configured is None or stored is None:
        return {"status": "skipped", "reason": why_skipped or "nothing to compare", "source": source,
                "added": [], "removed": []}
    added = sorted(set(configured) - set(stored))
    removed = sorted(set(stored) - set(configured))
    if not added and not removed:
        return {"status": "ok", "reason": f"{len(configured)} constituents, all stored and nothing else",
                "source": source, "added": [], "removed": []}
    return {"status": "drift", "source": source, "added": added, "removed": removed,
            "reason": f"{len(added)} constituent(s) not in the market store ({', '.join(added[:10]) or '-'}); "
                      f"{len(removed)} stored ticker(s) no longer constituents ({', '.join(removed[:10]) or '-'}); "
                      "the next DataPhase1 run reconciles the universe"}


class WeeklySubstrateHealthCheck(Stage[SubstrateCheckOptions]):
    name = "WeeklySubstrateHealthCheck"
    slug = "weekly-substrate-health-check"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 180
    description = "Checks the substrate inventory's weekly and daily rows and constituents drift; emits substrate metrics"
    requires = (MARKET,)
    produces = (SUBSTRATE_REPORT,)
    cadence = "weekly"

    def _inventory(self, ctx: StageContext[SubstrateCheckOptions]) -> Inventory:
        path = ctx.options.inventory
        return load_inventory(None if path is None else Path(path).expanduser())

    def preflight(self, ctx: StageContext[SubstrateCheckOptions]) -> None:
        try:
            self._inventory(ctx)
        except SubstrateInventoryError as exc:
            raise PreflightError(str(exc)) from exc
        try:
            ctx.artifacts.list(SUBSTRATE_REPORT.prefix)
        except StoreError as exc:
            raise PreflightError(f"cannot list substrate reports in {ctx.settings.artifacts_uri}: {exc}") from exc

    def run(self, ctx: StageContext[SubstrateCheckOptions]) -> StageOutcome:
        inventory = self._inventory(ctx)
        metrics = ctx.resource(METRICS) if ctx.resources.wired(METRICS) else None
        now = ctx.now()
        report = check_substrate(inventory, self.cadence, run_date=ctx.run_date, artifacts=ctx.artifacts,
                                 metrics=metrics, workspace=ctx.settings.workspace, now=now)
        drift = self._drift(ctx)
        key = ctx.key(SUBSTRATE_REPORT)
        ctx.artifacts.write_json(key, {**report.to_json(), "constituents_drift": drift})
        if metrics is not None:
            metrics.emit_many(substrate_datapoints(report, now))
        counts = report.counts
        ctx.logger.info("checked %d substrate rows (%s): %s; %s%% ok", len(report.rows), inventory.path, counts,
                        report.pct_ok)
        warnings = [f"substrate row {r.id} degraded: {r.reason}" for r in report.rows if r.status == "degraded"]
        if drift["status"] == "drift":
            warnings.append(f"constituents drift: {drift['reason']}")
        failed = report.failed
        if failed:
            raise SubstrateCheckFailedError(
                f"substrate check for {ctx.run_date} ({self.cadence}): {len(failed)} of {len(report.rows)} row(s) "
                "failed: " + "; ".join(f"{r.id} ({r.status}): {r.reason}; to fix: {_remedy(r, inventory)}" for r in failed)
                + f" (report {key}; inventory {inventory.path})")
        return StageOutcome(summary=self._summary(report, drift), warnings=tuple(warnings))

    @staticmethod
    def _summary(report: SubstrateReport, drift: dict[str, Any]) -> dict[str, Any]:
        return {"rows": len(report.rows), **report.counts, "pct_ok": report.pct_ok,
                "constituents_drift": drift["status"]}

    @staticmethod
    def _drift(ctx: StageContext[SubstrateCheckOptions]) -> dict[str, Any]:
        key = None
        for back in range(DEFAULT_MAX_AGE_DAYS + 1):
            candidate = WEEKLY_CONSTITUENTS.run_key(ctx.run_date - timedelta(days=back))
            if candidate is not None and ctx.artifacts.exists(candidate):
                key = candidate
                break
        if key is None:
            return constituents_drift(None, None, None, f"no {WEEKLY_CONSTITUENTS.key} in the last "
                                      f"{DEFAULT_MAX_AGE_DAYS} days: DataPhase1 has not recorded the constituents")
        configured = [str(t) for t in ctx.artifacts.read_json(key).get("tickers", [])]
        try:
            market = ctx.resource(MARKET)
            stored = market.tickers() if market.libraries_present() else None
        except StoreError as exc:
            return constituents_drift(None, None, key, f"the market store cannot be read ({exc})")
        if stored is None:
            return constituents_drift(None, None, key, "the market store has no universe library yet")
        return constituents_drift(configured, stored, key)
