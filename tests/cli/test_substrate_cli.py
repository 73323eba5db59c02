"""``alpha-engine substrate check``: read-only, one line per row, exit 1 iff a row fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.health import DEFAULT_INVENTORY
from alpha_engine.store import ArtifactStore

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return tmp_path / "ws"


def _inventory(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({"rows": [
        {"id": "one", "cadence": "weekly", "effective_date": "2020-01-01", "description": "d",
         "sources": [{"kind": "json", "key": key}]}]}), encoding="utf-8")
    return path


def test_exit_0_when_no_row_fails_and_nothing_is_written(workspace: Path, tmp_path: Path) -> None:
    ArtifactStore(workspace / "artifacts").write_json("here.json", {})
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    result = runner.invoke(app, ["substrate", "check", "--cadence", "weekly", "--run-date", "2026-11-21",
                                 "--inventory", str(_inventory(tmp_path, "here.json"))])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split() == ["ok", "one", "here.json", "passes;", "age", "not", "checked",
                                                     "(no", "run_date/date", "field)"]
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before  # no metric, no report


def test_exit_1_iff_a_row_fails(workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["substrate", "check", "--cadence", "weekly", "--run-date", "2026-11-21", "--json",
                                 "--inventory", str(_inventory(tmp_path, "absent.json"))])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["rows"][0]["status"] == "fail" and report["counts"]["fail"] == 1
    assert report["rows"][0]["reason"] == "absent.json is absent"


def test_the_packaged_inventory_on_an_empty_workspace_fails_the_rows_that_have_nothing(workspace: Path) -> None:
    result = runner.invoke(app, ["substrate", "check", "--cadence", "weekly", "--run-date", "2026-11-21", "--json"])
    assert result.exit_code == 1
    rows = {r["id"]: r["status"] for r in json.loads(result.stdout)["rows"]}
    assert rows["predictor_decisions"] == "fail" and rows["pipeline_execution"] == "degraded"  # non_fatal
    assert rows["agent_decisions"] == rows["cost_telemetry"] == "fail"  # no judge manifest, no AggregateCosts run


def test_an_extra_inventory_row_needs_no_code_change(workspace: Path, tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_INVENTORY.read_text(encoding="utf-8"))
    document["rows"].append({"id": "extra", "cadence": "daily", "effective_date": "2020-01-01",
                             "description": "one more", "sources": [{"kind": "json", "key": "extra.json"}]})
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    ArtifactStore(workspace / "artifacts").write_json("extra.json", {})
    result = runner.invoke(app, ["substrate", "check", "--cadence", "daily", "--run-date", "2026-11-21", "--json",
                                 "--inventory", str(path)])
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["status"]) for r in json.loads(result.stdout)["rows"]] == [("extra", "ok")]


def test_usage_errors_exit_64(workspace: Path, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["substrate", "check", "--cadence", "hourly"])
    assert bad.exit_code == 64 and "--cadence must be one of daily, weekly, per_event" in bad.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("rows: [{id: x}]", encoding="utf-8")
    refused = runner.invoke(app, ["substrate", "check", "--cadence", "weekly", "--inventory", str(broken)])
    assert refused.exit_code == 64 and f"substrate inventory {broken}: row x (rows[0])" in refused.output


def test_alarms_list_declares_one_alarm_per_inventory_row(workspace: Path) -> None:
    listed = json.loads(runner.invoke(app, ["alarms", "list", "--json"]).stdout)
    names = {a["name"] for a in listed}
    assert {"alpha-engine-substrate-pipeline_execution", "alpha-engine-substrate-drift",
            "alpha-engine-substrate-aggregate-failures"} <= names
