"""A stage's ``updates``: artifacts it writes only when a decision calls for it (the Evaluator's applied
config). They join the graph's contract table, are never consumable, and the graph refuses two writers."""

from __future__ import annotations

from typing import Any

import pytest

from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    NoOptions,
    Stage,
    StageDefinitionError,
    StageGraph,
    check_stage_class,
)
from alpha_engine.store import Artifact

STATE = Artifact("state/applied.json")
OUT = Artifact("out/{date}/report.json")


def _stage(name: str, *, produces: tuple[Artifact, ...] = (), updates: tuple[Artifact, ...] = (),
           consumes: tuple[Artifact, ...] = ()) -> type[Stage[NoOptions]]:
    class Made(Stage[NoOptions]):
        failure_class, compute, timeout_seconds = FailureClass.HARD, Compute.LAMBDA, 60

        def preflight(self, ctx: Any) -> None:
            pass

        def run(self, ctx: Any) -> None:
            pass

    Made.name, Made.slug = name, name.lower()
    Made.produces, Made.updates, Made.consumes = produces, updates, consumes
    return Made


def test_updated_artifacts_join_the_contract_table_and_the_description() -> None:
    graph = StageGraph("G", (_stage("Writer", produces=(OUT,), updates=(STATE,)),))
    assert [a.key for a in graph.artifacts()][-2:] == [OUT.key, STATE.key]
    assert len(graph.contracts()) == len(graph.artifacts())  # (Saturday's: tests/evaluator/test_autoapply.py)
    (row,) = graph.describe()
    assert row["produces"] == [OUT.key] and row["updates"] == [STATE.key]


def test_an_updated_artifact_cannot_be_consumed_even_downstream() -> None:
    with pytest.raises(StageDefinitionError, match="Reader consumes 'state/applied.json'"):
        StageGraph("G", (_stage("Writer", updates=(STATE,)), _stage("Reader", consumes=(STATE,))))


def test_two_stages_may_not_write_the_same_artifact_and_one_stage_not_list_it_twice() -> None:
    with pytest.raises(StageDefinitionError, match="both produce 'state/applied.json'"):
        StageGraph("G", (_stage("Writer", produces=(STATE,)), _stage("Other", updates=(STATE,)))).producers()
    with pytest.raises(StageDefinitionError, match="produces and updates list an artifact twice"):
        check_stage_class(_stage("Twice", produces=(STATE,), updates=(STATE,)))
    with pytest.raises(StageDefinitionError, match="updates must be a tuple of Artifact"):
        check_stage_class(_stage("Bad", updates=["state/applied.json"]))  # type: ignore[list-item]
