"""The substrate check: each source kind passes on a good artifact and fails on a planted flaw; OR
semantics, row statuses (error isolated), the cadence filter, not_yet_effective, the metrics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from alpha_engine.health import (
    SUBSTRATE_NAMESPACE,
    Inventory,
    check_substrate,
    load_inventory,
    substrate_datapoints,
)
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _inventory(tmp_path: Path, *rows: dict[str, Any]) -> Inventory:
    path = tmp_path / "inventory.yaml"
    full = [{"cadence": "weekly", "effective_date": "2020-01-01", "description": "a row", **row} for row in rows]
    path.write_text(yaml.safe_dump({"rows": full}), encoding="utf-8")
    return load_inventory(path)


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def metrics(tmp_path: Path) -> SqliteMetrics:
    return SqliteMetrics(tmp_path / "metrics.db")


def _check(inventory: Inventory, store: ArtifactStore, metrics: SqliteMetrics | None = None,
           cadence: str = "weekly", workspace: Path | None = None) -> dict[str, tuple[str, str]]:
    report = check_substrate(inventory, cadence, run_date=DAY, artifacts=store, metrics=metrics,
                             workspace=workspace, now=NOW)
    return {r.id: (r.status, r.reason) for r in report.rows}


def _row(kind: str, **spec: Any) -> dict[str, Any]:
    return {"id": "row", "sources": [{"kind": kind, **spec}]}


# -- json ------------------------------------------------------------------------------------------

JSON_ROW = _row("json", key_pattern="reports/{date}.json", assert_keys_present=["model", "stats.n"],
                **{"assert": [{"path": "stats.n", "op": "gte", "value": 10}]})


def test_json_passes_and_walks_back_to_the_latest_day(tmp_path: Path, store: ArtifactStore) -> None:
    store.write_json("reports/2026-11-18.json", {"model": "m", "stats": {"n": 12}})
    assert _check(_inventory(tmp_path, JSON_ROW), store)["row"] == ("ok", "reports/2026-11-18.json passes")


@pytest.mark.parametrize(("payload", "reason"), [
    ({"stats": {"n": 12}}, "reports/2026-11-21.json: key model is absent"),
    ({"model": "m", "stats": {"n": 3}}, "reports/2026-11-21.json: stats.n is 3, expected >= 10"),
    ({"model": "m", "stats": {"n": "many"}}, "reports/2026-11-21.json: stats.n is 'many', which cannot be compared"),
])
def test_json_fails_on_a_planted_flaw(tmp_path: Path, store: ArtifactStore, payload: dict[str, Any],
                                      reason: str) -> None:
    store.write_json("reports/2026-11-21.json", payload)
    status, why = _check(_inventory(tmp_path, JSON_ROW), store)["row"]
    assert status == "fail" and why.startswith(reason)


def test_json_older_than_max_age_is_not_found(tmp_path: Path, store: ArtifactStore) -> None:
    store.write_json("reports/2026-11-12.json", {"model": "m", "stats": {"n": 12}})  # 9 days back
    assert _check(_inventory(tmp_path, JSON_ROW), store)["row"] == (
        "fail", "no reports/{date}.json from 2026-11-13 to 2026-11-21 (8 days back)")


def test_a_fixed_json_key_is_aged_by_its_own_date(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, _row("json", key="pointer.json", max_age_days=3))
    store.write_json("pointer.json", {"date": "2026-11-19"})
    assert _check(inventory, store)["row"][0] == "ok"
    store.write_json("pointer.json", {"date": "2026-11-17"})
    assert _check(inventory, store)["row"] == (
        "fail", "pointer.json is stale: it is for 2026-11-17, 4 days before 2026-11-21 (max 3)")


def test_a_non_fatal_status_degrades_the_row(tmp_path: Path, store: ArtifactStore) -> None:
    store.write_json("drift/2026-11-21.json", {"status": "drift"})
    inventory = _inventory(tmp_path, _row("json", key_pattern="drift/{date}.json", non_fatal_statuses=["drift"]))
    assert _check(inventory, store)["row"] == ("degraded", "drift/2026-11-21.json: status is 'drift'")


def test_an_absent_json_with_its_companion_present_is_ok(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, _row("json", key_pattern="changes/{date}.json",
                                          treat_absent_as="ok_if_companion_present",
                                          companion_key_pattern="metrics/{date}.json"))
    assert _check(inventory, store)["row"][0] == "fail"
    store.write_json("metrics/2026-11-20.json", {})
    assert _check(inventory, store)["row"] == ("ok", "absent, but its companion metrics/2026-11-20.json is present")


# -- csv and parquet ---------------------------------------------------------------------------------

def _table_row(kind: str) -> dict[str, Any]:
    return _row(kind, key=f"trades/eod.{kind}", assert_columns_present=["day", "pnl", "residual"],
                assert_column_non_null=["pnl"],
                assert_value_on_latest_row={"column": "residual", "op": "lte", "value": 1.0})


def _write_table(store: ArtifactStore, kind: str, frame: pd.DataFrame) -> None:
    if kind == "csv":
        store.write_bytes(f"trades/eod.{kind}", frame.to_csv(index=False).encode())
    else:
        store.write_bytes(f"trades/eod.{kind}", frame.to_parquet(index=False))


GOOD = pd.DataFrame({"day": ["2026-11-19", "2026-11-20"], "pnl": [1.0, 2.0], "residual": [3.0, 0.5]})


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_table_passes(tmp_path: Path, store: ArtifactStore, kind: str) -> None:
    _write_table(store, kind, GOOD)
    assert _check(_inventory(tmp_path, _table_row(kind)), store)["row"] == ("ok", f"trades/eod.{kind} passes (2 rows)")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
@pytest.mark.parametrize(("frame", "reason"), [
    (GOOD.drop(columns=["residual"]), "column(s) residual absent"),
    (GOOD.assign(pnl=[1.0, None]), "column pnl has 1 null value(s) of 2"),
    (GOOD.assign(residual=[0.5, 3.0]), "residual on the latest row is 3.0, expected <= 1.0"),
])
def test_a_table_fails_on_a_planted_flaw(tmp_path: Path, store: ArtifactStore, kind: str, frame: pd.DataFrame,
                                         reason: str) -> None:
    _write_table(store, kind, frame)
    assert _check(_inventory(tmp_path, _table_row(kind)), store)["row"] == ("fail", f"trades/eod.{kind}: {reason}")


# -- sqlite ----------------------------------------------------------------------------------------------

def _db(path: Path, columns: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE risk_events ({columns})")
    db.close()


def test_sqlite_columns_in_a_workspace_file_and_in_an_artifact(tmp_path: Path, store: ArtifactStore) -> None:
    workspace = tmp_path
    _db(workspace / "trades" / "trades.db", "rule TEXT, reason TEXT, value REAL")
    _db(tmp_path / "artifacts" / "trades" / "latest.db", "rule TEXT, reason TEXT")
    inventory = _inventory(
        tmp_path,
        {"id": "file", "sources": [{"kind": "sqlite", "file": "trades/trades.db", "table": "risk_events",
                                    "assert_columns_present": ["rule", "value"]}]},
        {"id": "artifact", "sources": [{"kind": "sqlite", "key": "trades/latest.db", "table": "risk_events",
                                        "assert_columns_present": ["rule", "value"]}]},
        {"id": "no_table", "sources": [{"kind": "sqlite", "file": "trades/trades.db", "table": "orders",
                                        "assert_columns_present": ["id"]}]},
    )
    result = _check(inventory, store, workspace=workspace)
    assert result["file"] == ("ok", "trades/trades.db: table risk_events has every column")
    assert result["artifact"] == ("fail", "trades/latest.db: table risk_events lacks column(s) value")
    assert result["no_table"] == ("fail", "trades/trades.db: table orders is absent")


# -- metric ----------------------------------------------------------------------------------------------

RATE_ROW = _row("metric", namespace="AlphaEngine/Pipeline", succeeded_metric="ExecutionsSucceeded",
                failed_metric="ExecutionsFailed", dimensions={"StateMachine": "sm"},
                **{"assert": {"op": "success_rate_pct_gte", "value": 75}})


def _executions(metrics: SqliteMetrics, succeeded: int, failed: int, *, days_ago: int = 1) -> None:
    when = NOW - timedelta(days=days_ago)
    for name, n in (("ExecutionsSucceeded", succeeded), ("ExecutionsFailed", failed)):
        for i in range(n):
            metrics.emit("AlphaEngine/Pipeline", name, 1, {"StateMachine": "sm"}, when + timedelta(minutes=i))


def test_success_rate_passes_and_fails(tmp_path: Path, store: ArtifactStore, metrics: SqliteMetrics) -> None:
    inventory = _inventory(tmp_path, RATE_ROW)
    _executions(metrics, 3, 1)
    assert _check(inventory, store, metrics)["row"] == (
        "ok", "AlphaEngine/Pipeline/ExecutionsSucceeded+ExecutionsFailed{StateMachine=sm}: 75.0% succeeded "
              "(3 of 4) in the last 7 days")
    _executions(metrics, 0, 1)
    status, reason = _check(inventory, store, metrics)["row"]
    assert status == "fail" and reason.endswith("60.0% succeeded (3 of 5) in the last 7 days, expected >= 75%")


def test_executions_outside_the_window_do_not_count(tmp_path: Path, store: ArtifactStore,
                                                    metrics: SqliteMetrics) -> None:
    _executions(metrics, 5, 0, days_ago=8)
    status, reason = _check(_inventory(tmp_path, RATE_ROW), store, metrics)["row"]
    assert status == "fail" and reason.endswith("no execution recorded in the last 7 days")


def test_datapoints_gte(tmp_path: Path, store: ArtifactStore, metrics: SqliteMetrics) -> None:
    inventory = _inventory(tmp_path, _row("metric", namespace="AlphaEngine/Eval", metric="Quality", window_days=14,
                                          **{"assert": {"op": "datapoints_gte", "value": 1}}))
    assert _check(inventory, store, metrics)["row"] == (
        "fail", "AlphaEngine/Eval/Quality: 0 datapoint(s) in the last 14 days, expected >= 1")
    metrics.emit("AlphaEngine/Eval", "Quality", 0.7, None, NOW - timedelta(days=13))
    assert _check(inventory, store, metrics)["row"][0] == "ok"


# -- rows -------------------------------------------------------------------------------------------------

def test_sources_are_or_ed_the_first_passing_one_decides(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, {"id": "row", "sources": [
        {"kind": "json", "key": "a.json"}, {"kind": "json", "key": "b.json"}, {"kind": "json", "key": "c.json"}]})
    store.write_json("b.json", {})
    store.write_json("c.json", {})
    report = check_substrate(inventory, "weekly", run_date=DAY, artifacts=store, metrics=None, workspace=None, now=NOW)
    assert (report.rows[0].status, report.rows[0].source) == ("ok", "b.json")


def test_a_source_that_raises_is_that_rows_error_only(tmp_path: Path, store: ArtifactStore) -> None:
    store.write_bytes("broken/2026-11-21.json", b"{not json")
    store.write_json("fine.json", {})
    inventory = _inventory(tmp_path, _row("json", key_pattern="broken/{date}.json"),
                           {"id": "fine", "sources": [{"kind": "json", "key": "fine.json"}]})
    result = _check(inventory, store)
    assert result["row"][0] == "error" and "ContractError" in result["row"][1] and "not valid JSON" in result["row"][1]
    assert result["fine"][0] == "ok"


def test_a_non_fatal_row_that_fails_is_degraded(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, {**_row("json", key="absent.json"), "non_fatal": True})
    assert _check(inventory, store)["row"] == ("degraded", "absent.json is absent (non_fatal row)")


def test_before_its_effective_date_a_row_is_not_yet_effective(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, {**_row("json", key="absent.json"), "effective_date": "2026-11-22"})
    assert _check(inventory, store)["row"] == ("not_yet_effective", "effective from 2026-11-22")


def test_the_cadence_filter(tmp_path: Path, store: ArtifactStore) -> None:
    inventory = _inventory(tmp_path, *({**_row("json", key="x.json"), "id": c, "cadence": c}
                                       for c in ("daily", "weekly", "per_event")))
    assert list(_check(inventory, store, cadence="weekly")) == ["daily", "weekly"]
    assert list(_check(inventory, store, cadence="daily")) == ["daily"]
    assert list(_check(inventory, store, cadence="per_event")) == ["per_event"]


def test_metrics_and_percentage(tmp_path: Path, store: ArtifactStore, metrics: SqliteMetrics) -> None:
    store.write_json("ok.json", {})
    store.write_json("deg.json", {"status": "bad"})
    inventory = _inventory(
        tmp_path, {"id": "good", "sources": [{"kind": "json", "key": "ok.json"}]},
        {"id": "soso", "sources": [{"kind": "json", "key": "deg.json", "non_fatal_statuses": ["bad"]}]},
        {"id": "bad", "sources": [{"kind": "json", "key": "absent.json"}]},
        {"id": "later", "effective_date": "2099-01-01", "sources": [{"kind": "json", "key": "absent.json"}]})
    report = check_substrate(inventory, "weekly", run_date=DAY, artifacts=store, metrics=None, workspace=None, now=NOW)
    assert report.counts == {"ok": 1, "fail": 1, "degraded": 1, "not_yet_effective": 1, "error": 0}
    assert report.pct_ok == 50.0  # ok / (total - pending - degraded) = 1 / 2
    metrics.emit_many(substrate_datapoints(report, NOW))
    rows = {r: metrics.datapoints(SUBSTRATE_NAMESPACE, "SubstrateRowOK", {"RowID": r})[0].value
            for r in ("good", "soso", "bad", "later")}
    assert rows == {"good": 1.0, "soso": 1.0, "bad": 0.0, "later": 1.0}
    aggregates = {n: metrics.datapoints(SUBSTRATE_NAMESPACE, n, None)[0].value for n in
                  ("SubstrateChecksOK", "SubstrateChecksFailed", "SubstrateChecksDegraded", "SubstrateChecksPending")}
    assert aggregates == {"SubstrateChecksOK": 1.0, "SubstrateChecksFailed": 1.0, "SubstrateChecksDegraded": 1.0,
                          "SubstrateChecksPending": 1.0}


def test_the_same_inputs_give_the_same_report(tmp_path: Path, store: ArtifactStore) -> None:
    store.write_json("reports/2026-11-21.json", {"model": "m", "stats": {"n": 12}})
    inventory = _inventory(tmp_path, JSON_ROW)
    first, second = (check_substrate(inventory, "weekly", run_date=DAY, artifacts=store, metrics=None,
                                     workspace=None, now=NOW).to_json() for _ in range(2))
    assert first == second


def test_the_packaged_inventory_loads_and_names_its_rows() -> None:
    inventory = load_inventory()
    assert {"pipeline_execution", "predictor_decisions", "data_quality", "drift", "agent_decisions",
            "cost_telemetry"} <= set(inventory.row_ids)
    assert all(r.effective_date <= date(2026, 12, 5) for r in inventory.rows)  # every row is in effect
