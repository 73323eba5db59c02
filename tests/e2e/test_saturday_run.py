"""The shipped Saturday pipeline end to end on the bundled sample, offline.

Every expectation about stages comes from the graph (``SATURDAY_GRAPH``): which stages run, what
each produces, what each consumes. The facts about the sample (20 survivor stocks, closes only,
no model with skill) are the sample's, and are named as such.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.pipeline import HEALTH_MARKER, PollingStage, stage_log_prefix
from alpha_engine.store import ArtifactStore, SqliteMetrics
from conftest import SaturdayRun, data_snapshot

pytestmark = pytest.mark.xdist_group("saturday_run")

STAGES = SATURDAY_GRAPH.stages()
RUN_DATE = "2022-12-31"  # the sample's default run date: the first Saturday after its last bar


def _artifacts(workspace: Path) -> ArtifactStore:
    return ArtifactStore(workspace / "artifacts", read_only=True, contracts=SATURDAY_GRAPH.contracts())


def _calls(stage: type[Any]) -> int:
    """Stage calls in a run without a model (a log each): a polling stage's submit and process, else one."""
    return 2 if issubclass(stage, PollingStage) else 1


def _one_per_run(stage: Any) -> list[str]:
    """The keys a stage writes once per run (dated by run_date, or one fixed key)."""
    return [key for a in stage.produces if (key := a.run_key(RUN_DATE)) is not None]


def test_a_fresh_workspace_runs_every_stage_of_the_graph(saturday_run: SaturdayRun) -> None:
    report = saturday_run.report
    assert report["run_date"] == RUN_DATE and report["execution"]["status"] == "SUCCEEDED"
    assert {s["name"]: s["status"] for s in report["stages"]} == {s.name: "SUCCEEDED" for s in STAGES}
    assert "SUCCESS" in report["notification"]["subject"]
    store = _artifacts(saturday_run.workspace)
    for stage in STAGES:
        marker = store.read_json(HEALTH_MARKER.format(slug=stage.slug))
        assert marker["status"] == "ok" and marker["run_date"] == RUN_DATE, stage.name
        for key in _one_per_run(stage):
            assert store.exists(key), f"{stage.name} did not write {key}"
        logs = store.list(stage_log_prefix(stage.slug, RUN_DATE, report["execution"]["name"]))
        # one log per call: a polling stage's submit and process (no model configured: nothing to poll)
        assert len(logs) == _calls(stage) and b"done in" in store.read_bytes(logs[-1]), stage.name


def test_the_health_check_finds_every_stage_before_it_ok(saturday_run: SaturdayRun) -> None:
    (health_check,) = [s for s in STAGES if s.slug == "saturday-health-check"]
    (report_artifact,) = health_check.produces
    report = _artifacts(saturday_run.workspace).read_json(report_artifact.format(RUN_DATE))
    others = [s.slug for s in STAGES[:STAGES.index(health_check)]]  # those after it have not run yet
    assert sorted(report["stages"]) == sorted(others)
    assert report["counts"] == {"ok": len(others), "skipped": 0, "failed": 0, "not_run": 0, "missing_outputs": 0}
    assert report["status"] == "ok" and report["problems"] == []


def test_the_substrate_check_finds_no_failed_row_and_no_constituents_drift(saturday_run: SaturdayRun) -> None:
    report = _artifacts(saturday_run.workspace).read_json(f"monitoring/substrate/{RUN_DATE}.json")
    statuses = {r["id"]: r["status"] for r in report["rows"]}
    assert report["counts"]["fail"] == report["counts"]["error"] == 0, report["rows"]
    assert statuses["predictor_decisions"] == statuses["data_quality"] == "ok"
    # the run's own execution has not ended when it checks: no execution recorded yet (non_fatal)
    assert statuses["pipeline_execution"] == "degraded"
    # the judge's manifest; AggregateCosts ran and found no LLM call (the deterministic rules)
    assert statuses["agent_decisions"] == statuses["cost_telemetry"] == "ok"
    assert report["constituents_drift"]["status"] == "ok"  # the sample's 20 tickers, all stored


