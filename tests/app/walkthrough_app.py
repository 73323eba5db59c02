"""The Saturday app with the walk-through's test-only stage added: one line in the graph."""

from __future__ import annotations

from candidate_count_stage import CandidateCount

from alpha_engine.app import SATURDAY, SATURDAY_GRAPH
from alpha_engine.data import Scanner
from alpha_engine.pipeline import PipelineApp, StageGraph

STEPS = SATURDAY_GRAPH.steps
AFTER_SCANNER = STEPS.index(Scanner) + 1

GRAPH = StageGraph(title="Saturday", steps=(
    *STEPS[:AFTER_SCANNER],
    CandidateCount,  # <- the one line a new stage adds to the graph
    *STEPS[AFTER_SCANNER:],
))
APP = PipelineApp(graph=GRAPH, resources=SATURDAY.resources, default_run_date=SATURDAY.default_run_date,
                  settings_checks=SATURDAY.settings_checks)
