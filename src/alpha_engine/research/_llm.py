"""The LLM research backend: every role of :mod:`._agents` as a model call with structured output.

Each role sends one system prompt (its instructions, versioned in :data:`PROMPTS`, plus the JSON
Schema of its output model) and one user message (the role's inputs as canonical JSON). The reply
must be a single JSON object; it is validated by the role's pydantic model and then by the role's
checks against its inputs (tickers it was given, every sector covered, ...). A reply that fails
either is sent back with the error, up to ``max_retries`` times; then :class:`LlmOutputError`
names the role, the model and the last error.

Every call is priced (:class:`CostLedger`) before the next one may start, so the run's budget
stops further calls. :meth:`LlmResearchBackend.describe` hands decision capture the model metadata
(provider, model, prompt version, tokens and cost summed over the decision's attempts) and the
full prompt context of the decision it just made.

The quant analyst's ``factors`` are replaced by the stored factor profile (the model is shown the
profile and ranks; it does not get to restate the data), so the factor-quality floor downstream
reads measured values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ._agents import ResearchBackend
from ._errors import LlmConfigError, LlmOutputError
from ._llm_client import AnthropicClient, CostLedger, LlmClient, OpenAICompatibleClient, PriceTable
from ._llm_options import LlmOptions
from ._models import (
    CioOutput,
    HeldPosition,
    MacroOutput,
    PeerReviewOutput,
    PriorThesis,
    QualOutput,
    QuantOutput,
    RegimePrior,
    ScoredTicker,
    TeamView,
    ThesisUpdate,
)
from ._rules import factor_profile

if TYPE_CHECKING:
    import httpx


__all__ = ["DEFAULT_API_KEY_ENV", "DEFAULT_MODELS", "LlmResearchBackend", "LlmSession", "PROMPTS", "Prompt", "ThesisDecision", "json_reply_text", "llm_backend", "resolve_llm"]

M = TypeVar("M", bound=BaseModel)

# provider -> (per-stock model for the sector-team roles, strategic model for macro and CIO)
DEFAULT_MODELS = {"anthropic": ("claude-haiku-4-5", "claude-sonnet-4-6")}
DEFAULT_API_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai_compatible": ""}
RUN_TYPE = "weekly_research"
TOP_N = 10


class ThesisDecision(BaseModel):
    """The thesis maintainer's reply: a new thesis, or null when no material trigger fires."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    update: ThesisUpdate | None


@dataclass(frozen=True)
class Prompt:
    prompt_id: str
    version: str
    node_name: str
    instructions: str


_COMMON = ("You are part of a weekly equity research team. Use only the data in the user message; "
           "numbers you cite must come from it. ")
