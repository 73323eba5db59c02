"""EvalJudge in a run: the rubric judge on every decision of the window, the anthropic batch
(submit, poll, process) against recorded responses, the strong pass on low scores and on the first
Saturday, openai_compatible, persistence keys and manifests, metrics, determinism, SKIPPED, errors
and the dry path (no store, metrics or network call)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from judge_corpus import plant

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import (
    EVAL_JUDGMENT,
    EVAL_MANIFEST,
    EVAL_PLAN,
    EvalJudge,
    EvalRollingMean,
)
from alpha_engine.evals._judge_llm import load_rubrics
from alpha_engine.pipeline import PipelineApp, StageContext, StageGraph, run_stage
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)  # a Saturday, not the first of its month
FIRST_SATURDAY = date(2026, 11, 7)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (EvalJudge, EvalRollingMean)), resources=RESOURCES)
FIXTURES = Path(__file__).parent / "fixtures"
KEY_ENV = "ALPHA_ENGINE_TEST_JUDGE_KEY"


def _settings(tmp_path: Path, **options: Any) -> Settings:
    lines = ["[stages.eval-judge]", *(f"{k} = {json.dumps(v)}" for k, v in options.items())]
    config = tmp_path / "alpha-engine.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


def _store(settings: Settings) -> ArtifactStore:
    return APP.open_artifacts(settings, read_only=False)


def _run(settings: Settings, day: date = DAY, **kwargs: Any) -> Any:
    return run_stage("eval-judge", day, settings=settings, app=APP, now=lambda: datetime.combine(
        day, NOW.timetz()), **kwargs)


def _reply(family: str, score: int | Callable[[str], int]) -> str:
    dims = load_rubrics().dimensions(family)
    return json.dumps({"scores": {d: {"score": score(d) if callable(score) else score, "reasoning": f"{d} ok"}
                                  for d in dims}, "overall_reasoning": "judged"})


class FakeAnthropic:
    """The Message Batches and Messages endpoints, answering from the recorded fixtures; sync
    replies come from ``sync(model, family, attempt)``."""

    def __init__(self, statuses: tuple[str, ...] = ("in_progress", "ended"),
                 sync: Callable[[str, str, int], str] | None = None) -> None:
        self.statuses = list(statuses)
        self.sync = sync or (lambda model, family, attempt: _reply(family, 5 if "sonnet" in model else 4))
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        self.requests.append((request.method, path, body))
        if request.method == "POST" and path == "/v1/messages/batches":
            return httpx.Response(200, json=json.loads((FIXTURES / "batch_in_progress.json").read_text()))
        if request.method == "GET" and path.endswith("/results"):
            return httpx.Response(200, content=(FIXTURES / "batch_results.jsonl").read_bytes())
        if request.method == "GET" and path.startswith("/v1/messages/batches/"):
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            name = "batch_ended.json" if status == "ended" else "batch_in_progress.json"
            return httpx.Response(200, json=json.loads((FIXTURES / name).read_text()))
        if request.method == "POST" and path == "/v1/messages":
            user = body["messages"][0]["content"]
            family = re.search(r"\(family (\w+)\)", user).group(1)  # type: ignore[union-attr]
            attempt = sum(1 for m in body["messages"] if m["role"] == "user")
            text = self.sync(body["model"], family, attempt)
            return httpx.Response(200, json={
                "id": "msg_sync", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 50}})
        return httpx.Response(404, json={"type": "error", "error": {"type": "not_found_error", "message": path}})

    def of(self, method: str, path: str) -> list[Any]:
        return [b for m, p, b in self.requests if m == method and p == path]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAnthropic:
    fake = FakeAnthropic()
    monkeypatch.setattr(EvalJudge, "llm_transport", httpx.MockTransport(fake))
    monkeypatch.setattr(EvalJudge, "sleep", staticmethod(lambda seconds: None))
    monkeypatch.setenv(KEY_ENV, "test-key")
    return fake


def _anthropic(tmp_path: Path, **extra: Any) -> Settings:
    return _settings(tmp_path, backend="anthropic", api_key_env=KEY_ENV, **extra)


def _judgments(store: ArtifactStore, day: date = DAY) -> dict[str, dict[str, Any]]:
    prefix = f"decision_artifacts/_eval/{day.isoformat()}/{day.isoformat()}-eval-judge/"
    return {name: store.read_json(prefix + name) for name in sorted(store.children(prefix))}


# --- the rubric judge only --------------------------------------------------------------------

def test_rubric_only_judges_every_decision_of_the_window_and_writes_keys_and_manifests(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _store(settings)
    plant(store, DAY, llm=False)
    plant(store, DAY - timedelta(days=6), llm=True, families=("ic_cio",))  # the window's first day
    plant(store, DAY - timedelta(days=7), llm=True, families=("ic_cio",))  # outside the window
    store.write_json("decision_artifacts/2026/11/21/score_aggregator/2026-11-21-r.json", {})  # not a family
    result = _run(settings)
    assert result.status == "ok", result.error
    summary = result.summary
    assert summary["status"] == "OK" and summary["decisions"] == 7 and summary["judgments"] == 7
    assert summary["window"] == ["2026-11-15", "2026-11-21"] and summary["manifests"] == 2
    judged = _judgments(store)
    assert "macro_economist.2026-11-21-r.rubric-v1.json" in judged and len(judged) == 7
    one = judged["sector_quant:tech.2026-11-21-r.rubric-v1.json"]
    assert one["key"] == EVAL_JUDGMENT.format(DAY, judge_run_id="2026-11-21-eval-judge",
                                              judgment_id="sector_quant:tech.2026-11-21-r.rubric-v1")
    assert one["judge_tier"] == "rubric" and one["judged"]["agent_family"] == "sector_quant"
    assert {k: v["score"] for k, v in one["scores"].items()} == {
        "numerical_grounding": 5, "output_completeness": 5, "ranking_coherence": 5}
    manifest = store.read_json(EVAL_MANIFEST.format(DAY - timedelta(days=6)))
    assert manifest["capture_date"] == "2026-11-15" and [d["agent_id"] for d in manifest["decisions"]] == ["ic_cio"]
    assert manifest["decisions"][0]["judgments"] == [{"judge_model": "rubric-v1", "judge_tier": "rubric", "key": (
        "decision_artifacts/_eval/2026-11-21/2026-11-21-eval-judge/ic_cio.2026-11-15-r.rubric-v1.json")}]
    assert not store.exists(EVAL_MANIFEST.format(DAY - timedelta(days=7)))
    assert not store.exists(EVAL_PLAN.format(DAY))
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    points = metrics.datapoints("AlphaEngine/Eval", "agent_quality_score", {
        "judged_agent_id": "sector_quant:tech", "criterion": "ranking_coherence", "judge_model": "rubric-v1"})
    assert [p.value for p in points] == [5.0]
    assert summary["metrics"] == 3 + 2 + 3 + 3 + 3 + 1 + 3  # per family's applicable dims; ic_cio twice


def test_a_rerun_writes_the_same_bytes(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _store(settings)
    plant(store, DAY, llm=False)
    root = settings.workspace / "artifacts" / "decision_artifacts"
    _run(settings)
    first = {p: p.read_bytes() for p in sorted(root.rglob("*.json")) if "/_eval" in str(p)}
    _run(settings)
    again = {p: p.read_bytes() for p in sorted(root.rglob("*.json")) if "/_eval" in str(p)}
    assert first == again and len(first) == 7


def test_empty_agent_output_is_a_skip_marker_not_a_judgment(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _store(settings)
    [key] = plant(store, DAY, llm=False, families=("ic_cio",))
    doc = store.read_json(key)
    store.write_json(key, {**doc, "agent_output": {}})
    result = _run(settings)
    assert result.summary["precluded_by_empty_upstream"] == 1 and result.summary["judgments"] == 0
    entry = store.read_json(EVAL_MANIFEST.format(DAY))["decisions"][0]
    assert entry["judgments"] == [] and entry["skipped"][0]["marker"] == "precluded_by_empty_upstream"


def test_nothing_captured_in_the_window_is_skipped(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    plant(_store(settings), DAY - timedelta(days=8), llm=False)
    result = _run(settings)
    assert result.status == "ok" and result.summary["status"] == "SKIPPED"
    assert "captured from 2026-11-15 to 2026-11-21: nothing to judge" in result.summary["reason"]
    assert not (settings.workspace / "artifacts" / "decision_artifacts" / "_eval").exists()


def test_an_unreadable_decision_is_counted_and_only_all_unreadable_fails(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _store(settings)
    store.write_json("decision_artifacts/2026/11/21/ic_cio/bad.json", {"not": "a decision"})
    result = _run(settings)
    assert result.status == "failed" and result.error.startswith(
        "EvalJudgeError: eval-judge 2026-11-21: none of the 1 decisions in 2026-11-15..2026-11-21 could be read")
    plant(store, DAY, llm=False, families=("macro_economist",))
    result = _run(settings)
    assert result.status == "ok" and result.summary["unreadable"] == 1 and result.summary["judgments"] == 1
    assert any("bad.json" in w for w in result.warnings)


# --- the anthropic batch --------------------------------------------------------------------

def test_batch_submit_poll_process_with_recorded_responses(tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = _anthropic(tmp_path)
    store = _store(settings)
    plant(store, DAY, llm=True)
    result = _run(settings)
    assert result.status == "ok", result.error
    # submit: one batch of six weak-model requests, in key order
    [created] = fake.of("POST", "/v1/messages/batches")
    assert [r["custom_id"] for r in created["requests"]] == [f"judge-{i:05d}" for i in range(6)]
    assert {r["params"]["model"] for r in created["requests"]} == {"claude-haiku-4-5"}
    plan = store.read_json(EVAL_PLAN.format(DAY))
    EVAL_PLAN.validate(plan)  # not in the graph's contract table (written only sometimes): checked here
    assert plan["batch_id"] == "msgbatch_01PlantedJudgeBatch" and plan["requests"][1]["key"].endswith(
        "/macro_economist/2026-11-21-r.json")
    # poll: in_progress, then ended (one wait between)
    polls = [p for m, p, _ in fake.requests if m == "GET" and p == "/v1/messages/batches/msgbatch_01PlantedJudgeBatch"]
    assert len(polls) >= 2
    s = result.summary
    assert (s["batch_succeeded"], s["batch_errored"], s["batch_expired"], s["batch_malformed"]) == (4, 1, 1, 1)
    # errored, expired and malformed lines are judged synchronously with the weak model
    sync_models = [b["model"] for b in fake.of("POST", "/v1/messages")]
    assert sync_models.count("claude-haiku-4-5") == 3
    # macro's regime_awareness of 2 sends it (only it) to the strong model
    assert sync_models.count("claude-sonnet-4-6") == 1 and s["escalated_weak_below_floor"] == 1
    judged = _judgments(store)
    strong = judged["macro_economist.2026-11-21-r.claude-sonnet-4-6.json"]
    assert strong["judge_tier"] == "strong" and strong["escalation"] == "weak_below_floor"
    weak = judged["macro_economist.2026-11-21-r.claude-haiku-4-5.json"]
    assert weak["scores"]["regime_awareness"] == {"score": 2, "reason": "regime_awareness: checked against the snapshot"}
    assert weak["rubric_version"] == load_rubrics().version and weak["overall_reasoning"]
    assert len(judged) == 6 + 6 + 1  # rubric + weak per decision, one strong
    entry = {d["agent_id"]: d for d in store.read_json(EVAL_MANIFEST.format(DAY))["decisions"]}["macro_economist"]
    assert [j["judge_tier"] for j in entry["judgments"]] == ["rubric", "weak", "strong"]
    assert s["cost_usd"] > 0 and s["llm_weak_judgments"] == 6 and s["llm_strong_judgments"] == 1


def test_the_first_saturday_forces_the_strong_pass_on_all(tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = _anthropic(tmp_path)
    store = _store(settings)
    plant(store, FIRST_SATURDAY, llm=True)
    result = _run(settings, FIRST_SATURDAY)
    assert result.status == "ok", result.error
    assert result.summary["forced_strong_pass"] is True and result.summary["escalated_first_saturday"] == 6
    strong = [j for j in _judgments(store, FIRST_SATURDAY).values() if j["judge_tier"] == "strong"]
    assert len(strong) == 6 and {j["escalation"] for j in strong} == {"first_saturday"}


def test_only_llm_decisions_go_to_the_llm_judge(tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = _anthropic(tmp_path)
    store = _store(settings)
    plant(store, DAY, llm=False)
    ctx = _ctx(settings, DAY)
    assert EvalJudge().submit(ctx) == {"status": "empty"}
    result = _run(settings)
    assert result.status == "ok" and result.summary["judgments"] == 6 and fake.requests == []
    assert result.summary["deterministic_decisions"] == 6 and result.summary["llm_decisions"] == 0


def test_poll_reports_running_then_ended(tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = _anthropic(tmp_path)
    plant(_store(settings), DAY, llm=True)
    stage, ctx = EvalJudge(), _ctx(settings, DAY)
    job = stage.submit(ctx)
    assert job == {"status": "submitted", "batch_id": "msgbatch_01PlantedJudgeBatch",
                   "plan_key": "decision_artifacts/_eval_plan/2026-11-21/plan.json"}
    assert [stage.poll(ctx, job), stage.poll(ctx, job), stage.poll(ctx, job)] == ["running", "ended", "ended"]


def test_a_malformed_reply_is_retried_three_times_then_marked(tmp_path: Path, fake: FakeAnthropic) -> None:
    fake.sync = lambda model, family, attempt: "not json" if family == "sector_qual" else _reply(family, 4)
    settings = _anthropic(tmp_path)
    store = _store(settings)
    plant(store, DAY, llm=True)
    result = _run(settings)
    assert result.status == "ok" and result.summary["llm_malformed"] == 1
    qual = [b for b in fake.of("POST", "/v1/messages") if "(family sector_qual)" in b["messages"][0]["content"]]
    assert len(qual) == 3 and [len(b["messages"]) for b in qual] == [1, 3, 5]  # the error fed back each time
    assert "That reply is malformed: not a JSON object" in qual[1]["messages"][2]["content"]
    entry = {d["agent_id"]: d for d in store.read_json(EVAL_MANIFEST.format(DAY))["decisions"]}["sector_qual:tech"]
    assert [j["judge_tier"] for j in entry["judgments"]] == ["rubric"]
    assert entry["skipped"][0]["marker"] == "llm_judge_malformed"


def test_a_second_attempt_can_repair_a_malformed_reply(tmp_path: Path, fake: FakeAnthropic) -> None:
    fake.sync = lambda model, family, attempt: '{"scores": {}}' if attempt == 1 else _reply(family, 4)
    settings = _anthropic(tmp_path)
    plant(_store(settings), DAY, llm=True)
    result = _run(settings)
    assert result.status == "ok" and "llm_malformed" not in result.summary
    assert result.summary["llm_weak_judgments"] == 6


def test_an_api_failure_raises_naming_the_batch_stage_and_counts(tmp_path: Path, fake: FakeAnthropic,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EvalJudge, "llm_transport", httpx.MockTransport(
        lambda request: httpx.Response(401, json={"type": "error", "error": {
            "type": "authentication_error", "message": "invalid x-api-key"}})))
    settings = _anthropic(tmp_path)
    plant(_store(settings), DAY, llm=True)
    result = _run(settings)
    assert result.status == "failed" and "cannot submit the batch of 6 weak-model requests (claude-haiku-4-5)" in (
        result.error) and "HTTP 401" in result.error and "test-key" not in result.error


def test_a_missing_api_key_fails_preflight_naming_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    result = _run(_anthropic(tmp_path), preflight_only=True)
    assert result.status == "preflight_failed" and f"${KEY_ENV} is not set" in result.error


def test_the_wait_loop_is_capped_at_six_hours(tmp_path: Path, fake: FakeAnthropic,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake.statuses = ["in_progress"]
    clock = [datetime.combine(DAY, NOW.timetz())]

    def tick(seconds: float) -> None:
        clock[0] += timedelta(seconds=seconds)

    monkeypatch.setattr(EvalJudge, "sleep", staticmethod(tick))
    settings = _anthropic(tmp_path)
    plant(_store(settings), DAY, llm=True)
    result = run_stage("eval-judge", DAY, settings=settings, app=APP, now=lambda: clock[0])
    assert result.status == "failed" and "PollTimeoutError" in result.error and "21600 s" in result.error
    assert EvalJudge.poll_loop.wait_seconds == 60


# --- openai_compatible ------------------------------------------------------------------------

def test_openai_compatible_judges_synchronously(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        family = re.search(r"\(family (\w+)\)", body["messages"][1]["content"]).group(1)  # type: ignore[union-attr]
        return httpx.Response(200, json={"model": body["model"], "choices": [{"message": {"content": _reply(
            family, lambda d: 2 if family == "ic_cio" else 4)}}], "usage": {"prompt_tokens": 10, "completion_tokens": 5}})

    monkeypatch.setattr(EvalJudge, "llm_transport", httpx.MockTransport(handler))
    settings = _settings(tmp_path, backend="openai_compatible", base_url="http://localhost:11434",
                         weak_model="small", strong_model="large")
    store = _store(settings)
    plant(store, DAY, llm=True)
    assert EvalJudge().submit(_ctx(settings, DAY)) == {"status": "empty"}
    result = _run(settings)
    assert result.status == "ok", result.error
    assert [b["model"] for b in seen].count("small") == 6 and [b["model"] for b in seen].count("large") == 1
    assert "ic_cio.2026-11-21-r.large.json" in _judgments(store)
    assert result.summary["cost_usd"] == 0.0


def test_openai_compatible_needs_a_model_and_a_server(tmp_path: Path) -> None:
    result = _run(_settings(tmp_path, backend="openai_compatible"), preflight_only=True)
    assert result.status == "preflight_failed" and "needs weak_model and base_url" in result.error


# --- the dry path -----------------------------------------------------------------------------

class CountingStore:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        raise AssertionError(f"dry run touched the store: {name}")


class CountingResources:
    def __init__(self, store: CountingStore) -> None:
        self.store, self.calls = store, []  # type: ignore[var-annotated]

    def get(self, resource: Any) -> Any:
        self.calls.append(("get", getattr(resource, "name", resource)))
        return self.store

    def wired(self, resource: Any) -> bool:
        self.calls.append(("wired", getattr(resource, "name", resource)))
        return True


def _ctx(settings: Settings, day: date, *, resources: Any = None, execution_input: dict[str, Any] | None = None,
         options: Any = None) -> StageContext[Any]:
    real = APP.open_resources(settings, read_only=False, stage=EvalJudge, fence=None)
    return StageContext(run_date=day, options=options or APP.stage_options(settings, EvalJudge), settings=settings,
                        resources=resources or real, graph=APP.graph, now=lambda: NOW, seed=0,
                        logger=logging.LoggerAdapter(logging.getLogger("test")), preflight_only=False,
                        execution_input=execution_input or {})


def test_research_dry_makes_no_store_metrics_or_network_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    network: list[httpx.Request] = []
    monkeypatch.setattr(EvalJudge, "llm_transport", httpx.MockTransport(lambda r: network.append(r) or httpx.Response(500)))
    monkeypatch.setenv(KEY_ENV, "test-key")
    settings = _anthropic(tmp_path)
    store = CountingStore()
    resources = CountingResources(store)
    ctx = _ctx(settings, DAY, resources=resources, execution_input={"research_dry": True})
    stage = EvalJudge()
    stage.preflight(ctx)
    outcome = stage.run(ctx)
    assert outcome is not None and outcome.summary == {
        "status": "SKIPPED", "reason": "dry_run_llm", "imported": ["alpha_engine.evals._judge", "anthropic", "httpx"]}
    assert store.calls == [] and resources.calls == [] and network == []


def test_the_dry_run_llm_option_writes_nothing_in_a_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path, dry_run_llm=True)
    plant(_store(settings), DAY, llm=False)
    result = _run(settings)
    assert result.status == "ok" and result.summary["reason"] == "dry_run_llm"
    assert not (settings.workspace / "artifacts" / "decision_artifacts" / "_eval").exists()
    result = _run(_settings(tmp_path), execution_input={"research_dry": True})
    assert result.summary["reason"] == "dry_run_llm"


def test_a_rerun_of_a_batch_run_writes_the_same_bytes(tmp_path: Path, fake: FakeAnthropic) -> None:
    settings = _anthropic(tmp_path)
    plant(_store(settings), DAY, llm=True)
    root = settings.workspace / "artifacts" / "decision_artifacts"
    _run(settings)
    first = {p: p.read_bytes() for p in sorted(root.rglob("*.json")) if "/_eval" in str(p)}
    fake.statuses = ["ended"]
    _run(settings)
    assert first == {p: p.read_bytes() for p in sorted(root.rglob("*.json")) if "/_eval" in str(p)}
