"""docs/architecture.md's "Adding a stage" walk-through, followed with a test-only stage: its own
module (candidate_count_stage/) and one line in the graph (walkthrough_app.py) are all it takes
for the graph check, the contract table, the config validation, the definition, the stage list,
a shell run, a real run and the health check to know it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from candidate_count_stage import CANDIDATE_COUNT, CandidateCount
from walkthrough_app import GRAPH

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.data import CANDIDATES, Scanner
from alpha_engine.pipeline import ComposeOptions, StageDefinitionError, StageGraph, compose_definition
from alpha_engine.sfn import validate_definition
from alpha_engine.store import ArtifactStore

HERE = Path(__file__).resolve().parent
RUN_DATE = "2022-12-31"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace whose config names the walk-through app (stage processes import it too)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "config.toml").write_text('[pipeline]\napp = "walkthrough_app:APP"\n', encoding="utf-8")
    return workspace


def test_the_graph_knows_the_new_stage_and_where_its_input_comes_from() -> None:
    assert [s.name for s in GRAPH.stages()] == [
        *[s.name for s in SATURDAY_GRAPH.stages()[:3]], "CandidateCount", *[s.name for s in SATURDAY_GRAPH.stages()[3:]]]
    assert GRAPH.producers()[CANDIDATES.key] == "Scanner"
    assert GRAPH.contracts().artifact_for(CANDIDATE_COUNT.format(RUN_DATE)) is CANDIDATE_COUNT


def test_the_graph_check_refuses_the_stage_before_its_producer() -> None:
    steps = SATURDAY_GRAPH.steps
    before_scanner = steps.index(Scanner)
    with pytest.raises(StageDefinitionError, match="CandidateCount consumes 'candidates/{date}/candidates.json', "
                                                   "but Scanner produces it, but runs after CandidateCount"):
        StageGraph("Saturday", (*steps[:before_scanner], CandidateCount, *steps[before_scanner:]))


def test_the_definition_gains_its_gate_task_and_catch() -> None:
    definition = compose_definition(GRAPH, ComposeOptions())
    states = definition["States"]
    assert states["CheckSkipScanner"]["Default"] == "Scanner" and states["Scanner"]["Next"] == "CheckSkipCandidateCount"
    assert states["CandidateCount"]["Parameters"]["Payload"]["stage"] == "candidate-count"
    assert states["CandidateCount"]["Catch"][0]["ResultPath"] == "$.candidate_count_error"  # soft
    assert validate_definition(definition) == []


@pytest.mark.parametrize(("section", "message"), [
    ("minimum = -1", "stages.candidate-count.minimum: Input should be greater than or equal to 0"),
    ("maximum = 3", "stages.candidate-count.maximum: Extra inputs are not permitted"),
])
def test_its_config_section_is_validated_when_the_config_loads(workspace: Path, cli: Callable[..., Any],
                                                               section: str, message: str) -> None:
    with (workspace / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f"[stages.candidate-count]\n{section}\n")
    result = cli(workspace, "stages")
    assert result.exit_code == 64 and message in result.output and "config.toml" in result.output


def test_the_stage_list_shows_it(workspace: Path, cli: Callable[..., Any]) -> None:
    rows = {row["name"]: row for row in json.loads(cli(workspace, "stages", "--json").stdout)}
    assert rows["CandidateCount"]["consumes"] == [{"artifact": CANDIDATES.key, "from": "Scanner", "required": True}]
    assert rows["CandidateCount"]["produces"] == [CANDIDATE_COUNT.key] and "minimum" in rows["CandidateCount"]["options"]


def test_a_shell_run_then_a_real_run_include_it(workspace: Path, cli: Callable[..., Any]) -> None:
    # not needed here, and slow; the backtest family goes too (PredictorBacktest refits the champion training makes)
    skip = "predictor-training,drift-detection,backtester"
    shell = cli(workspace, "run", "--shell", "--skip", skip, "--json")
    assert shell.exit_code == 0, shell.output
    store = ArtifactStore(workspace / "artifacts", read_only=True, contracts=GRAPH.contracts())
    name = json.loads(shell.stdout)["execution"]["name"]
    (key,) = store.list(f"_logs/candidate-count/{RUN_DATE}/{name}/")
    log = store.read_bytes(key).decode()
    assert f"would consume {CANDIDATES.format(RUN_DATE)} from Scanner" in log

    real = cli(workspace, "run", "--skip", skip, "--json")
    assert real.exit_code == 0, real.output
    statuses = {s["name"]: s["status"] for s in json.loads(real.stdout)["stages"]}
    assert statuses["CandidateCount"] == "SUCCEEDED"
    counted = store.read_json(CANDIDATE_COUNT.format(RUN_DATE))  # validated against its schema
    assert counted["scanned"] == 20 and counted["meets_minimum"] is True
    health = store.read_json(f"monitoring/health/{RUN_DATE}.json")
    assert health["stages"]["candidate-count"] == {"status": "ok", "missing_outputs": []}
    # the skipped stages are reported as skipped (the execution input reaches the check), not as failures
    assert {health["stages"][slug]["status"] for slug in skip.split(",")} == {"skipped"}
    assert health["status"] == "ok" and health["problems"] == []