PROMPTS: dict[str, Prompt] = {p.prompt_id: p for p in (
    Prompt("macro_economist", "1.0.0", "macro_economist_node", _COMMON + (
        "You are the macro economist. Call the market regime (bull, neutral or bear), treating the regime "
        "substrate's probabilities as a strong prior and market breadth (share of names above their 200-day "
        "mean) and 20-day momentum as evidence. Give every listed sector a modifier in 0.7-1.3 (1.0 neutral) "
        "and a rating: overweight at 1.08 or more, underweight at 0.92 or less, market_weight otherwise; "
        "sector_modifiers[s] must equal sector_ratings[s].modifier, for every listed sector and no other.")),
    Prompt("sector_quant", "1.0.0", "sector_team_node", _COMMON + (
        "You are the team's quant analyst. Rank the candidates by their factor profile (momentum, stability, "
        "value, low_vol: cross-sectional z-scores, higher is better) weighted for the regime, and return the "
        "best `top_n` of them, best first, each with a quant_score from 0 to 100 (null only when every factor "
        "is missing) and a one-sentence rationale citing the factors. Use only the listed tickers, each once; "
        "team must be the team named in the input; factors may be an empty object (the stored profile is used).")),
    Prompt("sector_qual", "1.1.0", "sector_team_node", _COMMON + (
        "You are the team's qualitative analyst. Assess the quant top 5: qual_score and conviction from 0 to "
        "100, or null when the data give you no evidence; list your evidence. `evidence` holds, per ticker, "
        "the chunks retrieved from the research corpus (chunk_id, source_id, score, excerpt); an empty list "
        "means no evidence was retrieved. Cite the chunk_id of each piece you rely on. You may add at most "
        "one extra candidate from `other_candidates` (in extra_candidates, with its own assessment).")),
    Prompt("sector_peer_review", "1.0.0", "sector_team_node", _COMMON + (
        "You are the team's peer review. Pick the team's 2-3 best names from the quant top (fewer only when "
        "there are fewer candidates), using the quant scores and the qualitative assessments.")),
    Prompt("thesis_update", "1.0.0", "sector_team_node", _COMMON + (
        "You maintain the investment thesis of a held name. Write a new thesis only when a material trigger "
        "fires (score change of more than 10 points, a 5-day move beyond twice the 5-day volatility, a sector "
        "rating change); otherwise reply {\"update\": null}. triggers lists what fired.")),
    Prompt("ic_cio", "1.0.0", "cio_node", _COMMON + (
        "You are the CIO. Decide every team pick exactly once: ADVANCE (a new entrant), ADVANCE_FORCED "
        "(force-filled to reach the minimum of new entrants; only with final_score 60 or more) or REJECT, "
        "judging risk/reward, team conviction, macro alignment and portfolio fit. Held names are not new "
        "entrants. Respect `limits`. rank is 1 for the best; conviction 0-100; rule_tags are short labels.")),
)}


