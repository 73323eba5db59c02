"""ReplayConcordance's logic: would a cheaper target model decide as the agent did?

For each captured LLM decision of the window (newest first, at most ``max_artifacts`` overall,
capped while listing by :func:`scan_window`) and each target model: skip a deterministic decision
(no ``model_metadata``) and a placeholder prompt; resolve the family's output model (unknown
family: skip); send the *captured* system and user prompt to the target once (no corrective
retry); validate the reply against the output model (a failure is a ``replay_error``, the
"silent drift" upstream measures); score the agreement (:mod:`._replay_scorers`).

The loop is deadline-aware: before each item it stops when the time left is below
``max(30 s, p90 of the item latencies so far) + 45 s``, marking the result incomplete; the
budget (USD, priced from research's dated price table on the run date) stops it the same way.
Time comes from the stage's clock (``ctx.now``), never the wall clock, so tests drive it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ._corpus import agent_base, load_decision, scan_window
from ._errors import CorpusError
from ._namespaces import EVAL_NAMESPACE
from ._replay_scorers import agreement

if TYPE_CHECKING:
    from pydantic import BaseModel

    from alpha_engine.research import CostLedger, LlmClient
    from alpha_engine.store import ArtifactStore, Datapoint

__all__ = ["DEMOTION_THRESHOLD", "MIN_GROUP", "PLACEHOLDER_PROMPT", "ReplayRun", "TargetResult",
           "aggregate_scores", "output_model", "p90", "replay_datapoints", "replay_window", "should_stop"]

PLACEHOLDER_PROMPT = "not yet wired through track_llm_cost"
MIN_GROUP = 3  # groups with fewer observations are thin: listed, no metric
DEMOTION_THRESHOLD = 0.9
MIN_ITEM_RESERVE_S = 30.0
SAFETY_RESERVE_S = 45.0
MAX_LISTED = 50  # failures and skips listed in the summary (the counts are complete)


def output_model(family: str) -> type[BaseModel] | None:
    """The pydantic model a family's reply must validate against, or None for an unknown family."""
    from alpha_engine.research import (
        CioOutput,
        MacroOutput,
        PeerReviewOutput,
        QualOutput,
        QuantOutput,
        ThesisDecision,
    )

    models: dict[str, type[BaseModel]] = {
        "macro_economist": MacroOutput, "sector_quant": QuantOutput, "sector_qual": QualOutput,
        "sector_peer_review": PeerReviewOutput, "ic_cio": CioOutput, "thesis_update": ThesisDecision}
    return models.get(family)


REPLAYED_FAMILIES = ("ic_cio", "macro_economist", "sector_peer_review", "sector_qual", "sector_quant",
                     "thesis_update")


def p90(values: Sequence[float]) -> float:
    """The nearest-rank 90th percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def should_stop(remaining_s: float, latencies: Sequence[float]) -> bool:
    """Whether to stop before the next item: too little time left for one more plus the reserve."""
    return remaining_s < max(MIN_ITEM_RESERVE_S, p90(latencies)) + SAFETY_RESERVE_S


@dataclass
class TargetResult:
    """One target model's replay: counts, scores, and what was skipped or failed (and why)."""

    target: str
    candidates: int = 0
    skipped: int = 0
    replayed: int = 0
    replay_errors: int = 0
    call_failures: int = 0
    scores: list[tuple[str, float]] = field(default_factory=list)  # (family, score)
    failures: list[dict[str, str]] = field(default_factory=list)
    skips: list[dict[str, str]] = field(default_factory=list)
    served_models: set[str] = field(default_factory=set)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def skip(self, key: str, reason: str) -> None:
        self.skipped += 1
        if len(self.skips) < MAX_LISTED:
            self.skips.append({"key": key, "reason": reason})

    def fail(self, key: str, kind: str, reason: str) -> None:
        if len(self.failures) < MAX_LISTED:
            self.failures.append({"key": key, "kind": kind, "reason": reason[:500]})


@dataclass
class ReplayRun:
    """The whole replay: a result per target and why it stopped early, if it did."""

    results: dict[str, TargetResult]
    window: tuple[date, date]
    complete: bool = True
    budget_stopped: bool = False
    deadline_stopped: bool = False
    latencies: list[float] = field(default_factory=list)


