"""A failed run continued as a new execution (how a run is redriven on AWS): the new input keeps the
run_date, skips exactly the stages that finished, and the new execution re-runs only the failed
stage and what never ran. Proven on the embedded runtime, whose history has AWS's shape."""

from __future__ import annotations

from pipeline_test_graph import GRAPH

from alpha_engine.config import Settings
from alpha_engine.pipeline import LocalPipeline, rerun_input
from conftest import runs, set_fault

RUN_DATE = "2026-11-21"


def test_a_failed_branch_stage_is_rerun_alone_by_a_new_execution(test_settings: Settings) -> None:
    set_fault(test_settings, "gamma", "raise")
    set_fault(test_settings, "beta", "raise")  # a soft failure the run went past
    pipeline = LocalPipeline(test_settings)
    failed = pipeline.start({"run_date": RUN_DATE, "pipeline_role": "weekly"})
    assert failed.status == "FAILED"
    assert runs(test_settings) == {"alpha": 1, "beta": 1, "delta": 1, "gamma": 1}

    value = rerun_input(pipeline.runtime.store.events(failed.arn), GRAPH, {"pipeline_role": "weekly"})
    assert value == {"run_date": RUN_DATE, "pipeline_role": "recovery",
                     "skip_alpha": True, "skip_beta": True, "skip_delta": True}

    set_fault(test_settings, "gamma", None)
    set_fault(test_settings, "beta", None)
    again = pipeline.start(value)
    assert again.status == "SUCCEEDED", again.cause
    assert runs(test_settings) == {"alpha": 1, "beta": 1, "delta": 1, "gamma": 2, "omega": 1}
    assert pipeline.run_date_of(again.arn) == RUN_DATE


def test_the_run_date_is_the_stamped_one_even_when_the_input_had_none(test_settings: Settings) -> None:
    set_fault(test_settings, "alpha", "raise")
    pipeline = LocalPipeline(test_settings)
    failed = pipeline.start({})
    value = rerun_input(pipeline.runtime.store.events(failed.arn), GRAPH, {})
    assert value == {"run_date": pipeline.run_date_of(failed.arn), "pipeline_role": "recovery"}


def _events(outcomes: dict[str, str]) -> list[dict[str, object]]:
    """A minimal AWS-shaped history: each named stage entered and exited, failed hard where asked."""
    import json

    from alpha_engine.app import SATURDAY_GRAPH

    stages = {stage.name: stage for stage in SATURDAY_GRAPH.stages()}
    out: list[dict[str, object]] = [{"type": "PassStateExited", "timestamp": 0, "stateExitedEventDetails": {
        "name": "InitializeInput", "output": json.dumps({"run_date": RUN_DATE})}}]
    for name, outcome in outcomes.items():
        output = {f"{stages[name].snake()}_failure": {"Error": "StageFailed"}} if outcome == "failed" else {}
        out += [{"type": "TaskStateEntered", "timestamp": 1, "stateEnteredEventDetails": {"name": name}},
                {"type": "TaskStateExited", "timestamp": 2,
                 "stateExitedEventDetails": {"name": name, "output": json.dumps(output)}}]
    return out


def test_a_family_whose_later_member_failed_is_not_skipped() -> None:
    from alpha_engine.app import SATURDAY_GRAPH

    events = _events({"MorningEnrich": "ok", "DataPhase1": "ok", "Backtester": "ok", "PredictorBacktest": "failed"})
    value = rerun_input(events, SATURDAY_GRAPH, {})
    assert value["skip_morning_enrich"] is True and value["skip_data_phase1"] is True
    assert "skip_backtester" not in value  # the family (and Parity, skipped with it) runs again
    assert "skip_scanner" not in value  # never ran