def _system(prompt: Prompt, schema: dict[str, Any]) -> str:
    return (f"{prompt.instructions}\n\nReply with one JSON object and nothing else (no prose, no code fences). "
            f"It must validate against this JSON Schema:\n{json.dumps(schema, sort_keys=True)}")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def json_reply_text(text: str) -> str:
    """The reply without surrounding whitespace or a Markdown code fence."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body[:body.rfind("```")] if "```" in body else body
    return body.strip()


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors())
    return str(exc)


@dataclass
class LlmSession:
    """What the roles share: the client, the models, the ledger, and the decisions awaiting capture."""

    client: LlmClient
    model: str
    strategic_model: str
    ledger: CostLedger
    max_retries: int = 2
    max_tokens: int = 4096
    temperature: float = 0.0
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # One row per model call, in call order (the cost telemetry: research._cost_telemetry writes them).
    calls: list[dict[str, Any]] = field(default_factory=list)

    def ask(self, agent_id: str, prompt_id: str, payload: Mapping[str, Any], output: type[M],
            check: Callable[[M], None], *, strategic: bool = False, team: str | None = None) -> M:
        """One decision: call, validate (model, then ``check``), retry with the error fed back."""
        prompt = PROMPTS[prompt_id]
        model = self.strategic_model if strategic else self.model
        system = _system(prompt, output.model_json_schema())
        prompt_hash = hashlib.sha256(system.encode("utf-8")).hexdigest()
        user = _canonical(payload)
        messages = [{"role": "user", "content": user}]
        used = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_create_tokens": 0}
        cost, version, error = 0.0, model, ""
        attempts = 1 + self.max_retries
        for _ in range(attempts):
            self.ledger.check(agent_id)
            completion = self.client.complete(model=model, system=system, messages=messages,
                                              max_tokens=self.max_tokens, temperature=self.temperature)
            call = self.ledger.record(agent_id, model, completion)
            self.calls.append({"agent_id": agent_id, "sector_team_id": team, "node_name": prompt.node_name,
                               "run_type": RUN_TYPE, "prompt_id": prompt.prompt_id, "prompt_version": prompt.version,
                               "prompt_version_hash": prompt_hash, "provider": self.client.provider,
                               "model_name": model, "call_seq": len(self.calls) + 1,
                               "input_tokens": call.input_tokens, "output_tokens": call.output_tokens,
                               "cache_read_tokens": call.cache_read_tokens,
                               "cache_create_tokens": call.cache_create_tokens, "web_search_requests": 0,
                               "web_fetch_requests": 0, "cost_usd": call.cost_usd})
            for key in used:
                used[key] += getattr(call, key)
            cost, version = round(cost + call.cost_usd, 8), completion.model
            try:
                parsed = output.model_validate_json(json_reply_text(completion.text))
                check(parsed)
            except ValueError as exc:  # pydantic's ValidationError (bad JSON included) is a ValueError
                error = _error_text(exc)
                messages += [{"role": "assistant", "content": completion.text},
                             {"role": "user", "content": f"Your reply failed validation: {error}\n"
                                                         "Reply again with only the corrected JSON object."}]
                continue
            self.decisions[agent_id] = {
                "model_metadata": {"model_name": model, "model_version": version, **used, "cost_usd": cost,
                                   "run_type": RUN_TYPE, "node_name": prompt.node_name, "sector_team_id": team,
                                   "prompt_id": prompt.prompt_id, "prompt_version": prompt.version},
                "full_prompt_context": {"system_prompt": system, "user_prompt": user, "tool_definitions": [],
                                        "prompt_version_hash": prompt_hash}}
            return parsed
        raise LlmOutputError(f"research role {prompt_id} ({agent_id}): the {self.client.provider} model {model} "
                             f"gave no valid {output.__name__} in {attempts} attempts; last error: {error}")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class _Macro:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def assess(self, prior: RegimePrior, features: Mapping[str, Mapping[str, float | None]],
               sector_of: Mapping[str, str], sectors: Sequence[str]) -> MacroOutput:
        def check(out: MacroOutput) -> None:
            for name, keys in (("sector_modifiers", set(out.sector_modifiers)), ("sector_ratings", set(out.sector_ratings))):
                _require(keys == set(sectors), f"{name} must have exactly the sectors {sorted(sectors)}; "
                                               f"missing {sorted(set(sectors) - keys)}, extra {sorted(keys - set(sectors))}")
            for s in sectors:
                _require(abs(out.sector_modifiers[s] - out.sector_ratings[s].modifier) < 1e-9,
                         f"sector_modifiers[{s!r}] must equal sector_ratings[{s!r}].modifier")
                _require(0.7 <= out.sector_modifiers[s] <= 1.3, f"sector_modifiers[{s!r}] must be in 0.7-1.3")

        payload = {"regime_substrate": prior.model_dump(mode="json"), "sectors": list(sectors),
                   "tickers": {t: {"sector": sector_of.get(t), "price_vs_ma200": f.get("price_vs_ma200"),
                                   "momentum_20d": f.get("momentum_20d")} for t, f in sorted(features.items())}}
        return self.s.ask("macro_economist", "macro_economist", payload, MacroOutput, check, strategic=True)


class _Quant:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def rank(self, view: TeamView) -> QuantOutput:
        profiles = {t: {k: None if v is None else round(v, 6) for k, v in factor_profile(view.features[t]).items()}
                    for t in view.tickers}
        n = min(TOP_N, len(view.tickers))

        def check(out: QuantOutput) -> None:
            tickers = [p.ticker for p in out.top]
            _require(out.team == view.team, f"team must be {view.team!r}, got {out.team!r}")
            _require(len(tickers) == n, f"top must list exactly {n} tickers, got {len(tickers)}")
            _require(len(set(tickers)) == len(tickers), "top lists a ticker twice")
            unknown = sorted(set(tickers) - set(view.tickers))
            _require(not unknown, f"top names tickers not among the candidates: {unknown}")

        payload = {"team": view.team, "regime": view.regime, "top_n": n, "held": sorted(view.held & set(view.tickers)),
                   "candidates": {t: {"sector": view.sector_of.get(t), "factor_profile": profiles[t],
                                      "features": dict(sorted(view.features[t].items()))} for t in view.tickers}}
        out = self.s.ask(f"sector_quant:{view.team}", "sector_quant", payload, QuantOutput, check, team=view.team)
        return out.model_copy(update={"top": [p.model_copy(update={"factors": profiles[p.ticker]}) for p in out.top]})


class _Qual:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def review(self, view: TeamView, quant: QuantOutput) -> QualOutput:
        top5 = [p.ticker for p in quant.top[:5]]
        others = [t for t in view.tickers if t not in top5]

        def check(out: QualOutput) -> None:
            _require(out.team == view.team, f"team must be {view.team!r}, got {out.team!r}")
            _require(len(out.extra_candidates) <= 1, "at most one extra candidate")
            bad = sorted(set(out.extra_candidates) - set(others))
            _require(not bad, f"extra_candidates must come from other_candidates; not there: {bad}")
            assessed = [a.ticker for a in out.assessments]
            _require(len(set(assessed)) == len(assessed), "a ticker is assessed twice")
            stray = sorted(set(assessed) - set(top5) - set(out.extra_candidates))
            _require(not stray, f"assessments name tickers outside the quant top 5 and extra candidates: {stray}")

        payload = {"team": view.team, "regime": view.regime, "quant_top5": [p.model_dump(mode="json")
                                                                            for p in quant.top[:5]],
                   "features": {t: dict(sorted(view.features[t].items())) for t in top5}, "other_candidates": others,
                   "evidence": {t: [e.model_dump(mode="json") for e in view.evidence.get(t, ())] for t in top5}}
        return self.s.ask(f"sector_qual:{view.team}", "sector_qual", payload, QualOutput, check, team=view.team)


class _PeerReview:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def finalize(self, view: TeamView, quant: QuantOutput, qual: QualOutput) -> PeerReviewOutput:
        pool = [p.ticker for p in quant.top]
        least = min(2, len(pool))

        def check(out: PeerReviewOutput) -> None:
            _require(out.team == view.team, f"team must be {view.team!r}, got {out.team!r}")
            _require(least <= len(out.picks) <= 3, f"picks must hold {least}-3 tickers, got {len(out.picks)}")
            _require(len(set(out.picks)) == len(out.picks), "picks lists a ticker twice")
            stray = sorted(set(out.picks) - set(pool))
            _require(not stray, f"picks must come from the quant top; not there: {stray}")

        payload = {"team": view.team, "quant_top": [p.model_dump(mode="json") for p in quant.top],
                   "qual": qual.model_dump(mode="json")}
        return self.s.ask(f"sector_peer_review:{view.team}", "sector_peer_review", payload, PeerReviewOutput, check,
                          team=view.team)


class _Thesis:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def update(self, view: TeamView, ticker: str, prior: PriorThesis | None, score: float | None,
               sector_rating: str) -> ThesisUpdate | None:
        def check(out: ThesisDecision) -> None:
            if out.update is not None:
                _require(out.update.ticker == ticker, f"update.ticker must be {ticker!r}")
                _require(out.update.team == view.team, f"update.team must be {view.team!r}")

        payload = {"team": view.team, "ticker": ticker, "score": score, "sector_rating": sector_rating,
                   "prior_thesis": None if prior is None else prior.model_dump(mode="json"),
                   "features": dict(sorted(view.features[ticker].items()))}
        return self.s.ask(f"thesis_update:{view.team}:{ticker}", "thesis_update", payload, ThesisDecision, check,
                          team=view.team).update


class _Cio:
    def __init__(self, session: LlmSession) -> None:
        self.s = session

    def decide(self, picks: Sequence[ScoredTicker], population: Sequence[HeldPosition],
               macro: MacroOutput) -> CioOutput:
        wanted = [p.ticker for p in picks]
        held = {h.ticker for h in population}
        room = max(0, 8 - len(held))
        limits = {"max_population": 8, "max_new_entrants": min(TOP_N, room), "min_new_entrants": min(2, room),
                  "force_fill_min_score": 60}

        def check(out: CioOutput) -> None:
            decided = [d.ticker for d in out.decisions]
            _require(sorted(decided) == sorted(wanted), f"decide every pick exactly once: picks {sorted(wanted)}, "
                                                         f"decided {sorted(decided)}")
            entrants = [d.ticker for d in out.decisions if d.decision != "REJECT" and d.ticker not in held]
            _require(len(entrants) <= limits["max_new_entrants"],
                     f"{len(entrants)} new entrants exceed max_new_entrants {limits['max_new_entrants']}")

        payload = {"picks": [p.model_dump(mode="json") for p in picks],
                   "population": [h.model_dump(mode="json") for h in population],
                   "macro": {"market_regime": macro.market_regime,
                             "sector_ratings": {k: v.model_dump(mode="json") for k, v in macro.sector_ratings.items()}},
                   "limits": limits}
        return self.s.ask("ic_cio", "ic_cio", payload, CioOutput, check, strategic=True)


@dataclass(frozen=True)
class LlmResearchBackend(ResearchBackend):
    """A :class:`ResearchBackend` whose roles call a model; ``describe`` feeds decision capture."""

    session: LlmSession | None = None

    def describe(self, agent_id: str) -> dict[str, Any] | None:
        """The model metadata and prompt context of ``agent_id``'s latest decision (handed over once)."""
        return None if self.session is None else self.session.decisions.pop(agent_id, None)


