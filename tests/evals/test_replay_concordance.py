"""ReplayConcordance in a run, against recorded Messages API responses (httpx.MockTransport, never
the network): skips, schema-validated single attempts, per-family aggregates, thin groups, metrics,
the summaries and latest.json; SKIPPED without a backend or LLM decisions; the deadline and the
budget stop the loop (fake clock); the dry path touches nothing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import (
    EVAL_NAMESPACE,
    REPLAY_LATEST,
    REPLAY_SUMMARY,
    ReplayConcordance,
    ReplayConcordanceOptions,
    should_stop,
)
from alpha_engine.evals._replay import p90
from alpha_engine.pipeline import PipelineApp, StageContext, StageGraph, run_stage
from alpha_engine.research import DecisionRecorder
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (ReplayConcordance,)), resources=RESOURCES)
FIXTURE = json.loads((Path(__file__).parent / "fixtures/replay/anthropic_messages.json").read_text())["responses"]
TOP10 = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH", "III", "JJJ"]
QUANT = {"team": "technology", "top": [{"ticker": t, "quant_score": 60.0, "factors": {}, "rationale": "r"}
                                       for t in TOP10]}
CIO = json.loads(FIXTURE["ic_cio"]["content"][0]["text"].strip("`").removeprefix("json\n"))
MACRO = json.loads(FIXTURE["macro_economist"]["content"][0]["text"])


def _meta(family: str) -> dict[str, Any]:
    return {"model_name": "claude-sonnet-4-6", "model_version": "claude-sonnet-4-6", "input_tokens": 100,
            "output_tokens": 10, "cost_usd": 0.0005, "run_type": "weekly_research", "node_name": "n",
            "prompt_id": family, "prompt_version": "1.0.0"}


def _capture(store: ArtifactStore, day: date, agent_id: str, output: dict[str, Any], *, llm: bool = True,
             user: str = "{}") -> None:
    family = agent_id.split(":")[0]
    recorder = DecisionRecorder(store, day, f"{day}-research", backend="llm-anthropic:claude-sonnet-4-6",
                                rule_set=None, data_snapshot_id="manifest")
    recorder.capture(agent_id, "n", {"x": 1}, output, model_metadata=_meta(family) if llm else None,
                     prompt_context={"system_prompt": f"role {family}", "user_prompt": user, "tool_definitions": [],
                                     "prompt_version_hash": "h"} if llm else None)


def _plant(store: ArtifactStore) -> None:
    for back in range(3):
        day = DAY - timedelta(days=back)
        _capture(store, day, "sector_quant:technology", QUANT)
        _capture(store, day, "ic_cio", CIO)
    _capture(store, DAY - timedelta(days=3), "ic_cio", CIO, user='{"note": "BAD"}')  # the reply fails validation
    _capture(store, DAY, "macro_economist", MACRO)  # one observation: a thin group
    _capture(store, DAY - timedelta(days=1), "macro_economist", MACRO, llm=False)  # deterministic: skipped
    _capture(store, DAY, "sector_qual:technology", {"team": "technology", "assessments": [], "extra_candidates": [],
                                                     "note": "n"},
             user="placeholder: not yet wired through track_llm_cost")
    _capture(store, DAY, "score_aggregator", {"scores": {}}, llm=False)  # not a replayed family: never listed


class Model:
    """The MockTransport handler: answers from the recorded responses; each call advances the clock."""

    def __init__(self, seconds_per_call: float = 2.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.offset = timedelta(0)
        self.seconds_per_call = seconds_per_call

    def now(self) -> datetime:
        return NOW + self.offset

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        self.offset += timedelta(seconds=self.seconds_per_call)
        user = body["messages"][0]["content"]
        family = body["system"].removeprefix("role ")
        return httpx.Response(200, json=FIXTURE["invalid" if "BAD" in user else family])


def _settings(tmp_path: Path, options: str = 'backend = "anthropic"\n') -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "alpha-engine.toml"
    config.write_text(f"[stages.replay-concordance]\n{options}", encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Model:
    fake = Model()
    monkeypatch.setattr(ReplayConcordance, "llm_transport", httpx.MockTransport(fake))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-a-real-key")
    return fake


def _run(settings: Settings, model: Model, **kwargs: Any) -> Any:
    return run_stage("replay-concordance", DAY, settings=settings, app=APP, now=model.now, **kwargs)


def test_a_replay_scores_skips_aggregates_and_publishes(tmp_path: Path, model: Model) -> None:
    settings = _settings(tmp_path)
    store = APP.open_artifacts(settings, read_only=False)
    _plant(store)
    report = _run(settings, model)
    assert report.status == "ok", report.error
    assert report.summary["status"] == "OK" and report.summary["complete"] is True
    assert len(model.requests) == 8  # 3 quant + 4 cio + 1 macro; one attempt each
    assert {r["model"] for r in model.requests} == {"claude-haiku-4-5"} and model.requests[0]["max_tokens"] == 8192
    key = REPLAY_SUMMARY.format(DAY, target_model="claude-haiku-4-5")
    summary = store.read_json(key)  # validated against replay_summary.schema.json
    assert summary["counts"] == {"candidates": 10, "skipped": 2, "replayed": 7, "replay_errors": 1,
                                 "call_failures": 0}
    assert {s["reason"] for s in summary["skips"]} == {"deterministic decision (no model_metadata)",
                                                       "placeholder prompt"}
    assert summary["failures"][0]["kind"] == "replay_error" and "decisions.0.decision" in summary["failures"][0]["reason"]
    quant = summary["per_agent"]["sector_quant"]
    assert quant["n"] == 3 and quant["mean"] == pytest.approx(2 / 3, abs=1e-6) and quant["stdev"] == 0.0
    assert quant["demotion_candidate"] is False
    assert summary["per_agent"]["ic_cio"] == {"n": 3, "mean": 1.0, "min": 1.0, "max": 1.0, "stdev": 0.0,
                                              "demotion_candidate": True}
    assert summary["thin"] == [{"judged_agent_id": "macro_economist", "n": 1}]
    assert summary["served_models"] == ["claude-haiku-4-5-20251001"]
    assert summary["cost"]["calls"] == 8 and summary["cost"]["cost_usd"] == pytest.approx(8 * 0.0035)
    assert store.read_json(REPLAY_LATEST.format(DAY)) == {
        "schema_version": 1, "targets": {"claude-haiku-4-5": {"key": key, "run_date": "2026-11-21"}}}
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    dims = {"judged_agent_id": "sector_quant", "target_model": "claude-haiku-4-5"}
    assert [p.value for p in metrics.datapoints(EVAL_NAMESPACE, "agent_cheap_model_concordance", dims)] == \
        [pytest.approx(2 / 3, abs=1e-6)]
    assert [p.value for p in metrics.datapoints(EVAL_NAMESPACE, "agent_cheap_model_concordance_n_observations",
                                                {**dims, "judged_agent_id": "ic_cio"})] == [3.0]
    thin = {**dims, "judged_agent_id": "macro_economist"}
    assert metrics.datapoints(EVAL_NAMESPACE, "agent_cheap_model_concordance", thin) == []
    first = store.read_bytes(key)
    model.offset = timedelta(0)
    assert _run(settings, model).status == "ok" and store.read_bytes(key) == first  # same inputs, same bytes


def test_without_a_backend_or_llm_decisions_it_is_skipped(tmp_path: Path, model: Model) -> None:
    settings = _settings(tmp_path / "none", "")
    store = APP.open_artifacts(settings, read_only=False)
    _plant(store)
    report = _run(settings, model)
    assert report.summary["status"] == "SKIPPED" and "no backend" in report.summary["reason"]
    assert model.requests == [] and store.list("decision_artifacts/_replay_summary/") == []
    settings = _settings(tmp_path / "deterministic")
    store = APP.open_artifacts(settings, read_only=False)
    _capture(store, DAY, "macro_economist", MACRO, llm=False)
    report = _run(settings, model)
    assert report.summary["status"] == "SKIPPED" and "no LLM decision in the window" in report.summary["reason"]
    assert model.requests == [] and store.list("decision_artifacts/_replay_summary/") == []


def test_the_deadline_stops_the_loop_before_an_item_it_cannot_finish(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    slow = Model(seconds_per_call=100.0)
    monkeypatch.setattr(ReplayConcordance, "llm_transport", httpx.MockTransport(slow))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    settings = _settings(tmp_path)
    store = APP.open_artifacts(settings, read_only=False)
    for back in range(12):
        _capture(store, DAY - timedelta(days=back), "sector_quant:technology", QUANT)
    report = _run(settings, slow)
    # 900 s budget; each call takes 100 s: item k starts with 900 - 100 (k - 1) s left and needs
    # max(30, p90 = 100) + 45 = 145 s, so the 9th item is not started
    assert report.status == "ok" and len(slow.requests) == 8
    summary = store.read_json(REPLAY_SUMMARY.format(DAY, target_model="claude-haiku-4-5"))
    assert summary["complete"] is False and summary["deadline_stopped"] is True and summary["counts"]["replayed"] == 8
    assert any("stopped early by the deadline" in w for w in report.warnings)


def test_the_budget_stops_the_loop(tmp_path: Path, model: Model) -> None:
    settings = _settings(tmp_path, 'backend = "anthropic"\nbudget_usd = 0.005\n')
    store = APP.open_artifacts(settings, read_only=False)
    _plant(store)
    report = _run(settings, model)
    assert report.status == "ok" and len(model.requests) == 2  # $0.0035 each: the third would pass $0.005
    summary = store.read_json(REPLAY_SUMMARY.format(DAY, target_model="claude-haiku-4-5"))
    assert summary["budget_stopped"] is True and summary["complete"] is False


def test_preflight_names_a_missing_key_and_an_unpriced_target(tmp_path: Path, model: Model,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    report = _run(_settings(tmp_path / "a"), model, preflight_only=True)
    assert report.status != "ok" and "$ANTHROPIC_API_KEY is not set" in (report.error or "")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    report = _run(_settings(tmp_path / "b", 'backend = "anthropic"\ntarget_models = ["claude-cheap-0"]\n'), model,
                  preflight_only=True)
    assert report.status != "ok" and "no price for anthropic model 'claude-cheap-0'" in (report.error or "")
    assert model.requests == []


def test_the_stop_rule() -> None:
    assert p90([]) == 0.0 and p90([float(i) for i in range(1, 11)]) == 9.0 and p90([5.0]) == 5.0
    assert should_stop(74.9, []) and not should_stop(75.0, [])  # max(30, 0) + 45
    assert should_stop(144.9, [100.0]) and not should_stop(145.0, [100.0, 10.0])


class _Untouchable:
    def __init__(self) -> None:
        self.uses: list[str] = []

    def get(self, resource: Any) -> Any:
        self.uses.append(f"get {resource.name}")
        raise AssertionError("a dry run opened a resource")

    def wired(self, resource: Any) -> bool:
        self.uses.append(f"wired {resource.name}")
        return False


def test_the_dry_path_lists_reads_calls_emits_and_writes_nothing(tmp_path: Path, model: Model,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    resources = _Untouchable()
    sent: list[Any] = []
    monkeypatch.setattr(httpx.Client, "send", lambda self, *a, **k: sent.append(a))
    settings = _settings(tmp_path)
    for options, execution_input in ((ReplayConcordanceOptions(backend="anthropic"), {"research_dry": True}),
                                     (ReplayConcordanceOptions(backend="anthropic", dry_run_llm=True), {})):
        ctx = StageContext(run_date=DAY, options=options, settings=settings, resources=resources,  # type: ignore[arg-type]
                           graph=APP.graph, now=model.now, seed=0,
                           logger=logging.LoggerAdapter(logging.getLogger("t")), preflight_only=False,
                           execution_input=execution_input)
        ReplayConcordance().preflight(ctx)
        outcome = ReplayConcordance().run(ctx)
        assert outcome.summary["status"] == "SKIPPED" and outcome.summary["reason"] == "dry_run_llm"
        assert "anthropic" in outcome.summary["imported"]
    assert resources.uses == [] and sent == [] and model.requests == []
