"""``alpha-engine metrics list|get``: what the metrics store holds, read-only."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.store import SqliteMetrics

runner = CliRunner()
T1 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return tmp_path / "ws"


def _seed(workspace: Path) -> None:
    metrics = SqliteMetrics(workspace / "metrics.db")
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, T1)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, T2)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "rag-ingestion"}, T1)
    metrics.emit("AlphaEngine/Substrate", "SubstrateChecksFailed", 2, None, T2, unit="Count")


def test_list_on_an_empty_workspace_creates_nothing(workspace: Path) -> None:
    result = runner.invoke(app, ["metrics", "list"])
    assert result.exit_code == 0, result.output
    assert "(no metrics recorded)" in result.output
    assert not (workspace / "metrics.db").exists()


def test_list_shows_each_series_with_its_last_value(workspace: Path) -> None:
    _seed(workspace)
    result = runner.invoke(app, ["metrics", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "AlphaEngine/Heartbeat  Process=data-phase1  last 1 at 2026-12-05T09:00:00Z  (2 datapoints)",
        "AlphaEngine/Heartbeat  Process=rag-ingestion  last 1 at 2026-11-28T09:00:00Z  (1 datapoint)",
        "AlphaEngine/Substrate/SubstrateChecksFailed  -  last 2 at 2026-12-05T09:00:00Z  (1 datapoint)",
    ]
    listed = json.loads(runner.invoke(app, ["metrics", "list", "--json"]).stdout)
    assert listed[0] == {"namespace": "AlphaEngine", "name": "Heartbeat", "dimensions": {"Process": "data-phase1"},
                         "count": 2, "last_value": 1.0, "last_timestamp": "2026-12-05T09:00:00.000Z", "unit": "None"}


def test_get_filters_by_namespace_and_since(workspace: Path) -> None:
    _seed(workspace)
    got = json.loads(runner.invoke(app, ["metrics", "get", "Heartbeat", "--since", "2026-12-01", "--json"]).stdout)
    assert [(p["dimensions"], p["timestamp"]) for p in got] == [({"Process": "data-phase1"},
                                                                  "2026-12-05T09:00:00.000Z")]
    other = runner.invoke(app, ["metrics", "get", "SubstrateChecksFailed", "--namespace", "AlphaEngine/Substrate"])
    assert other.output.strip() == "2026-12-05T09:00:00Z  AlphaEngine/Substrate/SubstrateChecksFailed  -  2 Count"
    none = runner.invoke(app, ["metrics", "get", "Nope"])
    assert none.exit_code == 0 and "no datapoints of AlphaEngine/Nope" in none.output


def test_a_bad_since_is_a_usage_error(workspace: Path) -> None:
    result = runner.invoke(app, ["metrics", "get", "Heartbeat", "--since", "last week"])
    assert result.exit_code == 64
    assert "--since must be YYYY-MM-DD" in result.output