def replay_window(store: ArtifactStore, client: LlmClient, ledger: CostLedger, *, targets: Sequence[str],
                  run_date: date, window_days: int, max_artifacts: int, max_tokens: int,
                  now: Callable[[], datetime], deadline: datetime) -> ReplayRun:
    """Replay the window's LLM decisions on each target (see the module docstring)."""
    from pydantic import ValidationError

    from alpha_engine.research import LlmCallError, RunBudgetExceededError, json_reply_text

    run = ReplayRun(results={t: TargetResult(t) for t in targets}, window=(run_date, run_date))

    def out_of_time() -> bool:
        return should_stop((deadline - now()).total_seconds(), run.latencies)

    scan = scan_window(store, end=run_date, window_days=window_days, total_cap=max_artifacts,
                       include=lambda agent_id: output_model(agent_base(agent_id)) is not None, deadline=out_of_time)
    run.window = (scan.start, scan.end)
    if out_of_time():
        run.complete, run.deadline_stopped = False, True
        return run
    for item in scan.keys:
        for result in run.results.values():
            result.candidates += 1
        try:
            decision = load_decision(store, item.key)
        except CorpusError as exc:
            for result in run.results.values():
                result.skip(item.key, f"unreadable: {exc}")
            continue
        meta, context = decision.model_metadata, decision.full_prompt_context
        family = agent_base(decision.agent_id)
        model = output_model(family)
        reason = ("deterministic decision (no model_metadata)" if meta is None or context is None
                  else "placeholder prompt" if PLACEHOLDER_PROMPT in f"{context.system_prompt}\n{context.user_prompt}"
                  else f"unknown agent family {family!r}" if model is None else "")
        if reason:
            for result in run.results.values():
                result.skip(item.key, reason)
            continue
        assert context is not None and model is not None
        for target, result in run.results.items():
            if out_of_time():
                run.complete, run.deadline_stopped = False, True
                return run
            try:
                ledger.check(f"replay of {decision.agent_id} on {target}")
            except RunBudgetExceededError:
                run.complete, run.budget_stopped = False, True
                return run
            started = now()
            try:
                completion = client.complete(model=target, system=context.system_prompt,
                                             messages=[{"role": "user", "content": context.user_prompt}],
                                             max_tokens=max_tokens, temperature=0.0)
            except LlmCallError as exc:
                run.latencies.append((now() - started).total_seconds())
                result.call_failures += 1
                result.fail(item.key, "call_failure", str(exc))
                continue
            run.latencies.append((now() - started).total_seconds())
            call = ledger.record(decision.agent_id, target, completion)
            result.calls += 1
            result.input_tokens += call.input_tokens + call.cache_read_tokens + call.cache_create_tokens
            result.output_tokens += call.output_tokens
            result.cost_usd = round(result.cost_usd + call.cost_usd, 8)
            result.served_models.add(completion.model)
            try:
                parsed = model.model_validate_json(json_reply_text(completion.text))
            except ValidationError as exc:
                result.replay_errors += 1
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(reply)"
                result.fail(item.key, "replay_error", f"{where}: {first['msg']} ({exc.error_count()} error(s))")
                continue
            dumped = parsed.model_dump(mode="json")
            replay: dict[str, Any] | None = dumped.get("update") if family == "thesis_update" else dumped
            result.replayed += 1
            result.scores.append((family, agreement(family, decision.agent_output, replay)))
    return run


def aggregate_scores(scores: Sequence[tuple[str, float]]) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Per family: n, mean, min, max, stdev (sample; 0 for one value) and whether it is a demotion
    candidate (mean above 0.9); families with fewer than 3 scores are thin (listed apart)."""
    groups: dict[str, list[float]] = {}
    for family, score in scores:
        groups.setdefault(family, []).append(score)
    per_agent: dict[str, dict[str, Any]] = {}
    thin: list[dict[str, Any]] = []
    for family, values in sorted(groups.items()):
        if len(values) < MIN_GROUP:
            thin.append({"judged_agent_id": family, "n": len(values)})
            continue
        mean = round(statistics.fmean(values), 6)
        per_agent[family] = {"n": len(values), "mean": mean, "min": min(values), "max": max(values),
                             "stdev": round(statistics.stdev(values), 6) if len(values) > 1 else 0.0,
                             "demotion_candidate": mean > DEMOTION_THRESHOLD}
    return per_agent, thin


def replay_datapoints(per_agent: Mapping[str, Mapping[str, Any]], target: str, timestamp: datetime) -> list[Datapoint]:
    """``agent_cheap_model_concordance`` and ``..._n_observations`` per (family, target); thin groups have none."""
    from alpha_engine.store import Datapoint

    points = []
    for family, agg in sorted(per_agent.items()):
        dims = {"judged_agent_id": family, "target_model": target}
        points.append(Datapoint.of(EVAL_NAMESPACE, "agent_cheap_model_concordance", agg["mean"], dims, timestamp))
        points.append(Datapoint.of(EVAL_NAMESPACE, "agent_cheap_model_concordance_n_observations", agg["n"], dims,
                                   timestamp, unit="Count"))
    return points
