"""The LLM judge: its rubric prompts, its output model, and the two ways of calling a model.

* The rubric per agent family is ours, in package data (``evals/prompts/judge_rubrics.json``,
  versioned; upstream's ``eval_rubric_*`` prompts are private). :func:`render_prompt` builds one
  decision's system and user prompt from it.
* A judge replies with one JSON object, :class:`LlmJudgeOutput`: an integer 1-5 and a reasoning
  per dimension of the family (exactly those dimensions), plus ``overall_reasoning``.
  :func:`parse_judge_output` rejects anything else (:class:`JudgeOutputError`).
* :func:`judge_sync` asks a model directly (research's :class:`~alpha_engine.research.LlmClient`),
  with up to ``attempts`` parse attempts: a malformed reply is fed back with the error.
* :class:`BatchClient` is the Anthropic Message Batches API through the ``anthropic`` SDK
  (create, retrieve, results); errors become :class:`~alpha_engine.research.LlmCallError` here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

if TYPE_CHECKING:
    import httpx

    from alpha_engine.research import Completion, DecisionArtifact, LlmClient

__all__ = [
    "RUBRICS_FILE",
    "BatchClient",
    "BatchResult",
    "JudgeOutputError",
    "LlmJudgeOutput",
    "LlmJudgeScore",
    "Rubrics",
    "judge_sync",
    "load_rubrics",
    "parse_judge_output",
    "render_prompt",
]

RUBRICS_FILE = "judge_rubrics.json"


class JudgeOutputError(ValueError):
    """A judge's reply is not the JSON object the rubric asks for (the message says how)."""


class LlmJudgeScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: StrictInt = Field(ge=1, le=5)
    reasoning: str = Field(min_length=1)


