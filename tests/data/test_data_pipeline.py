"""The shipped pipeline on the bundled sample, offline: a fresh workspace ingests it end to end,
a second run on the same run_date writes nothing, and the data commands read the result."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app

runner = CliRunner()
# Operational records carry wall-clock times (health markers, logs, execution history); LMDB's
# lock.mdb is its reader table. Everything else is data and must not change on a rerun.
OPERATIONAL = ("sfn/", "notifications/", "dynamodb.sqlite3", "logs/", "artifacts/_logs/", "artifacts/health/")


def snapshot(workspace: Path) -> dict[str, str]:
    out = {}
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace).as_posix()
        if path.is_file() and not rel.startswith(OPERATIONAL) and path.name not in (
                "lock.mdb", ".alpha-engine-writer.lock"):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return tmp_path / "ws"


def test_fresh_workspace_ingests_the_sample_and_a_rerun_is_a_no_op(workspace: Path) -> None:
    first = runner.invoke(app, ["run", "--json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert report["run_date"] == "2022-12-31"
    assert {s["name"]: s["status"] for s in report["stages"]} == {
        "MorningEnrich": "SUCCEEDED", "DataPhase1": "SUCCEEDED", "Scanner": "SUCCEEDED",
        "PredictorTraining": "SUCCEEDED", "DriftDetection": "SUCCEEDED", "SaturdayHealthCheck": "SUCCEEDED"}
    artifacts = workspace / "artifacts"
    manifest = json.loads((artifacts / "market_data/weekly/2022-12-31/manifest.json").read_text())
    assert manifest["universe"]["written"] == 20 and manifest["as_of_session"] == "2022-12-30"
    assert any("survivor" in c for c in manifest["caveats"])
    candidates = json.loads((artifacts / "candidates/2022-12-31/candidates.json").read_text())
    assert candidates["counts"]["scanned"] == 20 and any("survivor" in c for c in candidates["caveats"])
    assert candidates["gates_not_applied_for_some_tickers"] == ["liquidity"]  # closes only: no volume
    health = json.loads((artifacts / "monitoring/health/2022-12-31.json").read_text())
    assert health["counts"] == {"ok": 5, "skipped": 0, "failed": 0, "missing_outputs": 0}
    # The sample's honest CPCV IC is not > 0, so the first challenger serves provisionally, and
    # its predictions say so.
    training = json.loads((artifacts / "health/predictor-training.json").read_text())["summary"]
    assert training["challenger"].startswith("predictor-2022-12-31-") and training["cpcv_mean_ic"] <= 0
    assert training["promoted"] is True and training["provisional"] is True
    assert training["champion"] == training["challenger"] and training["model_status"] == "provisional"
    warned = {(w["stage"], w["warning"].split(":")[0]) for w in report["warnings"]}
    assert {("DataPhase1", "survivorship bias"), ("PredictorTraining", f"the champion {training['champion']} is "
                                                                    "provisional")} <= warned
    assert (artifacts / f"predictor/registry/{training['challenger']}/manifest.json").exists()
    assert (artifacts / f"predictor/reports/{training['challenger']}/report.md").exists()
    predictions = json.loads((artifacts / "predictor/predictions/2022-12-31.json").read_text())
    assert predictions["model_status"] == "provisional" and predictions["n_predictions"] == 20
    assert any(c.startswith("provisional model") for c in predictions["caveats"])
    assert (artifacts / "predictor/predictions/latest.json").read_bytes() == \
        (artifacts / "predictor/predictions/2022-12-31.json").read_bytes()
    drift = json.loads((artifacts / "monitoring/drift/2022-12-31.json").read_text())
    assert drift["model_version"] == training["champion"] and drift["n_alerts"] == len(drift["alerts"])
    before = snapshot(workspace)
    assert any(k.startswith("arcticdb/") for k in before)

    second = runner.invoke(app, ["run", "--json"])
    assert second.exit_code == 0, second.output
    assert snapshot(workspace) == before
    marker = json.loads((artifacts / "health/data-phase1.json").read_text())
    assert marker["summary"]["writes"] == {"unchanged": 26}  # 20 tickers + 6 macro series

    # Shell run of the shipped graph: every stage boots and runs its preflight; nothing changes.
    shell = runner.invoke(app, ["run", "--shell", "--json"])
    assert shell.exit_code == 0, shell.output
    shell_report = json.loads(shell.stdout)
    assert "Preflight" in shell_report["notification"]["subject"]
    assert {s["status"] for s in shell_report["stages"]} == {"SUCCEEDED"}
    assert shell_report["warnings"] == []  # no stage ran, so no marker of this execution
    # An execution's warnings come from the markers written during it: the rerun replaced the first run's.
    for execution, expected in ((report, False), (json.loads(second.stdout), True)):
        shown = runner.invoke(app, ["status", execution["execution"]["name"], "--json"])
        assert shown.exit_code == 0 and bool(json.loads(shown.stdout)["warnings"]) is expected
    assert snapshot(workspace) == before
    for slug in ("morning-enrich", "data-phase1", "scanner", "predictor-training", "drift-detection",
                 "saturday-health-check"):
        logs = sorted((artifacts / "_logs" / slug / "2022-12-31").iterdir())
        assert b"preflight-only" in logs[-1].read_bytes(), slug

    status = runner.invoke(app, ["data", "status", "--json"])
    assert status.exit_code == 0, status.output
    body = json.loads(status.stdout)
    assert body["as_of_session"] == "2022-12-30" and len(body["tickers"]) == 20
    assert {t["last"] for t in body["tickers"]} == {"2022-12-28"}
    assert {t["stale_trading_days"] for t in body["tickers"]} == {2}

    validate = runner.invoke(app, ["data", "validate", "--json"])
    assert validate.exit_code == 0, validate.output
    assert json.loads(validate.stdout)["summary"]["by_severity"]["block"] == 0

    features = runner.invoke(app, ["data", "features", "--ticker", "AAPL", "--json"])
    assert features.exit_code == 0
    values = json.loads(features.stdout)["values"]
    assert values["rsi_14"] is not None and values["atr_14_pct"] is None  # ATR needs High/Low

    listing = runner.invoke(app, ["predictor", "list", "--json"])
    assert listing.exit_code == 0, listing.output
    assert json.loads(listing.stdout)["champion"] == training["champion"]
    assert json.loads(listing.stdout)["champion_provisional"] is True
    assert "provisional champion" in runner.invoke(app, ["predictor", "list"]).stdout
    shown = runner.invoke(app, ["predictor", "show"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["version_id"] == training["champion"]
    confirmed = runner.invoke(app, ["predictor", "promote", training["champion"], "--reason", "reviewed"])
    assert confirmed.exit_code == 0, confirmed.output
    assert json.loads(runner.invoke(app, ["predictor", "list", "--json"]).stdout)["champion_provisional"] is False
    rollback = runner.invoke(app, ["predictor", "rollback"])
    assert rollback.exit_code == 1 and "no previous champion" in rollback.output


def test_data_commands_on_an_empty_workspace_say_what_to_do(workspace: Path) -> None:
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 1 and "alpha-engine data ingest" in result.output
    catalog = runner.invoke(app, ["data", "features", "--json"])
    assert catalog.exit_code == 0 and len(json.loads(catalog.stdout)["features"]) == 56
