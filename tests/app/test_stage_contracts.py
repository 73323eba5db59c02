"""The stage contract, checked for every stage of the shipped graph (a new stage is covered by
adding it to the graph): its declaration is valid, its preflight is read-only, and what a real
run writes matches the contracts its stage declares."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from alpha_engine.app import SATURDAY, SATURDAY_GRAPH
from alpha_engine.config import load_settings
from alpha_engine.pipeline import Stage, check_stage_class, run_stage
from alpha_engine.store import ArtifactStore
from conftest import SaturdayRun, data_snapshot

pytestmark = pytest.mark.xdist_group("saturday_run")

STAGES = SATURDAY_GRAPH.stages()
RUN_DATE = date(2022, 12, 31)


def _ids(stage: type[Stage[Any]]) -> str:
    return stage.slug


@pytest.mark.parametrize("stage", STAGES, ids=_ids)
def test_the_declaration_is_valid(stage: type[Stage[Any]]) -> None:
    check_stage_class(stage)
    stage.Options()  # every option has a default: a stage runs with no config section
    for artifact in stage.produces:
        assert artifact.package == stage.__module__.rsplit(".", 1)[0] or artifact.schema is None, \
            f"{stage.name} declares {artifact.key} in another package"
        if artifact.key.endswith(".json"):
            assert artifact.schema is not None, f"{stage.name}: JSON artifact {artifact.key} has no schema"
            schema = artifact.load_schema()
            Draft202012Validator.check_schema(schema)
            assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for artifact in stage.updates:  # written on some runs only, possibly another domain's: always with a schema
        assert artifact.schema is not None, f"{stage.name}: updated artifact {artifact.key} has no schema"
        Draft202012Validator.check_schema(artifact.load_schema())
    for resource in stage.requires:
        assert resource in SATURDAY.resources, f"{stage.name} requires {resource.name}, which is not wired"


@pytest.mark.parametrize("stage", STAGES, ids=_ids)
def test_the_preflight_on_an_empty_workspace_passes_and_writes_nothing(stage: type[Stage[Any]],
                                                                       tmp_path: Path) -> None:
    settings = load_settings(workspace=tmp_path / "ws", env={})
    report = run_stage(stage.slug, RUN_DATE, settings=settings, app=SATURDAY, preflight_only=True)
    assert report.status == "ok", report.error
    assert not (tmp_path / "ws").exists() or data_snapshot(tmp_path / "ws") == {}


@pytest.mark.parametrize("stage", STAGES, ids=_ids)
def test_the_preflight_after_a_real_run_passes_and_changes_nothing(stage: type[Stage[Any]],
                                                                   saturday_run: SaturdayRun) -> None:
    settings = load_settings(workspace=saturday_run.workspace, env={})
    # Markers included: none is written. The execution database is left out: it is the runtime's
    # record, no stage touches it, and its WAL is checkpointed into the main file whenever this test
    # process garbage-collects a store connection an earlier test left open (which made this flaky).
    before = data_snapshot(saturday_run.workspace, operational=("sfn/",))
    report = run_stage(stage.slug, RUN_DATE, settings=settings, app=SATURDAY, preflight_only=True)
    assert report.status == "ok", report.error
    assert "would_consume" not in report.summary  # everything it consumes is there
    assert data_snapshot(saturday_run.workspace, operational=("sfn/",)) == before


@pytest.mark.parametrize("stage", STAGES, ids=_ids)
def test_what_a_run_wrote_matches_the_stages_contracts(stage: type[Stage[Any]], saturday_run: SaturdayRun) -> None:
    store = ArtifactStore(saturday_run.workspace / "artifacts", read_only=True, contracts=SATURDAY_GRAPH.contracts())
    for artifact in stage.produces:
        keys = [k for k in store.list(artifact.prefix) if artifact.matches(k)]
        assert keys, f"{stage.name} wrote nothing for {artifact.key}"
        for key in keys:
            if key.endswith(".json"):
                store.read_json(key)  # validated against the contract on read


def test_every_artifact_of_a_run_is_declared(saturday_run: SaturdayRun) -> None:
    artifacts = SATURDAY_GRAPH.artifacts()
    store = ArtifactStore(saturday_run.workspace / "artifacts", read_only=True)
    undeclared = [key for key in store.list() if not any(a.matches(key) for a in artifacts)]
    assert undeclared == []
