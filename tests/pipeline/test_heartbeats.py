"""Heartbeats: the runner emits ``AlphaEngine/Heartbeat{Process=<slug>}`` = 1 only after a stage's
run completed ok, stamped with the run's clock; a failed run, a failed preflight and a
preflight-only (shell) run emit none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings
from alpha_engine.pipeline import (
    ARTIFACTS,
    HEARTBEAT_METRIC,
    HEARTBEAT_NAMESPACE,
    METRICS,
    Compute,
    FailureClass,
    PipelineApp,
    PreflightError,
    Stage,
    StageContext,
    StageGraph,
    StageOutcome,
    Wiring,
    run_stage,
)
from alpha_engine.store import SqliteMetrics

CLOCK = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
DAY = date(2026, 11, 21)


class Works(Stage[Any]):
    name, slug = "Works", "works"
    failure_class, compute, timeout_seconds = FailureClass.SOFT, Compute.LAMBDA, 60

    def preflight(self, ctx: StageContext[Any]) -> None:
        pass

    def run(self, ctx: StageContext[Any]) -> StageOutcome | None:
        return None


class Breaks(Works):
    name, slug = "Breaks", "breaks"

    def run(self, ctx: StageContext[Any]) -> StageOutcome | None:
        raise RuntimeError("boom")


class Refuses(Works):
    name, slug = "Refuses", "refuses"

    def preflight(self, ctx: StageContext[Any]) -> None:
        raise PreflightError("nothing to do")


APP = PipelineApp(graph=StageGraph(title="Beats", steps=(Works, Breaks, Refuses)), resources=RESOURCES)


def _beats(settings: Settings) -> list[tuple[str, datetime, float]]:
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    return [(dict(p.dimensions)["Process"], p.timestamp, p.value)
            for s in metrics.metrics(HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC)
            for p in metrics.datapoints(HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC, dict(s.dimensions))]


def test_a_completed_run_emits_one_heartbeat_at_the_runs_clock(test_settings: Settings) -> None:
    report = run_stage("works", DAY, settings=test_settings, app=APP, now=lambda: CLOCK)
    assert report.status == "ok"
    assert _beats(test_settings) == [("works", CLOCK, 1.0)]
    assert (HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC) == ("AlphaEngine", "Heartbeat")  # upstream's names


def test_a_preflight_only_run_emits_none_and_creates_no_metrics_file(
        test_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    report = run_stage("works", DAY, settings=test_settings, app=APP, preflight_only=True, now=lambda: CLOCK)
    assert report.status == "ok"
    assert not (test_settings.workspace / "metrics.db").exists()
    assert "heartbeat" not in caplog.text  # not even tried (the read-only store would refuse it)


@pytest.mark.parametrize("slug", ["breaks", "refuses"])
def test_a_failed_run_or_preflight_emits_none(test_settings: Settings, slug: str) -> None:
    report = run_stage(slug, DAY, settings=test_settings, app=APP, now=lambda: CLOCK)
    assert report.status != "ok"
    assert _beats(test_settings) == []


def test_a_heartbeat_that_cannot_be_written_is_logged_and_the_run_stays_ok(
        test_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any) -> SqliteMetrics:
        raise OSError("disk full")

    app = PipelineApp(graph=APP.graph, resources={**RESOURCES, METRICS: Wiring(open=broken)})
    report = run_stage("works", DAY, settings=test_settings, app=app, now=lambda: CLOCK)
    assert report.status == "ok"
    assert "could not emit the heartbeat AlphaEngine/Heartbeat{Process=works}: OSError: disk full" in caplog.text


def test_an_app_without_metrics_wired_runs_without_heartbeats(test_settings: Settings) -> None:
    app = PipelineApp(graph=APP.graph, resources={ARTIFACTS: RESOURCES[ARTIFACTS]})
    assert run_stage("works", DAY, settings=test_settings, app=app, now=lambda: CLOCK).status == "ok"
    assert not (test_settings.workspace / "metrics.db").exists()