def test_the_sample_run_reports_its_caveats_and_a_provisional_model(saturday_run: SaturdayRun) -> None:
    # Sample facts: 20 survivors picked in hindsight, closes only, and no model passes the gate.
    store = _artifacts(saturday_run.workspace)
    manifest = store.read_json(f"market_data/weekly/{RUN_DATE}/manifest.json")
    assert manifest["universe"]["written"] == 20 and manifest["as_of_session"] == "2022-12-30"
    candidates = store.read_json(f"candidates/{RUN_DATE}/candidates.json")
    assert candidates["counts"]["scanned"] == 20 and any("survivor" in c for c in candidates["caveats"])
    assert candidates["gates_not_applied_for_some_tickers"] == ["liquidity"]  # closes only: no volume
    training = store.read_json(HEALTH_MARKER.format(slug="predictor-training"))["summary"]
    assert training["challenger"].startswith(f"predictor-{RUN_DATE}-") and training["cpcv_mean_ic"] <= 0
    assert training["promoted"] is True and training["provisional"] is True
    assert training["champion"] == training["challenger"] and training["model_status"] == "provisional"
    predictions = store.read_json(f"predictor/predictions/{RUN_DATE}.json")
    assert predictions["model_status"] == "provisional" and predictions["n_predictions"] == 20
    assert any(c.startswith("provisional model") for c in predictions["caveats"])
    assert predictions["veto"] == {"confidence": 0.65, "source": "default"}  # nothing applied yet
    # The Backtester recommends keep on the sample (its holdout interval includes 0): nothing is applied.
    auto = store.read_json(f"evaluator/{RUN_DATE}/evaluation.json")["modules"]["auto_apply"]
    assert auto["data"]["applied"] == [] and auto["data"]["executor_params"]["evidence"]["recommendation"] == "keep"
    assert not store.exists("config/executor_params.json") and store.exists(f"config/metrics_history/{RUN_DATE}.json")
    assert store.read_bytes("predictor/predictions/latest.json") == \
        store.read_bytes(f"predictor/predictions/{RUN_DATE}.json")
    # The direction never contradicts the rank: p_up is non-decreasing in alpha, and no name is DOWN
    # while a lower-alpha name is UP (the in-sample calibrator's slope of -17 once marked every positive alpha DOWN).
    rows = sorted(predictions["predictions"], key=lambda r: r["predicted_alpha"])
    assert all(a["p_up"] <= b["p_up"] for a, b in zip(rows, rows[1:], strict=False))
    first_up = next((i for i, r in enumerate(rows) if r["predicted_direction"] == "UP"), len(rows))
    assert all(r["predicted_direction"] == "UP" for r in rows[first_up:])
    drift = store.read_json(f"monitoring/drift/{RUN_DATE}.json")
    assert drift["model_version"] == training["champion"] and drift["n_alerts"] == len(drift["alerts"])
    warned = {(w["stage"], w["warning"].split(":")[0]) for w in saturday_run.report["warnings"]}
    assert {("DataPhase1", "survivorship bias"),
            ("PredictorTraining", f"the champion {training['champion']} is provisional")} <= warned


def test_a_rerun_writes_nothing_and_a_shell_run_checks_the_real_artifacts(
        saturday_run: SaturdayRun, tmp_path: Path, cli: Callable[..., Any]) -> None:
    workspace = saturday_run.copy(tmp_path / "ws")
    before = data_snapshot(workspace)
    assert any(key.startswith("arcticdb/") for key in before)

    second = cli(workspace, "run", "--json")
    assert second.exit_code == 0, second.output
    assert data_snapshot(workspace) == before
    marker = json.loads((workspace / "artifacts" / HEALTH_MARKER.format(slug="data-phase1")).read_text())
    assert marker["summary"]["writes"] == {"unchanged": 26}  # sample: 20 tickers + 6 macro series

    shell = cli(workspace, "run", "--shell", "--json")
    assert shell.exit_code == 0, shell.output
    report = json.loads(shell.stdout)
    assert "Preflight" in report["notification"]["subject"]
    assert {s["status"] for s in report["stages"]} == {"SUCCEEDED"}
    assert report["warnings"] == []  # no stage ran, so no marker of this execution
    assert data_snapshot(workspace) == before
    store = _artifacts(workspace)
    for stage in STAGES:
        keys = store.list(stage_log_prefix(stage.slug, RUN_DATE, report["execution"]["name"]))
        assert len(keys) == _calls(stage), stage.name  # a polling stage: submit and process, no poll
        for key in keys:
            log = store.read_bytes(key)
            assert b"preflight-only" in log and b"would consume" not in log, stage.name  # real artifacts exist
    # An execution's warnings come from the markers written during it: the rerun replaced the first run's.
    for execution, expected in ((saturday_run.report, False), (json.loads(second.stdout), True)):
        shown = cli(workspace, "status", execution["execution"]["name"], "--json")
        assert shown.exit_code == 0 and bool(json.loads(shown.stdout)["warnings"]) is expected


