"""The committed Saturday definition is exactly what the composer generates, and it is valid."""

from __future__ import annotations

import json
from pathlib import Path

from alpha_engine.pipeline import load_graph
from alpha_engine.pipeline.compose import ComposeOptions, compose_definition, definition_json
from alpha_engine.pipeline.saturday import SATURDAY
from alpha_engine.sfn import validate_definition

COMMITTED = Path(__file__).resolve().parents[2] / "src/alpha_engine/pipeline/definitions/saturday.asl.json"
REGENERATE = "alpha-engine definition -o src/alpha_engine/pipeline/definitions/saturday.asl.json"


def test_committed_definition_matches_the_composer_byte_for_byte() -> None:
    expected = definition_json(compose_definition(SATURDAY, ComposeOptions()))
    assert COMMITTED.read_text(encoding="utf-8") == expected, f"the definition drifted; run: {REGENERATE}"


def test_committed_definition_validates_with_no_errors_and_no_warnings() -> None:
    assert validate_definition(json.loads(COMMITTED.read_text(encoding="utf-8"))) == []


def test_the_shipped_graph_is_a_closed_registry_of_real_stages() -> None:
    # Adding or removing a stage must be deliberate: update this list with the graph.
    assert [stage.name for stage in SATURDAY.stages()] == ["MorningEnrich", "DataPhase1", "Scanner",
                                                           "PredictorTraining", "DriftDetection",
                                                           "SaturdayHealthCheck"]
    assert load_graph("alpha_engine.pipeline.saturday:SATURDAY") is SATURDAY
    assert not any("test" in stage.__module__ for stage in SATURDAY.stages())
