"""The LLM backend's transport layer: one small client interface, two providers, the price table
and the run's cost ledger.

* :class:`AnthropicClient`: the official ``anthropic`` SDK (Messages API);
* :class:`OpenAICompatibleClient`: plain httpx against ``{base_url}/v1/chat/completions`` (a local
  Ollama or vLLM server, or any endpoint speaking that protocol).

Both take an optional ``httpx`` transport (tests pass ``httpx.MockTransport``) and return a
:class:`Completion`: the text and the token counts from the API's usage fields (a response
without usage is an error: tokens are what cost is computed from). Provider errors are translated
to :class:`LlmCallError` here, at one boundary. The API key is held by the client and never
appears in an error or a log line.

:class:`PriceTable` reads ``data/llm_prices.json`` (dated cards, with their source); :class:`CostLedger`
prices each call from its tokens with the cards in effect on the run date, keeps the run's totals and refuses a call once the spend has
reached the budget (:class:`RunBudgetExceededError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any, Protocol

import httpx

from ._errors import LlmCallError, LlmConfigError, RunBudgetExceededError

__all__ = ["PRICES_FILE", "AnthropicClient", "CallCost", "Completion", "CostLedger", "LlmClient",
           "OpenAICompatibleClient", "PriceTable", "Usage"]

PRICES_FILE = "llm_prices.json"
_SNAPSHOT_SUFFIX = re.compile(r"-\d{8}$")  # claude-haiku-4-5-20251001 -> claude-haiku-4-5


@dataclass(frozen=True)
class Completion:
    """One model response: its text, the model the API says answered, and the usage fields."""

    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_create_tokens: int = 0


class LlmClient(Protocol):
    provider: str

    def complete(self, *, model: str, system: str, messages: Sequence[Mapping[str, str]], max_tokens: int,
                 temperature: float) -> Completion:
        """One chat completion; ``messages`` alternate ``user``/``assistant`` and end with ``user``."""
        ...


class AnthropicClient:
    """The Messages API through the ``anthropic`` SDK (its own retries on 429/5xx: ``sdk_retries``)."""

    provider = "anthropic"

    def __init__(self, api_key: str, *, base_url: str = "", timeout: float = 120.0, sdk_retries: int = 2,
                 transport: httpx.BaseTransport | None = None) -> None:
        import anthropic

        http_client = None if transport is None else httpx.Client(transport=transport, timeout=timeout)
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout,
                                           max_retries=sdk_retries, http_client=http_client)

    def complete(self, *, model: str, system: str, messages: Sequence[Mapping[str, str]], max_tokens: int,
                 temperature: float) -> Completion:
        import anthropic

        try:
            response = self._client.messages.create(
                model=model, system=system, max_tokens=max_tokens, temperature=temperature,
                messages=[{"role": m["role"], "content": m["content"]} for m in messages])  # type: ignore[typeddict-item]
        except anthropic.APIStatusError as exc:
            raise LlmCallError(f"anthropic: model {model}: HTTP {exc.status_code}: {_excerpt(exc.message)}") from None
        except anthropic.APIError as exc:
            raise LlmCallError(f"anthropic: model {model}: {type(exc).__name__}: {_excerpt(str(exc))}") from None
        usage = getattr(response, "usage", None)
        if usage is None or usage.input_tokens is None or usage.output_tokens is None:
            raise LlmCallError(f"anthropic: model {model}: the response carries no usage (tokens are required "
                               "for cost tracking)")
        text = "".join(str(getattr(block, "text", "")) for block in response.content if block.type == "text")
        return Completion(text=text, model=str(response.model), input_tokens=int(usage.input_tokens),
                          output_tokens=int(usage.output_tokens),
                          cache_read_tokens=int(getattr(usage, "cache_read_input_tokens", None) or 0),
                          cache_create_tokens=int(getattr(usage, "cache_creation_input_tokens", None) or 0))


class OpenAICompatibleClient:
    """``POST {base_url}/v1/chat/completions`` with plain httpx, asking for a JSON object
    (``response_format: json_object``, which Ollama and vLLM honour). ``base_url`` is the server
    root (a trailing ``/v1`` is accepted). No key: no Authorization header (a local server)."""

    provider = "openai_compatible"

    def __init__(self, base_url: str, *, api_key: str = "", timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not base_url:
            raise LlmConfigError("openai_compatible: base_url is empty (e.g. http://localhost:11434 for Ollama)")
        root = base_url.rstrip("/")
        root = root[:-3] if root.endswith("/v1") else root
        self.url = f"{root}/v1/chat/completions"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)

    def complete(self, *, model: str, system: str, messages: Sequence[Mapping[str, str]], max_tokens: int,
                 temperature: float) -> Completion:
        body = {"model": model, "max_tokens": max_tokens, "temperature": temperature,
                "response_format": {"type": "json_object"},
                "messages": [{"role": "system", "content": system}, *({"role": m["role"], "content": m["content"]}
                                                                     for m in messages)]}
        where = f"openai_compatible: model {model} at {self.url}"
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise LlmCallError(f"{where}: {type(exc).__name__}: {_excerpt(str(exc))}") from None
        if response.status_code != 200:
            raise LlmCallError(f"{where}: HTTP {response.status_code}: {_excerpt(response.text)}")
        try:
            doc = response.json()
            text = doc["choices"][0]["message"]["content"]
            usage = doc["usage"]
            prompt_tokens, completion_tokens = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlmCallError(f"{where}: unreadable response (need choices[0].message.content and "
                               f"usage.prompt_tokens/completion_tokens): {type(exc).__name__}: {exc}; "
                               f"body {_excerpt(response.text)}") from None
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return Completion(text=str(text or ""), model=str(doc.get("model") or model),
                          input_tokens=prompt_tokens - int(cached), output_tokens=completion_tokens,
                          cache_read_tokens=int(cached))


def _excerpt(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


class Usage(Protocol):
    """What a call is priced from: its token counts (and, optionally, its server-tool requests)."""

    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_create_tokens(self) -> int: ...


@dataclass(frozen=True)
class PriceTable:
    """USD per million tokens by provider and model (``*``: any model of that provider), as dated
    cards: each model lists cards with the date they take ``effective_from``; a call is priced
    with the card in effect on the call's date (the latest one on or before it)."""

    as_of: str
    source: str
    models: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]

    @classmethod
    def load(cls, text: str | None = None) -> PriceTable:
        """The bundled ``data/llm_prices.json`` (or ``text``, the same format); LlmConfigError
        naming the model when a model's cards are not a list of dated cards."""
        if text is None:
            text = resources.files("alpha_engine.research").joinpath("data", PRICES_FILE).read_text("utf-8")
        doc = json.loads(text)
        models: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
        for provider, cards_of in doc["models"].items():
            for model, cards in cards_of.items():
                where = f"research/data/{PRICES_FILE}: {provider} model {model!r}"
                if not isinstance(cards, list) or not cards:
                    raise LlmConfigError(f"{where}: expected a non-empty list of dated cards")
                try:
                    dated = sorted(cards, key=lambda c: date.fromisoformat(str(c["effective_from"])))
                except (KeyError, TypeError, ValueError) as exc:
                    raise LlmConfigError(f"{where}: every card needs effective_from as YYYY-MM-DD ({exc})") from None
                days = [c["effective_from"] for c in dated]
                if len(set(days)) != len(days):
                    raise LlmConfigError(f"{where}: two cards take effect on the same day")
                models.setdefault(provider, {})[model] = dated
        return cls(as_of=str(doc["as_of"]), source=str(doc["source"]), models=models)

    def price(self, provider: str, model: str, on: date) -> Mapping[str, Any]:
        """The card for ``model`` (a dated snapshot suffix is stripped) in effect on ``on``;
        LlmConfigError if the model has no card, or none yet on that date."""
        cards_of = self.models.get(provider, {})
        for name in (model, _SNAPSHOT_SUFFIX.sub("", model), "*"):
            if name in cards_of:
                in_effect = [c for c in cards_of[name] if date.fromisoformat(str(c["effective_from"])) <= on]
                if not in_effect:
                    raise LlmConfigError(
                        f"no price for {provider} model {model!r} on {on.isoformat()} in research/data/{PRICES_FILE}: "
                        f"its first card takes effect {cards_of[name][0]['effective_from']}; add an earlier card")
                return in_effect[-1]
        raise LlmConfigError(f"no price for {provider} model {model!r} in research/data/{PRICES_FILE} "
                             f"(as of {self.as_of}; priced: {', '.join(sorted(cards_of)) or 'none'}): "
                             "add a card or pick a priced model")

    def cost(self, provider: str, model: str, usage: Usage, on: date) -> float:
        """USD of one call: its tokens (and web searches) at the card in effect on ``on``."""
        card = self.price(provider, model, on)
        tokens = (usage.input_tokens * card["input"] + usage.output_tokens * card["output"]
                  + usage.cache_read_tokens * card.get("cache_read", card["input"])
                  + usage.cache_create_tokens * card.get("cache_create", card["input"])) / 1e6
        searches = int(getattr(usage, "web_search_requests", 0) or 0) * card.get("web_search_per_1k", 0.0) / 1e3
        return round(float(tokens + searches), 8)


