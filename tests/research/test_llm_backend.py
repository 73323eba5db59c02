"""The LLM research backend against recorded responses (httpx.MockTransport): never the network."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import run_stage
from alpha_engine.research import (
    PROMPTS,
    SIGNALS,
    CostLedger,
    DecisionArtifact,
    Evidence,
    LlmCallError,
    LlmConfigError,
    LlmOptions,
    LlmOutputError,
    PriceTable,
    QuantOutput,
    QuantPick,
    RegimePrior,
    Research,
    RunBudgetExceededError,
    TeamView,
    llm_backend,
)
from alpha_engine.research._cost_telemetry import COST_COLUMNS, cost_telemetry_files
from alpha_engine.research._llm_client import Completion
from alpha_engine.store import ContractError

RUN_DATE = date(2022, 12, 31)
KEY = "sk-test-not-a-real-key"
NEUTRAL = RegimePrior(label="neutral", probabilities={"bull": 0.25, "neutral": 0.5, "bear": 0.25}, source="test")
Handler = Callable[[httpx.Request], httpx.Response]


def _features(mom: float) -> dict[str, float | None]:
    return {"momentum_20d_zscore": mom, "return_60d_zscore": mom, "idio_vol_60d_zscore": -mom,
            "dist_from_52w_high_zscore": 0.0, "realized_vol_63d_zscore": 0.0, "price_vs_ma200": mom / 10,
            "momentum_20d": mom / 10, "momentum_5d": 0.0, "realized_vol_20d": 0.2}


VIEW = TeamView(team="technology", regime="neutral", tickers=("AAPL", "MSFT", "NVDA"),
                features={"AAPL": _features(1.0), "MSFT": _features(0.5), "NVDA": _features(-1.0)},
                sector_of=dict.fromkeys(("AAPL", "MSFT", "NVDA"), "Information Technology"))


# --- a fake model: answers each role from its request (what a recorded response would hold) ----------

def _role(system: str) -> str:
    return next(pid for pid, p in PROMPTS.items() if system.startswith(p.instructions))


def _answer(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    if role == "macro_economist":
        mods = {s: 1.1 if s == "Information Technology" else 1.0 for s in payload["sectors"]}
        return {"market_regime": "neutral", "sector_modifiers": mods, "rationale": "breadth is mixed",
                "sector_ratings": {s: {"rating": "overweight" if m >= 1.08 else "market_weight", "modifier": m,
                                       "rationale": "relative momentum"} for s, m in mods.items()}}
    if role == "sector_quant":
        def strength(t: str) -> float:
            return sum(v for v in payload["candidates"][t]["factor_profile"].values() if v is not None)
        ranked = sorted(payload["candidates"], key=lambda t: (-strength(t), t))[:payload["top_n"]]
        return {"team": payload["team"], "top": [
            {"ticker": t, "quant_score": round(min(100.0, max(0.0, 60 + 10 * strength(t))), 3), "factors": {},
             "rationale": f"factor strength {strength(t):+.2f}"} for t in ranked]}
    if role == "sector_qual":
        return {"team": payload["team"], "extra_candidates": [], "note": "price data only", "assessments": [
            {"ticker": p["ticker"], "qual_score": 70.0, "conviction": 60.0, "evidence": ["trend"], "note": "ok"}
            for p in payload["quant_top5"]]}
    if role == "sector_peer_review":
        return {"team": payload["team"], "picks": [p["ticker"] for p in payload["quant_top"][:2]],
                "rationale": "the two strongest"}
    if role == "thesis_update":
        return {"update": None}
    assert role == "ic_cio"
    held = {h["ticker"] for h in payload["population"]}
    room = payload["limits"]["max_new_entrants"]
    decisions = []
    for i, p in enumerate(sorted(payload["picks"], key=lambda p: -(p["final_score"] or 0)), start=1):
        advance = p["ticker"] not in held and room > 0 and p["rating"] == "BUY"
        room -= advance
        decisions.append({"ticker": p["ticker"], "decision": "ADVANCE" if advance else "REJECT", "rank": i,
                          "conviction": 70.0 if advance else 20.0, "rationale": "risk/reward", "rule_tags": []})
    return {"decisions": decisions, "rationale": "best risk/reward first"}


def _openai_reply(text: str, prompt_tokens: int = 1000, completion_tokens: int = 200) -> httpx.Response:
    return httpx.Response(200, json={"id": "chatcmpl-1", "object": "chat.completion", "model": "llama3.1:8b",
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": text}}],
                                     "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                               "total_tokens": prompt_tokens + completion_tokens}})


def _anthropic_reply(text: str, *, model: str = "claude-haiku-4-5-20251001", input_tokens: int = 1000,
                     output_tokens: int = 200, cache_read: int = 0, cache_create: int = 0) -> httpx.Response:
    return httpx.Response(200, json={"id": "msg_01", "type": "message", "role": "assistant", "model": model,
                                     "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                                     "stop_sequence": None,
                                     "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                                               "cache_read_input_tokens": cache_read,
                                               "cache_creation_input_tokens": cache_create}})


class Recorder:
    """A MockTransport handler that records requests and answers from ``replies`` (or the fake model)."""

    def __init__(self, provider: str, replies: list[str] | None = None) -> None:
        self.provider, self.replies, self.requests = provider, list(replies or []), []  # type: ignore[var-annotated]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        if self.provider == "anthropic":
            system, user = body["system"], body["messages"][0]["content"]
        else:
            system, user = body["messages"][0]["content"], body["messages"][1]["content"]
        text = self.replies.pop(0) if self.replies else json.dumps(_answer(_role(system), json.loads(user)))
        return _anthropic_reply(text) if self.provider == "anthropic" else _openai_reply(text)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


OLLAMA = LlmOptions(model="llama3.1:8b", base_url="http://ollama.test:11434")


def _backend(provider: str, handler: Handler, options: LlmOptions | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    options = options or (OLLAMA if provider == "openai_compatible" else LlmOptions())
    env = {"ANTHROPIC_API_KEY": KEY} if env is None and provider == "anthropic" else env or {}
    return llm_backend(provider, options, env, run_date=RUN_DATE, transport=httpx.MockTransport(handler))


# --- roles, per provider ------------------------------------------------------------------------------

def test_openai_compatible_quant_happy_path() -> None:
    fake = Recorder("openai_compatible")
    backend = _backend("openai_compatible", fake)
    out = backend.quant.rank(VIEW)
    assert [p.ticker for p in out.top] == ["AAPL", "MSFT", "NVDA"] and out.team == "technology"
    assert out.top[0].factors["momentum"] == 1.0  # the stored profile, not the model's echo
    (request,) = fake.requests
    assert str(request.url) == "http://ollama.test:11434/v1/chat/completions"
    assert "authorization" not in request.headers  # a local server: no key configured, none sent
    body = fake.bodies()[0]
    assert body["model"] == "llama3.1:8b" and body["response_format"] == {"type": "json_object"}
    assert '"QuantOutput"' in body["messages"][0]["content"]  # the output schema is in the system prompt
    described = backend.describe("sector_quant:technology")
    assert described is not None and described["model_metadata"]["cost_usd"] == 0.0
    assert described["model_metadata"]["input_tokens"] == 1000 and backend.describe("sector_quant:technology") is None


def test_the_qual_prompt_carries_the_retrieved_evidence() -> None:
    fake = Recorder("openai_compatible")
    backend = _backend("openai_compatible", fake)
    quant = QuantOutput(team="technology", top=[
        QuantPick(ticker=t, quant_score=60.0, factors={}, rationale="r") for t in ("AAPL", "MSFT")])
    found = Evidence(chunk_id="c1", source_id="documents:aapl.md", score=0.03, excerpt="AAPL margins widened")
    backend.qual.review(replace(VIEW, evidence={"AAPL": (found,)}), quant)
    payload = json.loads(fake.bodies()[0]["messages"][1]["content"])
    assert payload["evidence"] == {"AAPL": [found.model_dump(mode="json")], "MSFT": []}
    assert "`evidence`" in fake.bodies()[0]["messages"][0]["content"]


def test_anthropic_macro_happy_path_uses_the_strategic_model_and_the_key_header() -> None:
    fake = Recorder("anthropic")
    backend = _backend("anthropic", fake)
    out = backend.macro.assess(NEUTRAL, VIEW.features, VIEW.sector_of, ["Information Technology", "Energy"])
    assert out.sector_ratings["Information Technology"].rating == "overweight"
    (request,) = fake.requests
    assert request.url.path == "/v1/messages" and request.headers["x-api-key"] == KEY
    body = fake.bodies()[0]
    assert body["model"] == "claude-sonnet-4-6" and body["temperature"] == 0.0
    meta = backend.describe("macro_economist")["model_metadata"]  # type: ignore[index]
    assert meta["model_name"] == "claude-sonnet-4-6" and meta["model_version"] == "claude-haiku-4-5-20251001"
    assert meta["prompt_id"] == "macro_economist" and meta["prompt_version"] == "1.0.0"


def test_a_fenced_reply_is_accepted_and_an_http_error_names_the_status_without_the_key() -> None:
    answer = json.dumps(_answer("sector_peer_review", {"team": "technology", "quant_top": [{"ticker": "AAPL"},
                                                                                         {"ticker": "MSFT"}]}))
    fake = Recorder("anthropic", [f"```json\n{answer}\n```"])
    backend = _backend("anthropic", fake)
    quant = _backend("openai_compatible", Recorder("openai_compatible")).quant.rank(VIEW)
    qual = _backend("openai_compatible", Recorder("openai_compatible")).qual.review(VIEW, quant)
    assert backend.peer_review.finalize(VIEW, quant, qual).picks == ["AAPL", "MSFT"]

    def unauthorized(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"type": "error", "error": {"type": "authentication_error",
                                                                     "message": "invalid x-api-key"}})
    with pytest.raises(LlmCallError, match="HTTP 401") as caught:
        _backend("anthropic", unauthorized).quant.rank(VIEW)
    assert KEY not in str(caught.value)
    with pytest.raises(LlmCallError, match="HTTP 503"):
        _backend("openai_compatible", lambda r: httpx.Response(503, text="overloaded")).quant.rank(VIEW)


# --- structured output: retry with the error fed back, then a clear error --------------------------------

def test_malformed_json_then_a_corrected_retry() -> None:
    good = json.dumps(_answer("sector_quant", {"team": "technology", "top_n": 3, "candidates": {
        t: {"factor_profile": {"momentum": 1.0 - i}} for i, t in enumerate(VIEW.tickers)}}))
    fake = Recorder("openai_compatible", ['{"team": "technology", "top": [', good])
    backend = _backend("openai_compatible", fake)
    assert [p.ticker for p in backend.quant.rank(VIEW).top] == ["AAPL", "MSFT", "NVDA"]
    first, second = fake.bodies()
    assert len(first["messages"]) == 2 and len(second["messages"]) == 4
    assert second["messages"][2] == {"role": "assistant", "content": '{"team": "technology", "top": ['}
    assert "failed validation" in second["messages"][3]["content"]
    assert "Invalid JSON" in second["messages"][3]["content"] or "json" in second["messages"][3]["content"].lower()
    meta = backend.describe("sector_quant:technology")["model_metadata"]  # type: ignore[index]
    assert meta["input_tokens"] == 2000 and meta["output_tokens"] == 400  # both attempts counted


def test_validation_failure_after_every_retry_is_a_clear_error() -> None:
    wrong_team = json.dumps({"team": "energy", "top": []})
    fake = Recorder("openai_compatible", [wrong_team] * 5)
    backend = _backend("openai_compatible", fake, OLLAMA.model_copy(update={"max_retries": 2}))
    with pytest.raises(LlmOutputError) as caught:
        backend.quant.rank(VIEW)
    message = str(caught.value)
    assert "sector_quant" in message and "3 attempts" in message and "team must be 'technology'" in message
    assert len(fake.requests) == 3
    # a schema violation (a score above 100) is reported with its field path
    over = json.dumps({"team": "technology", "top": [{"ticker": "AAPL", "quant_score": 140, "factors": {},
                                                      "rationale": "x"}]})
    with pytest.raises(LlmOutputError, match=r"top\.0\.quant_score"):
        _backend("openai_compatible", Recorder("openai_compatible", [over]),
                 OLLAMA.model_copy(update={"max_retries": 0})).quant.rank(VIEW)


# --- cost and budget ------------------------------------------------------------------------------------

def test_cost_is_computed_from_the_dated_price_table() -> None:
    table = PriceTable.load()
    assert table.as_of and "anthropic" in table.source.lower()
    sonnet = table.price("anthropic", "claude-sonnet-4-6", RUN_DATE)
    completion = Completion(text="", model="claude-sonnet-4-6", input_tokens=12_000, output_tokens=3_000,
                            cache_read_tokens=50_000, cache_create_tokens=4_000)
    expected = (12_000 * sonnet["input"] + 3_000 * sonnet["output"] + 50_000 * sonnet["cache_read"]
                + 4_000 * sonnet["cache_create"]) / 1e6
    assert table.cost("anthropic", "claude-sonnet-4-6", completion, RUN_DATE) == pytest.approx(expected)
    assert expected == pytest.approx(0.036 + 0.045 + 0.015 + 0.015)  # $3 / $15 / $0.30 / $3.75 per Mtok
    assert (table.price("anthropic", "claude-haiku-4-5-20251001", RUN_DATE)
            == table.price("anthropic", "claude-haiku-4-5", RUN_DATE))
    assert table.price("openai_compatible", "qwen2.5:7b", RUN_DATE)["input"] == 0.0  # self-hosted
    with pytest.raises(LlmConfigError, match="no price for anthropic model 'claude-unknown'"):
        table.price("anthropic", "claude-unknown", RUN_DATE)

    fake = Recorder("anthropic")
    backend = _backend("anthropic", fake)
    backend.quant.rank(VIEW)  # haiku: 1000 in at $1, 200 out at $5 per Mtok
    ledger: CostLedger = backend.session.ledger  # type: ignore[union-attr]
    assert ledger.total_usd == pytest.approx(0.002)
    summary = ledger.summary()
    assert summary["calls"] == 1 and summary["by_model"]["claude-haiku-4-5"]["cost_usd"] == pytest.approx(0.002)
    assert summary["prices_as_of"] == table.as_of


def test_the_budget_stops_further_calls() -> None:
    fake = Recorder("anthropic")
    backend = _backend("anthropic", fake, LlmOptions(budget_usd=0.003))
    backend.quant.rank(VIEW)  # $0.002
    backend.quant.rank(VIEW)  # $0.004: over the budget after this call
    with pytest.raises(RunBudgetExceededError, match=r"budget_usd \$0\.0030.*sector_quant:technology"):
        backend.quant.rank(VIEW)
    assert len(fake.requests) == 2  # the third call never went out


# --- the stage: preflight, full run on the bundled sample -------------------------------------------------

def _now() -> datetime:
    return datetime(2023, 1, 1, 6, tzinfo=UTC)


def _settings(workspace: Path, options: str = "") -> Settings:
    (workspace / "config.toml").write_text(f"[stages.research]\n{options}", encoding="utf-8")
    return load_settings(workspace=workspace, env={})


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("llm-ingested") / "ws"
    workspace.mkdir()
    settings = _settings(workspace)
    for slug in ("data-phase1", "scanner"):
        report = run_stage(slug, RUN_DATE, settings=settings)
        assert report.status == "ok", report.error
    return workspace


def test_an_absent_api_key_fails_preflight(ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    shutil.copytree(ingested, tmp_path / "ws")
    settings = _settings(tmp_path / "ws", 'backend = "anthropic"\n')
    report = run_stage("research", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status != "ok" and "$ANTHROPIC_API_KEY is not set" in (report.error or "")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    report = run_stage("research", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    with pytest.raises(LlmConfigError, match="base_url: required"):
        llm_backend("openai_compatible", LlmOptions(model="m"), {}, run_date=RUN_DATE)


def test_a_full_run_with_the_openai_compatible_backend(ingested: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Recorder("openai_compatible")
    monkeypatch.setattr(Research, "llm_transport", httpx.MockTransport(fake))
    shutil.copytree(ingested, tmp_path / "ws")
    settings = _settings(tmp_path / "ws", 'backend = "openai_compatible"\n[stages.research.llm]\n'
                                          'model = "llama3.1:8b"\nbase_url = "http://ollama.test:11434/v1"\n')
    report = run_stage("research", RUN_DATE, settings=settings, now=_now)
    assert report.status == "ok", report.error
    llm = report.summary["llm"]
    assert llm["provider"] == "openai_compatible" and llm["calls"] == len(fake.requests) >= 1 + 6 * 3 + 1
    assert llm["input_tokens"] == 1000 * llm["calls"] and llm["cost_usd"] == 0.0
    artifacts = settings.workspace / "artifacts"
    signals = json.loads((artifacts / SIGNALS.format(RUN_DATE)).read_text())
    assert signals["backend"] == "llm-openai_compatible:llama3.1:8b"
    assert signals["sector_ratings"]["Information Technology"]["rating"] == "overweight"
    root = artifacts / "decision_artifacts/2022/12/31"
    cio = DecisionArtifact.model_validate_json((root / "ic_cio/2022-12-31-research.json").read_text())
    assert cio.is_llm_decision() and cio.model_metadata is not None and cio.full_prompt_context is not None
    assert cio.model_metadata.prompt_id == "ic_cio" and cio.model_metadata.input_tokens == 1000
    assert "CioOutput" in cio.full_prompt_context.system_prompt
    assert json.loads(cio.full_prompt_context.user_prompt)["picks"]  # the exact user message sent
    quant = DecisionArtifact.model_validate_json(
        (root / "sector_quant:technology/2022-12-31-research.json").read_text())
    assert quant.is_llm_decision() and quant.model_metadata.sector_team_id == "technology"  # type: ignore[union-attr]
    aggregator = DecisionArtifact.model_validate_json(
        (root / "score_aggregator/2022-12-31-research.json").read_text())
    assert not aggregator.is_llm_decision() and aggregator.rule_set is None
    assert "deterministic node" in aggregator.input_data_summary
    # the cost telemetry: one JSONL line per call, one file per agent, keyed by the run date and run id
    raw = artifacts / "decision_artifacts/_cost_raw/2022-12-31/2022-12-31-research"
    rows = [json.loads(line) for f in sorted(raw.iterdir()) for line in f.read_text().splitlines()]
    assert len(rows) == llm["calls"] and sorted(r["call_seq"] for r in rows) == list(range(1, llm["calls"] + 1))
    assert list(rows[0]) == list(COST_COLUMNS) and {r["timestamp"] for r in rows} == {"2022-12-31T00:00:00Z"}
    cio_rows = [r for r in rows if r["agent_id"] == "ic_cio"]
    assert (raw / "ic_cio.jsonl").exists() and cio_rows[0]["prompt_version_hash"] == \
        cio.full_prompt_context.prompt_version_hash and cio_rows[0]["model_name"] == "llama3.1:8b"
    assert sum(r["input_tokens"] for r in rows) == llm["input_tokens"]


def test_a_dry_run_with_an_llm_backend_calls_nothing_and_writes_no_cost_telemetry(
        ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = Recorder("anthropic")
    monkeypatch.setattr(Research, "llm_transport", httpx.MockTransport(fake))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    shutil.copytree(ingested, tmp_path / "ws")
    settings = _settings(tmp_path / "ws", 'backend = "anthropic"\n')
    report = run_stage("research", RUN_DATE, settings=settings, now=_now, execution_input={"research_dry": True})
    assert report.status == "ok", report.error
    assert fake.requests == [] and not (settings.workspace / "artifacts/decision_artifacts/_cost_raw").exists()


def test_cost_telemetry_bytes_are_deterministic_and_rows_are_checked() -> None:
    call = {"agent_id": "sector_quant:technology", "sector_team_id": "technology", "node_name": "sector_team_node",
            "run_type": "weekly_research", "prompt_id": "sector_quant", "prompt_version": "1.0.0",
            "prompt_version_hash": "h", "provider": "anthropic", "model_name": "claude-haiku-4-5", "call_seq": 1,
            "input_tokens": 10, "output_tokens": 2, "cache_read_tokens": 0, "cache_create_tokens": 0,
            "web_search_requests": 0, "web_fetch_requests": 0, "cost_usd": 0.00002}
    first = cost_telemetry_files([call, {**call, "call_seq": 2}], RUN_DATE, "r1")
    assert first == cost_telemetry_files([call, {**call, "call_seq": 2}], RUN_DATE, "r1")
    assert list(first) == ["decision_artifacts/_cost_raw/2022-12-31/r1/sector_quant:technology.jsonl"]
    assert first[next(iter(first))].count(b"\n") == 2
    with pytest.raises(ValueError, match=r"unexpected \['surprise'\]"):
        cost_telemetry_files([{**call, "surprise": 1}], RUN_DATE, "r1")
    with pytest.raises(ContractError, match="cost_raw_line.schema.json"):  # each line's contract
        cost_telemetry_files([{**call, "input_tokens": -1}], RUN_DATE, "r1")


def test_the_price_table_picks_the_card_in_effect_on_the_call_date() -> None:
    text = json.dumps({"as_of": "2026-12-05", "source": "test", "models": {"anthropic": {"m": [
        {"effective_from": "2026-06-01", "input": 2.0, "output": 10.0},
        {"effective_from": "2025-01-01", "input": 1.0, "output": 5.0}]}}})
    table = PriceTable.load(text)
    usage = Completion(text="", model="m", input_tokens=1_000_000, output_tokens=0)
    assert table.cost("anthropic", "m", usage, date(2025, 1, 1)) == 1.0  # the first card, on its first day
    assert table.cost("anthropic", "m", usage, date(2026, 5, 31)) == 1.0  # the day before the change
    assert table.cost("anthropic", "m", usage, date(2026, 6, 1)) == 2.0  # the new card from its date
    with pytest.raises(LlmConfigError, match=r"on 2024-12-31 .*first card takes effect 2025-01-01"):
        table.price("anthropic", "m", date(2024, 12, 31))
    twice = json.dumps({"as_of": "x", "source": "x", "models": {"anthropic": {"m": [
        {"effective_from": "2025-01-01", "input": 1.0, "output": 5.0},
        {"effective_from": "2025-01-01", "input": 2.0, "output": 5.0}]}}})
    with pytest.raises(LlmConfigError, match="same day"):
        PriceTable.load(twice)
    undated = json.dumps({"as_of": "x", "source": "x", "models": {"anthropic": {"m": [{"input": 1.0, "output": 5.0}]}}})
    with pytest.raises(LlmConfigError, match="effective_from"):
        PriceTable.load(undated)
    searches = PriceTable.load()
    search_usage = Completion(text="", model="claude-haiku-4-5", input_tokens=0, output_tokens=0)
    object.__setattr__(search_usage, "web_search_requests", 3)  # upstream: $10 per 1,000 web searches
    assert searches.cost("anthropic", "claude-haiku-4-5", search_usage, RUN_DATE) == pytest.approx(0.03)