def test_a_shell_run_on_an_empty_workspace_passes_and_writes_nothing(tmp_path: Path, cli: Callable[..., Any]) -> None:
    workspace = tmp_path / "fresh"
    shell = cli(workspace, "run", "--shell", "--json")
    assert shell.exit_code == 0, shell.output
    report = json.loads(shell.stdout)
    assert {s["name"]: s["status"] for s in report["stages"]} == {s.name: "SUCCEEDED" for s in STAGES}
    written = data_snapshot(workspace, operational=("sfn/", "notifications/", "logs/", "artifacts/_logs/", "run.lock"))
    # metrics.db holds only the execution count (a shell run is an execution, as on Step Functions)
    assert sorted(written) == ["metrics.db"], f"a shell run wrote {sorted(written)}"
    series = SqliteMetrics(workspace / "metrics.db", read_only=True).metrics()
    assert [(m.namespace, m.name, m.count) for m in series] == [("AlphaEngine/Pipeline", "ExecutionsSucceeded", 1)]
    store = _artifacts(workspace)
    producers = SATURDAY_GRAPH.producers()
    for stage in STAGES:
        keys = store.list(stage_log_prefix(stage.slug, RUN_DATE, report["execution"]["name"]))
        assert len(keys) == _calls(stage), stage.name
        log = "".join(store.read_bytes(key).decode() for key in keys)
        for consumed in stage.consumptions():
            shown = consumed.artifact.run_key(RUN_DATE) or consumed.artifact.key
            assert f"would consume {shown} from {producers[consumed.artifact.key]}" in log, stage.name


def test_the_data_and_predictor_commands_read_the_run(saturday_run: SaturdayRun, tmp_path: Path,
                                                     cli: Callable[..., Any]) -> None:
    workspace = saturday_run.workspace
    status = cli(workspace, "data", "status", "--json")
    assert status.exit_code == 0, status.output
    body = json.loads(status.stdout)
    assert body["as_of_session"] == "2022-12-30" and len(body["tickers"]) == 20
    assert {t["last"] for t in body["tickers"]} == {"2022-12-28"}
    assert {t["stale_trading_days"] for t in body["tickers"]} == {2}
    validate = cli(workspace, "data", "validate", "--json")
    assert validate.exit_code == 0, validate.output
    assert json.loads(validate.stdout)["summary"]["by_severity"]["block"] == 0
    features = cli(workspace, "data", "features", "--ticker", "AAPL", "--json")
    assert features.exit_code == 0
    values = json.loads(features.stdout)["values"]
    assert values["rsi_14"] is not None and values["atr_14_pct"] is None  # ATR needs High/Low

    listing = json.loads(cli(workspace, "predictor", "list", "--json").stdout)
    assert listing["champion_provisional"] is True and any(v["champion"] for v in listing["versions"])
    assert "provisional champion" in cli(workspace, "predictor", "list").stdout
    shown = cli(workspace, "predictor", "show")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["version_id"] == listing["champion"]

    copy = saturday_run.copy(tmp_path / "ws")
    confirmed = cli(copy, "predictor", "promote", listing["champion"], "--reason", "reviewed")
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(cli(copy, "predictor", "list", "--json").stdout)["champion_provisional"] is False
    rollback = cli(copy, "predictor", "rollback")
    assert rollback.exit_code == 1 and "no previous champion" in rollback.output


def test_data_commands_on_an_empty_workspace_say_what_to_do(tmp_path: Path, cli: Callable[..., Any]) -> None:
    result = cli(tmp_path / "empty", "data", "status")
    assert result.exit_code == 1 and "alpha-engine data ingest" in result.output
    catalog = cli(tmp_path / "empty", "data", "features", "--json")
    assert catalog.exit_code == 0 and len(json.loads(catalog.stdout)["features"]) == 56


def test_the_health_overview_shows_the_run_and_writes_nothing(saturday_run: SaturdayRun, cli: Callable[..., Any]) -> None:
    workspace = saturday_run.workspace
    before = data_snapshot(workspace)
    result = cli(workspace, "health", "--json")
    assert data_snapshot(workspace) == before
    view = json.loads(result.stdout)
    assert view["runs"][0]["name"] == saturday_run.report["execution"]["name"]
    assert view["runs"][0]["status"] == "SUCCEEDED" and view["runs"][0]["run_date"] == RUN_DATE
    assert {s["slug"]: s["status"] for s in view["stages"]} == {s.slug: "ok" for s in STAGES}
    assert not [item for item in view["attention"] if item.startswith(("stage ", "the last execution"))]
    substrate = view["substrate"]  # WeeklySubstrateHealthCheck's report of this run
    assert substrate["result"]["run_date"] == RUN_DATE and substrate["problems"] == []