@dataclass(frozen=True)
class CallCost:
    agent_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_create_tokens: int
    cost_usd: float


@dataclass
class CostLedger:
    """The run's LLM spend. ``budget_usd <= 0`` disables the ceiling (upstream's convention)."""

    prices: PriceTable
    provider: str
    budget_usd: float
    on: date  # the run date: every call of the run is priced with the cards in effect then
    calls: list[CallCost] = field(default_factory=list)

    @property
    def total_usd(self) -> float:
        return round(sum(c.cost_usd for c in self.calls), 8)

    def check(self, agent_id: str) -> None:
        """Refuse the next call once the spend has reached the budget."""
        if self.budget_usd > 0 and self.total_usd >= self.budget_usd:
            raise RunBudgetExceededError(
                f"LLM run budget exceeded: ${self.total_usd:.4f} spent over {len(self.calls)} calls reaches "
                f"budget_usd ${self.budget_usd:.4f} ([stages.research.llm]); refusing the call for {agent_id}")

    def record(self, agent_id: str, model: str, completion: Completion) -> CallCost:
        cost = CallCost(agent_id=agent_id, model=model, input_tokens=completion.input_tokens,
                        output_tokens=completion.output_tokens, cache_read_tokens=completion.cache_read_tokens,
                        cache_create_tokens=completion.cache_create_tokens,
                        cost_usd=self.prices.cost(self.provider, model, completion, self.on))
        self.calls.append(cost)
        return cost

    def summary(self) -> dict[str, Any]:
        """Totals for the stage summary: calls, tokens and dollars, overall and per model."""
        by_model: dict[str, dict[str, Any]] = {}
        for c in self.calls:
            row = by_model.setdefault(c.model, {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})
            row["calls"] += 1
            row["input_tokens"] += c.input_tokens + c.cache_read_tokens + c.cache_create_tokens
            row["output_tokens"] += c.output_tokens
            row["cost_usd"] = round(row["cost_usd"] + c.cost_usd, 8)
        return {"provider": self.provider, "calls": len(self.calls),
                "input_tokens": sum(c.input_tokens for c in self.calls),
                "output_tokens": sum(c.output_tokens for c in self.calls),
                "cache_read_tokens": sum(c.cache_read_tokens for c in self.calls),
                "cache_create_tokens": sum(c.cache_create_tokens for c in self.calls),
                "cost_usd": self.total_usd, "budget_usd": self.budget_usd, "prices_as_of": self.prices.as_of,
                "by_model": dict(sorted(by_model.items()))}
