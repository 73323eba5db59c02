"""Shell-run proof: ``alpha-engine run --shell`` boots every stage and runs only its preflight.

Run on the shipped graph (its data stages ingest the bundled sample into the ArcticDB market
store) and on the test graph, after a real run so the stores hold data:
every stage's preflight ran (its log is shipped and says preflight-only), no stage ran, the
notification says Preflight, and every data file in the workspace is byte-identical before
and after. Only operational records change: the execution database, the notification outbox,
the mutex table, local logs, the shipped logs under ``_logs/`` and the test stages' counters.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.config import load_settings
from alpha_engine.pipeline import load_app
from alpha_engine.store import ArtifactStore, SqliteMetrics
from conftest import counters, write_config

RUN_DATE = "2026-11-21"
# metrics.db is compared on its own: a shell run adds its execution count and no heartbeat.
OPERATIONAL = ("sfn/", "notifications/", "dynamodb.sqlite3", "logs/", "test-counters/", "artifacts/_logs/",
               "run.lock", "metrics.db")
# LMDB rewrites its reader table (lock.mdb) on every read; the writer lock file holds a pid while
# held. Neither holds data.
OPERATIONAL_NAMES = ("lock.mdb", ".alpha-engine-writer.lock")


def _series(workspace: Path) -> dict[tuple[str, str], int]:
    """Datapoints per metric (namespace, name) in the workspace's metrics store."""
    out: dict[tuple[str, str], int] = {}
    for summary in SqliteMetrics(workspace / "metrics.db", read_only=True).metrics():
        out[summary.namespace, summary.name] = out.get((summary.namespace, summary.name), 0) + summary.count
    return out


def data_snapshot(workspace: Path) -> dict[str, str]:
    """sha256 of every file in the workspace except the operational records."""
    out = {}
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace).as_posix()
        if path.is_file() and not rel.startswith(OPERATIONAL) and path.name not in OPERATIONAL_NAMES:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# The shipped graph's shell-run proof runs in tests/data/test_data_pipeline.py, after the same real
# runs that prove idempotence (a full run of the shipped graph is the slowest thing in the suite).
@pytest.mark.parametrize("graph", ["pipeline_test_graph:APP"])
def test_shell_run_runs_every_preflight_and_writes_nothing(
        test_settings: object, graph: str) -> None:
    settings = load_settings()
    write_config(settings.workspace, graph)
    stages = load_app(graph).graph.stages()
    runner = CliRunner()
    # The shipped graph runs on the bundled sample: its default run date (2022-12-31) keeps the
    # freshness postflight green; the test graph takes any date.
    dated = ["--run-date", RUN_DATE] if graph.startswith("pipeline_test_graph") else []
    real = runner.invoke(app, ["run", *dated, "--json"])
    assert real.exit_code == 0, real.output
    before, counts_before = data_snapshot(settings.workspace), counters(settings)
    series_before = _series(settings.workspace)
    assert any(key.startswith("artifacts/health/") for key in before)

    shell = runner.invoke(app, ["run", "--shell", *dated, "--json"])
    assert shell.exit_code == 0, shell.output
    report = json.loads(shell.stdout)
    assert report["execution"]["status"] == "SUCCEEDED"
    assert "Preflight" in report["notification"]["subject"]
    statuses = {s["name"]: s["status"] for s in report["stages"]}
    if graph.startswith("pipeline_test_graph"):
        assert set(statuses.values()) == {"SUCCEEDED"}
    else:  # on the sample no model passes the promotion gate, so DriftDetection's preflight (soft) fails
        assert statuses.pop("DriftDetection") == "SOFT_FAILED"
        assert set(statuses.values()) == {"SUCCEEDED"}
    assert data_snapshot(settings.workspace) == before
    executions = ("AlphaEngine/Pipeline", "ExecutionsSucceeded")
    assert _series(settings.workspace) == {**series_before, executions: series_before[executions] + 1}
    store = ArtifactStore(settings.artifacts_uri)
    for stage in stages:
        (latest,) = store.list(f"_logs/{stage.slug}/{report['run_date']}/{report['execution']['name']}/")
        assert b"preflight-only" in store.read_bytes(latest), stage.slug
    if graph.startswith("pipeline_test_graph"):
        after = counters(settings)
        for stage in stages:
            assert after[f"{stage.slug}.preflight"] == counts_before[f"{stage.slug}.preflight"] + 1
            assert after[f"{stage.slug}.run"] == counts_before[f"{stage.slug}.run"]