@dataclass(frozen=True)
class _Resolved:
    provider: str
    model: str
    strategic_model: str
    base_url: str
    api_key_env: str


def resolve_llm(provider: str, options: LlmOptions, env: Mapping[str, str], on: date) -> tuple[_Resolved, str, PriceTable]:
    """Fill the provider defaults, read the API key from ``env`` and find both models' prices in
    effect on ``on`` (LlmConfigError naming the setting otherwise). Touches no network: the
    stage's preflight."""
    if provider not in DEFAULT_API_KEY_ENV:
        raise LlmConfigError(f"[stages.research] backend: unknown LLM provider {provider!r}; "
                             f"one of {', '.join(sorted(DEFAULT_API_KEY_ENV))}")
    model = options.model or DEFAULT_MODELS.get(provider, ("", ""))[0]
    strategic = options.strategic_model or DEFAULT_MODELS.get(provider, ("", ""))[1] or model
    if not model:
        raise LlmConfigError(f"[stages.research.llm] model: required for backend {provider!r} "
                             "(the served model's name, e.g. 'llama3.1:8b' on Ollama)")
    if provider == "openai_compatible" and not options.base_url:
        raise LlmConfigError("[stages.research.llm] base_url: required for backend 'openai_compatible' "
                             "(the server root, e.g. http://localhost:11434)")
    key_env = options.api_key_env or DEFAULT_API_KEY_ENV[provider]
    key = env.get(key_env, "") if key_env else ""
    if key_env and not key:
        raise LlmConfigError(f"backend {provider!r}: the API key variable ${key_env} is not set or empty "
                             "(the key is read from the environment only; [stages.research.llm] api_key_env "
                             "names the variable)")
    prices = PriceTable.load()
    for name in {model, strategic}:
        prices.price(provider, name, on)
    return _Resolved(provider, model, strategic, options.base_url, key_env), key, prices


