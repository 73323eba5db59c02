"""Every execution the local driver ends (run, redrive) emits ``AlphaEngine/Pipeline``
``ExecutionsSucceeded`` or ``ExecutionsFailed`` ``{StateMachine=<name>}`` = 1 at its stop time: the
series the substrate row pipeline_execution reads as a success rate."""

from __future__ import annotations

from alpha_engine.config import Settings
from alpha_engine.pipeline import LocalPipeline
from alpha_engine.store import SqliteMetrics
from conftest import set_fault

NS = "AlphaEngine/Pipeline"


def _counts(settings: Settings) -> dict[str, list[float]]:
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    dims = {"StateMachine": settings.pipeline.state_machine_name}
    return {name: [p.value for p in metrics.datapoints(NS, name, dims)]
            for name in ("ExecutionsSucceeded", "ExecutionsFailed")}


def test_a_failed_run_then_its_redrive_count_one_failure_and_one_success(test_settings: Settings) -> None:
    set_fault(test_settings, "alpha", "raise")
    pipeline = LocalPipeline(test_settings)
    failed = pipeline.start({"run_date": "2026-11-21"})
    assert failed.status == "FAILED"
    assert _counts(test_settings) == {"ExecutionsSucceeded": [], "ExecutionsFailed": [1.0]}
    set_fault(test_settings, "alpha", None)
    redriven, _ = pipeline.redrive(failed.arn)
    assert redriven.status == "SUCCEEDED", redriven.cause
    assert _counts(test_settings) == {"ExecutionsSucceeded": [1.0], "ExecutionsFailed": [1.0]}
    stopped = pipeline.runtime.store.get(redriven.arn).stop_date
    metrics = SqliteMetrics(test_settings.workspace / "metrics.db", read_only=True)
    point = metrics.datapoints(NS, "ExecutionsSucceeded", {"StateMachine": test_settings.pipeline.state_machine_name})
    assert abs(point[0].timestamp.timestamp() - stopped) < 0.001  # the execution's stop time
