"""WeeklySubstrateHealthCheck in a run: it writes its report, emits the substrate metrics, warns on
degraded rows, fails (soft) naming each failed row, writes nothing in a shell run, and runs after
SaturdayHealthCheck whatever that check's verdict."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from alpha_engine.app import RESOURCES, SATURDAY_GRAPH
from alpha_engine.config import Settings, load_settings
from alpha_engine.data import WEEKLY_CONSTITUENTS
from alpha_engine.health import (
    SUBSTRATE_NAMESPACE,
    SUBSTRATE_REPORT,
    SaturdayHealthCheck,
    WeeklySubstrateHealthCheck,
)
from alpha_engine.health._substrate_stage import constituents_drift
from alpha_engine.pipeline import FailureClass, PipelineApp, StageGraph, compose_definition, run_stage
from alpha_engine.store import SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (SaturdayHealthCheck, WeeklySubstrateHealthCheck)),
                  resources=RESOURCES)
ROWS = [
    {"id": "present", "cadence": "weekly", "effective_date": "2020-01-01", "description": "d",
     "sources": [{"kind": "json", "key_pattern": "reports/{date}.json"}]},
    {"id": "drifting", "cadence": "daily", "effective_date": "2020-01-01", "description": "d",
     "sources": [{"kind": "json", "key_pattern": "drift/{date}.json", "non_fatal_statuses": ["drift"]}]},
    {"id": "missing", "cadence": "weekly", "effective_date": "2020-01-01", "description": "d",
     "sources": [{"kind": "json", "key_pattern": "absent/{date}.json"}]},
    {"id": "per_run", "cadence": "per_event", "effective_date": "2020-01-01", "description": "not weekly",
     "sources": [{"kind": "json", "key": "absent.json"}]},
]


def _settings(tmp_path: Path, rows: list[dict[str, Any]]) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump({"rows": rows}), encoding="utf-8")
    config = tmp_path / "alpha-engine.toml"
    config.write_text(f'[stages.weekly-substrate-health-check]\ninventory = "{inventory}"\n', encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


def _run(settings: Settings, *, preflight_only: bool = False) -> Any:
    return run_stage("weekly-substrate-health-check", DAY, settings=settings, app=APP, now=lambda: NOW,
                     preflight_only=preflight_only)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = _settings(tmp_path, ROWS)
    store = APP.open_artifacts(settings, read_only=False)
    store.write_json("reports/2026-11-20.json", {})
    store.write_json("drift/2026-11-21.json", {"status": "drift"})
    return settings


def test_a_failed_row_fails_the_stage_naming_it_after_writing_report_and_metrics(settings: Settings) -> None:
    result = _run(settings)
    assert result.status == "failed" and result.exit_code == 1
    assert result.error.startswith("SubstrateCheckFailedError: substrate check for 2026-11-21 (weekly): 1 of 3 "
                                   "row(s) failed: missing (fail): no absent/{date}.json from 2026-11-13 to "
                                   "2026-11-21 (8 days back); to fix: rerun the stage that writes absent/{date}.json "
                                   "for this run date (or fix the inventory row)")
    report = APP.open_artifacts(settings).read_json(SUBSTRATE_REPORT.format(DAY))
    assert [(r["id"], r["status"]) for r in report["rows"]] == [
        ("present", "ok"), ("drifting", "degraded"), ("missing", "fail")]  # per_event rows are not weekly
    assert report["counts"] == {"ok": 1, "fail": 1, "degraded": 1, "not_yet_effective": 0, "error": 0}
    assert report["pct_ok"] == 50.0 and report["cadence"] == "weekly" and report["checked_at"] == "2026-11-21T12:00:00Z"
    assert report["constituents_drift"]["status"] == "skipped"
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    assert [p.value for p in metrics.datapoints(SUBSTRATE_NAMESPACE, "SubstrateRowOK", {"RowID": "missing"})] == [0.0]
    assert [p.value for p in metrics.datapoints(SUBSTRATE_NAMESPACE, "SubstrateChecksFailed", None)] == [1.0]


def test_degraded_rows_are_warnings_and_the_stage_succeeds(tmp_path: Path) -> None:
    settings = _settings(tmp_path, ROWS[:2])
    store = APP.open_artifacts(settings, read_only=False)
    store.write_json("reports/2026-11-21.json", {})
    store.write_json("drift/2026-11-21.json", {"status": "drift"})
    result = _run(settings)
    assert result.status == "ok", result.error
    assert result.warnings[0] == "substrate row drifting degraded: drift/2026-11-21.json: status is 'drift'"
    assert result.summary["ok"] == 1 and result.summary["degraded"] == 1 and result.summary["pct_ok"] == 100.0


def test_a_shell_run_checks_the_inventory_and_writes_nothing(settings: Settings, tmp_path: Path) -> None:
    result = _run(settings, preflight_only=True)
    assert result.status == "ok"
    assert not APP.open_artifacts(settings).exists(SUBSTRATE_REPORT.format(DAY))
    assert not (settings.workspace / "metrics.db").exists()
    broken = _settings(tmp_path / "broken", [{**ROWS[0], "cadence": "hourly"}])
    refused = _run(broken, preflight_only=True)
    assert refused.status == "preflight_failed" and "row present (rows[0]), field cadence" in refused.error


def test_constituents_drift_names_added_and_removed_tickers() -> None:
    drift = constituents_drift(["AAPL", "BNY", "MSFT"], ["AAPL", "BK", "MSFT"], "c.json")
    assert (drift["status"], drift["added"], drift["removed"]) == ("drift", ["BNY"], ["BK"])
    assert constituents_drift(["A"], ["A"], "c.json")["status"] == "ok"
    assert constituents_drift(None, None, None, "no store")["status"] == "skipped"


def test_the_drift_check_reads_the_latest_constituents_and_warns(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    settings = _settings(tmp_path / "d", ROWS[:1])
    store = APP.open_artifacts(settings, read_only=False)
    store.write_json("reports/2026-11-21.json", {})
    store.write_json(WEEKLY_CONSTITUENTS.format(date(2026, 11, 14)), {
        "run_date": "2026-11-14", "provider": "sample", "tickers": ["AAPL", "BNY"], "count": 2,
        "sector_map": {"AAPL": "Technology", "BNY": "Financials"}, "caveats": []})

    class Market:
        def libraries_present(self) -> bool:
            return True

        def tickers(self) -> list[str]:
            return ["AAPL", "BK"]

    from alpha_engine.pipeline import MARKET, StageContext

    real = StageContext.resource
    monkeypatch.setattr(StageContext, "resource",
                        lambda self, resource: Market() if resource is MARKET else real(self, resource))
    result = _run(settings)
    assert result.status == "ok", result.error
    assert result.summary["constituents_drift"] == "drift"
    assert result.warnings[-1].startswith("constituents drift: 1 constituent(s) not in the market store (BNY); "
                                          "1 stored ticker(s) no longer constituents (BK)")


def test_it_runs_after_the_saturday_health_check_whatever_its_verdict() -> None:
    stages = [s.name for s in SATURDAY_GRAPH.stages()]
    assert stages[-2:] == ["SaturdayHealthCheck", "WeeklySubstrateHealthCheck"]
    assert WeeklySubstrateHealthCheck.failure_class is FailureClass.SOFT
    states = compose_definition(SATURDAY_GRAPH)["States"]
    health = states["SaturdayHealthCheck"]
    assert health["Next"] == "CheckSkipWeeklySubstrateHealthCheck"
    assert [c["Next"] for c in health["Catch"]] == ["CheckSkipWeeklySubstrateHealthCheck"]
    assert states["CheckSkipWeeklySubstrateHealthCheck"]["Default"] == "WeeklySubstrateHealthCheck"