def llm_backend(provider: str, options: LlmOptions, env: Mapping[str, str], *, run_date: date,
                transport: httpx.BaseTransport | None = None) -> LlmResearchBackend:
    """The backend for ``provider`` ('anthropic' | 'openai_compatible') configured by ``options``,
    pricing its calls with the cards in effect on ``run_date``; ``transport`` replaces the network
    (tests: ``httpx.MockTransport``)."""
    resolved, key, prices = resolve_llm(provider, options, env, run_date)
    client: LlmClient
    if provider == "anthropic":
        client = AnthropicClient(key, base_url=options.base_url, timeout=options.timeout_seconds,
                                 transport=transport)
    else:
        client = OpenAICompatibleClient(options.base_url, api_key=key, timeout=options.timeout_seconds,
                                        transport=transport)
    session = LlmSession(client=client, model=resolved.model, strategic_model=resolved.strategic_model,
                         ledger=CostLedger(prices, provider, options.budget_usd, run_date), max_retries=options.max_retries,
                         max_tokens=options.max_tokens, temperature=options.temperature)
    return LlmResearchBackend(name=f"llm-{provider}:{resolved.model}", macro=_Macro(session), quant=_Quant(session),
                              qual=_Qual(session), peer_review=_PeerReview(session), thesis=_Thesis(session),
                              cio=_Cio(session), session=session)
