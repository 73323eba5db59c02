"""EvalRollingMean: the 28-day mean per agent family and dimension from planted judgments (the
strongest judge and the latest judge run count), its minimum metric, the window's edges, SKIPPED
with no metric, unreadable judgments, the dry path, and the skip family it shares with EvalJudge."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from judge_corpus import plant

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import EVAL_JUDGMENT, EVAL_ROLLING_MEAN, EvalJudge, EvalRollingMean, rolling_mean
from alpha_engine.pipeline import PipelineApp, StageContext, StageGraph, run_stage
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (EvalJudge, EvalRollingMean)), resources=RESOURCES)


def _settings(tmp_path: Path, text: str = "") -> Settings:
    config = tmp_path / "alpha-engine.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


def _judgment(store: ArtifactStore, judge_day: date, agent_id: str, run_id: str, tier: str,
              scores: dict[str, int]) -> None:
    model = {"rubric": "rubric-v1", "weak": "claude-haiku-4-5", "strong": "claude-sonnet-4-6"}[tier]
    run = f"{judge_day.isoformat()}-eval-judge"
    key = EVAL_JUDGMENT.format(judge_day, judge_run_id=run, judgment_id=f"{agent_id}.{run_id}.{model}")
    store.write_json(key, {
        "schema_version": 1, "judge_run_id": run, "judge_run_date": judge_day.isoformat(), "judge_model": model,
        "judge_tier": tier, "rubric_version": "v", "key": key,
        "judged": {"key": f"decision_artifacts/2026/11/01/{agent_id}/{run_id}.json", "agent_id": agent_id,
                   "agent_family": agent_id.split(":")[0], "run_id": run_id, "capture_date": "2026-11-01",
                   "is_llm_decision": tier != "rubric"},
        "scores": {c: {"score": s, "reason": "r"} for c, s in scores.items()}, "not_applicable": {},
        "overall_reasoning": None, "escalation": "weak_below_floor" if tier == "strong" else None})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


def _store(settings: Settings) -> ArtifactStore:
    return APP.open_artifacts(settings, read_only=False)


def _run(settings: Settings, **kwargs: Any) -> Any:
    return run_stage("eval-rolling-mean", DAY, settings=settings, app=APP, now=lambda: NOW, **kwargs)


def test_mean_per_family_and_dimension_with_the_strongest_judge_counting(settings: Settings) -> None:
    store = _store(settings)
    # two sector_quant teams: one family series
    _judgment(store, DAY, "sector_quant:tech", "r1", "rubric", {"output_completeness": 5, "ranking_coherence": 4})
    _judgment(store, DAY, "sector_quant:energy", "r1", "rubric", {"output_completeness": 3, "ranking_coherence": 2})
    # one ic_cio decision judged by three judges: the strong score counts where it scored
    _judgment(store, DAY - timedelta(days=7), "ic_cio", "r2", "rubric", {"output_completeness": 5,
                                                                         "ranking_coherence": 5})
    _judgment(store, DAY - timedelta(days=7), "ic_cio", "r2", "weak", {"ranking_coherence": 2, "decision_discipline": 2})
    _judgment(store, DAY - timedelta(days=7), "ic_cio", "r2", "strong", {"ranking_coherence": 4})
    # the window's edges: 27 days back counts, 28 days back does not
    _judgment(store, DAY - timedelta(days=27), "macro_economist", "r3", "rubric", {"output_completeness": 1})
    _judgment(store, DAY - timedelta(days=28), "macro_economist", "r4", "rubric", {"output_completeness": 5})
    result = rolling_mean(store, end=DAY)
    assert [(m["judged_agent_id"], m["criterion"], m["mean"], m["n"]) for m in result.means] == [
        ("ic_cio", "decision_discipline", 2.0, 1),
        ("ic_cio", "output_completeness", 5.0, 1),
        ("ic_cio", "ranking_coherence", 4.0, 1),  # strong over weak (2) and rubric (5)
        ("macro_economist", "output_completeness", 1.0, 1),
        ("sector_quant", "output_completeness", 4.0, 2),
        ("sector_quant", "ranking_coherence", 3.0, 2),
    ]
    assert result.minimum == {"judged_agent_id": "macro_economist", "criterion": "output_completeness", "mean": 1.0}
    assert result.judgments_read == 6 and result.decisions == 4
    assert (result.start, result.end) == (DAY - timedelta(days=27), DAY)


def test_the_latest_judge_run_counts_for_a_decision_judged_twice(settings: Settings) -> None:
    store = _store(settings)
    _judgment(store, DAY - timedelta(days=3), "ic_cio", "r1", "strong", {"output_completeness": 2})
    _judgment(store, DAY, "ic_cio", "r1", "weak", {"output_completeness": 4})
    assert [m["mean"] for m in rolling_mean(store, end=DAY).means] == [4.0]


def test_the_stage_writes_the_document_and_the_metrics(settings: Settings) -> None:
    store = _store(settings)
    _judgment(store, DAY, "sector_quant:tech", "r1", "rubric", {"output_completeness": 5, "ranking_coherence": 2})
    _judgment(store, DAY, "sector_qual:tech", "r1", "rubric", {"output_completeness": 4})
    result = _run(settings)
    assert result.status == "ok", result.error
    assert result.summary["status"] == "OK" and result.summary["minimum"] == 2.0
    assert result.summary["minimum_of"] == "sector_quant/ranking_coherence" and result.summary["metrics"] == 4
    doc = store.read_json(EVAL_ROLLING_MEAN.format(DAY))
    assert doc["window"] == ["2026-10-25", "2026-11-21"] and len(doc["means"]) == 3
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    assert [p.value for p in metrics.datapoints("AlphaEngine/Eval", "agent_quality_score_4w_mean_min", {})] == [2.0]
    assert [p.value for p in metrics.datapoints("AlphaEngine/Eval", "agent_quality_score_4w_mean", {
        "judged_agent_id": "sector_qual", "criterion": "output_completeness"})] == [4.0]
    before = (settings.workspace / "artifacts" / EVAL_ROLLING_MEAN.format(DAY)).read_bytes()
    _run(settings)
    assert (settings.workspace / "artifacts" / EVAL_ROLLING_MEAN.format(DAY)).read_bytes() == before


def test_no_judgment_is_skipped_with_no_metric_and_no_write(settings: Settings) -> None:
    store = _store(settings)
    _judgment(store, DAY - timedelta(days=30), "ic_cio", "r1", "rubric", {"output_completeness": 1})
    result = _run(settings)
    assert result.status == "ok" and result.summary["status"] == "SKIPPED"
    assert "from 2026-10-25 to 2026-11-21" in result.summary["reason"]
    assert not store.exists(EVAL_ROLLING_MEAN.format(DAY))
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    assert metrics.datapoints("AlphaEngine/Eval", "agent_quality_score_4w_mean_min", {}) == []


def test_an_unreadable_judgment_is_counted_and_all_unreadable_fails(settings: Settings) -> None:
    store = _store(settings)
    store.write_bytes("decision_artifacts/_eval/2026-11-21/2026-11-21-eval-judge/broken.json", b"{")
    result = _run(settings)
    assert result.status == "failed" and "all 1 judgment(s) in 2026-10-25..2026-11-21 are unreadable" in result.error
    _judgment(store, DAY, "ic_cio", "r1", "rubric", {"output_completeness": 4})
    result = _run(settings)
    assert result.status == "ok" and result.summary["unreadable"] == 1 and result.warnings


def test_judge_then_rolling_mean_end_to_end(settings: Settings) -> None:
    plant(_store(settings), DAY, llm=False)
    assert run_stage("eval-judge", DAY, settings=settings, app=APP, now=lambda: NOW).status == "ok"
    result = _run(settings)
    assert result.summary["status"] == "OK" and result.summary["minimum"] == 5.0 and result.summary["means"] == 15


class _Refusing:
    calls: list[str] = []

    def get(self, resource: Any) -> Any:
        self.calls.append("get")
        raise AssertionError("dry run opened a resource")

    def wired(self, resource: Any) -> bool:
        self.calls.append("wired")
        return True


def test_research_dry_makes_no_store_or_metrics_call(settings: Settings) -> None:
    resources = _Refusing()
    ctx: StageContext[Any] = StageContext(
        run_date=DAY, options=APP.stage_options(settings, EvalRollingMean), settings=settings, resources=resources,  # type: ignore[arg-type]
        graph=APP.graph, now=lambda: NOW, seed=0, logger=logging.LoggerAdapter(logging.getLogger("t")),
        preflight_only=False, execution_input={"research_dry": True})
    stage = EvalRollingMean()
    stage.preflight(ctx)
    outcome = stage.run(ctx)
    assert outcome.summary["reason"] == "dry_run_llm" and resources.calls == []


def test_the_dry_option_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "[stages.eval-rolling-mean]\ndry_run_llm = true\n")
    _judgment(_store(settings), DAY, "ic_cio", "r1", "rubric", {"output_completeness": 4})
    result = _run(settings)
    assert result.summary == {"status": "SKIPPED", "reason": "dry_run_llm", "imported": [
        "alpha_engine.evals._rolling_mean"]}
    assert not _store(settings).exists(EVAL_ROLLING_MEAN.format(DAY))


def test_skip_eval_judge_skips_both_stages() -> None:
    assert EvalJudge.skip_flag() == EvalRollingMean.skip_flag() == "skip_eval_judge"
    from alpha_engine.pipeline._compose import _continues_family

    assert not _continues_family((EvalJudge, EvalRollingMean), 0)  # EvalJudge carries the family's gate
    assert _continues_family((EvalJudge, EvalRollingMean), 1)
