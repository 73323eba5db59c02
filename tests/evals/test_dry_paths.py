"""Issue 16, item 7: under ``dry_run_llm`` (the execution input's ``research_dry``, or the option)
every stage of the eval chain boots and imports its real code, then returns before any listing,
model call, metric emit or write. The audit counts every use of the artifact store, every opening
of the metrics store and every network connection during preflight and run (a polling stage's
submit, poll and process too): zero. A stage that lists before it checks the flag is caught."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import RationaleClustering
from alpha_engine.pipeline import (
    ARTIFACTS,
    METRICS,
    PollingStage,
    Resources,
    Stage,
    StageContext,
    StageOutcome,
    Wiring,
)
from alpha_engine.store import ArtifactStore, Contracts
from call_audit import AuditedStore, no_network

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
EVAL_STAGES = [s for s in SATURDAY_GRAPH.stages() if s.__module__.startswith("alpha_engine.evals.")]


def test_the_saturday_graph_runs_the_whole_eval_chain() -> None:
    assert [s.name for s in EVAL_STAGES] == ["EvalJudge", "EvalRollingMean", "RationaleClustering",
                                             "ReplayConcordance", "Counterfactual", "AggregateCosts"]


def _audit(stage_cls: type[Stage[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           options: dict[str, Any], execution_input: dict[str, Any]) -> tuple[StageOutcome, AuditedStore, list[str],
                                                                              list[Any]]:
    settings: Settings = load_settings(workspace=tmp_path / "ws", env={})
    store = AuditedStore(ArtifactStore(str(tmp_path / "artifacts")))
    opened: list[str] = []

    def metrics(*_: Any) -> Any:
        opened.append("metrics")
        raise AssertionError("the dry path opened the metrics store")

    resources = Resources({ARTIFACTS: Wiring(open=lambda *_: store), METRICS: Wiring(open=metrics)}, settings,
                          Contracts(), read_only=False)
    ctx: StageContext[Any] = StageContext(
        run_date=DAY, options=stage_cls.Options(**options), settings=settings, resources=resources,
        graph=SATURDAY_GRAPH, now=lambda: NOW, seed=0, logger=logging.LoggerAdapter(logging.getLogger("t"), {}),
        preflight_only=False, execution_input=execution_input)
    stage = stage_cls()
    with no_network(monkeypatch) as connects:
        stage.preflight(ctx)
        if isinstance(stage, PollingStage):
            job = dict(stage.submit(ctx))
            assert job["status"] == "empty"  # nothing submitted: the loop is never entered
            outcome = stage.process(ctx, {**job, "submitted_at": "2026-11-21T12:00:00Z"}) or StageOutcome()
        else:
            outcome = stage.run(ctx) or StageOutcome()
    return outcome, store, opened, connects


@pytest.mark.parametrize("stage_cls", EVAL_STAGES, ids=lambda s: s.slug)
@pytest.mark.parametrize(("options", "execution_input"), [({}, {"research_dry": True}), ({"dry_run_llm": True}, {})],
                         ids=["research_dry", "option"])
def test_a_dry_run_touches_no_store_no_metric_no_network(stage_cls: type[Stage[Any]], options: dict[str, Any],
                                                         execution_input: dict[str, Any], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # An LLM backend configured too, where the stage has one (and no API key in the environment):
    # the dry flag must still win.
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    if "backend" in stage_cls.Options.model_fields:
        options = {**options, "backend": "anthropic"}
    outcome, store, opened, connects = _audit(stage_cls, tmp_path, monkeypatch, options, execution_input)
    assert dict(store.calls) == {} and opened == [] and connects == []
    assert outcome.summary["status"] == "SKIPPED" and outcome.summary["reason"] == "dry_run_llm"
    imported = outcome.summary["imported"]
    assert imported and all(name in sys.modules for name in imported)  # booted and imported for real


class ListingFirst(RationaleClustering):
    """A planted flaw: it lists the corpus before it checks the dry flag."""

    def run(self, ctx: StageContext[Any]) -> StageOutcome | None:
        ctx.artifacts.list("decision_artifacts/")
        return super().run(ctx)


def test_the_audit_catches_a_stage_that_lists_before_the_dry_check(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, store, _, _ = _audit(ListingFirst, tmp_path, monkeypatch, {}, {"research_dry": True})
    assert store.calls["list"] == 1