class LlmJudgeOutput(BaseModel):
    """What an LLM judge returns for one decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scores: dict[str, LlmJudgeScore]
    overall_reasoning: str = Field(min_length=1)


@dataclass(frozen=True)
class Rubrics:
    """The packaged rubric: its version, the system prompt, and per family a role and dimensions."""

    version: str
    system: str
    families: Mapping[str, Mapping[str, Any]]

    def dimensions(self, family: str) -> tuple[str, ...]:
        return tuple(sorted(self.families[family]["dimensions"]))


@cache
def load_rubrics() -> Rubrics:
    """The packaged ``prompts/judge_rubrics.json``."""
    doc = json.loads(resources.files("alpha_engine.evals").joinpath("prompts", RUBRICS_FILE).read_text("utf-8"))
    return Rubrics(version=str(doc["version"]), system=str(doc["system"]), families=doc["families"])


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def render_prompt(rubrics: Rubrics, family: str, decision: DecisionArtifact,
                  max_snapshot_chars: int) -> tuple[str, str]:
    """The system and user prompt judging ``decision`` (its snapshot cut at ``max_snapshot_chars``)."""
    spec = rubrics.families[family]
    snapshot = _canonical(decision.input_data_snapshot)
    if len(snapshot) > max_snapshot_chars:
        snapshot = f"{snapshot[:max_snapshot_chars]} ... [cut at {max_snapshot_chars} of {len(snapshot)} characters]"
    dims = "\n".join(f"- {name}: {spec['dimensions'][name]}" for name in rubrics.dimensions(family))
    user = (f"Agent: {decision.agent_id} (family {family})\nRole: {spec['role']}\n\n"
            f"Rubric dimensions (score each 1-5):\n{dims}\n\n"
            f"Input snapshot (JSON):\n{snapshot}\n\nAgent output (JSON):\n{_canonical(decision.agent_output)}\n\n"
            "Reply with the JSON object only.")
    return rubrics.system, user


def parse_judge_output(text: str, dimensions: Sequence[str]) -> LlmJudgeOutput:
    """The judge's reply as :class:`LlmJudgeOutput` scoring exactly ``dimensions``; a reply
    wrapped in a ```json fence is accepted. JudgeOutputError otherwise."""
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0].strip()
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise JudgeOutputError(f"not a JSON object: {exc}") from None
    try:
        output = LlmJudgeOutput.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise JudgeOutputError(f"{where}: {first['msg']} ({exc.error_count()} error(s))") from None
    missing = sorted(set(dimensions) - set(output.scores))
    extra = sorted(set(output.scores) - set(dimensions))
    if missing or extra:
        raise JudgeOutputError(f"scores must cover exactly {', '.join(dimensions)}; missing: "
                               f"{', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'}")
    return output


def judge_sync(client: LlmClient, *, model: str, system: str, user: str, dimensions: Sequence[str],
               attempts: int, max_tokens: int) -> tuple[LlmJudgeOutput | None, list[Completion], str]:
    """Ask ``model`` directly, up to ``attempts`` times while the reply is malformed (the error is
    fed back). Returns the output (None if every attempt was malformed), the completions (for
    cost) and the last parse error. LlmCallError (the call itself failed) propagates."""
    messages: list[dict[str, str]] = [{"role": "user", "content": user}]
    completions: list[Completion] = []
    error = ""
    for _ in range(attempts):
        completion = client.complete(model=model, system=system, messages=messages, max_tokens=max_tokens,
                                     temperature=0.0)
        completions.append(completion)
        try:
            return parse_judge_output(completion.text, dimensions), completions, ""
        except JudgeOutputError as exc:
            error = str(exc)
            messages += [{"role": "assistant", "content": completion.text or "(empty)"},
                         {"role": "user", "content": f"That reply is malformed: {error}. Reply again with the JSON "
                                                     "object only, exactly as asked."}]
    return None, completions, error


@dataclass(frozen=True)
class BatchResult:
    """One request line of an ended batch: ``kind`` is succeeded, errored, canceled or expired."""

    custom_id: str
    kind: str
    text: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    error: str = ""


class BatchClient:
    """The Message Batches API (``client.messages.batches``) through the ``anthropic`` SDK."""

    def __init__(self, api_key: str, *, base_url: str = "", timeout: float = 120.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        import anthropic
        import httpx

        http_client = None if transport is None else httpx.Client(transport=transport, timeout=timeout)
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout,
                                           http_client=http_client)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import anthropic

        from alpha_engine.research import LlmCallError

        try:
            return fn(*args, **kwargs)
        except anthropic.APIStatusError as exc:
            raise LlmCallError(f"anthropic message batches: {what}: HTTP {exc.status_code}: {exc.message}") from None
        except anthropic.APIError as exc:
            raise LlmCallError(f"anthropic message batches: {what}: {type(exc).__name__}: {exc}") from None

    def create(self, requests: Sequence[Mapping[str, Any]]) -> str:
        """Submit the requests (``custom_id`` and ``params`` each); returns the batch id."""
        batch = self._call(f"create ({len(requests)} requests)", self._client.messages.batches.create,
                           requests=list(requests))
        return str(batch.id)

    def status(self, batch_id: str) -> str:
        """``in_progress``, ``canceling`` or ``ended``."""
        batch = self._call(f"retrieve {batch_id}", self._client.messages.batches.retrieve, batch_id)
        return str(batch.processing_status)

    def results(self, batch_id: str) -> list[BatchResult]:
        """Every request line of the ended batch ``batch_id``, sorted by custom_id."""
        out: list[BatchResult] = []
        for line in self._call(f"results of {batch_id}", self._client.messages.batches.results, batch_id):
            result = line.result
            if result.type == "succeeded":
                message = result.message
                text = "".join(str(getattr(b, "text", "")) for b in message.content if b.type == "text")
                out.append(BatchResult(line.custom_id, "succeeded", text=text, model=str(message.model),
                                       input_tokens=int(message.usage.input_tokens or 0),
                                       output_tokens=int(message.usage.output_tokens or 0)))
            elif result.type == "errored":
                err = result.error.error
                out.append(BatchResult(line.custom_id, "errored", error=f"{err.type}: {err.message}"))
            else:
                out.append(BatchResult(line.custom_id, str(result.type), error=str(result.type)))
        return sorted(out, key=lambda r: r.custom_id)
