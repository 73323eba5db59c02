"""ReplayConcordance (soft, Lambda-class, 900 s): replays captured LLM decisions on cheaper target
models and reports how often they agree (logic in :mod:`._replay`, scorers in :mod:`._replay_scorers`).

Writes, per target model, :data:`REPLAY_SUMMARY` (``_replay_summary/{run_date}/{target}.json``)
and updates :data:`REPLAY_LATEST` (target -> its latest summary key); emits
``AlphaEngine/Eval agent_cheap_model_concordance`` (+ ``_n_observations``) per (agent family,
target) with at least 3 observations. SKIPPED without a backend (the default: replays cost money
and need a key) or without an LLM decision in the window; nothing is written then.

Module level imports only the framework and the eval declarations; research's clients, httpx and
anthropic are imported in ``run()`` (and under the dry path, which then returns before anything).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.pipeline import (
    METRICS,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
)

from ._artifacts import REPLAY_LATEST, REPLAY_SUMMARY
from ._dry_run import dry_run_llm, dry_run_outcome

if TYPE_CHECKING:
    import httpx

    from alpha_engine.research import LlmClient

    from ._replay import ReplayRun, TargetResult

__all__ = ["ReplayConcordance", "ReplayConcordanceOptions"]

DEFAULT_API_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai_compatible": ""}


class ReplayConcordanceOptions(BaseModel):
    """``[stages.replay-concordance]`` (defaults: upstream's Step Functions input)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dry_run_llm: bool = False
    target_models: tuple[str, ...] = Field(default=("claude-haiku-4-5",), min_length=1)
    window_days: int = Field(default=56, ge=1)
    # A global cap on the decisions replayed, newest first, applied while listing (sized for 900 s).
    max_artifacts: int = Field(default=150, ge=1)
    # "none": SKIPPED (replays cost money and need a key); else the target models' provider.
    backend: Literal["none", "anthropic", "openai_compatible"] = "none"
    base_url: str = ""
    # The environment variable holding the key (default ANTHROPIC_API_KEY for anthropic; none for
    # openai_compatible). The key itself is never a setting.
    api_key_env: str = ""
    max_tokens: int = Field(default=8192, ge=1)
    # The run's ceiling on replay spend in USD (research/data/llm_prices.json); <= 0 disables it.
    budget_usd: float = 5.0
    request_timeout_seconds: float = Field(default=120.0, gt=0)


class ReplayConcordance(Stage[ReplayConcordanceOptions]):
    name = "ReplayConcordance"
    slug = "replay-concordance"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 900
    description = ("Replays captured LLM decisions on cheaper target models (one attempt, schema-validated) and "
                   "reports per-agent agreement; emits AlphaEngine/Eval agent_cheap_model_concordance")
    Options = ReplayConcordanceOptions
    receives_execution_input = True  # research_dry
    consumes = ()  # the corpus is read by a bounded scan (evals._corpus), never declared
    produces = ()  # written only with a backend and LLM decisions in the window (docs/evals.md)
    updates = (REPLAY_SUMMARY, REPLAY_LATEST)
    # Replaces the network (tests set an httpx.MockTransport); None: the real one.
    llm_transport: ClassVar[httpx.BaseTransport | None] = None

    def preflight(self, ctx: StageContext[ReplayConcordanceOptions]) -> None:
        if dry_run_llm(ctx) or ctx.options.backend == "none":
            return
        self._key(ctx)
        from alpha_engine.research import LlmConfigError, PriceTable

        prices = PriceTable.load()
        for target in ctx.options.target_models:
            try:
                prices.price(ctx.options.backend, target, ctx.run_date)
                ctx.key(REPLAY_SUMMARY, target_model=target)
            except LlmConfigError as exc:
                raise PreflightError(f"[stages.replay-concordance] target_models: {exc}") from exc
            except ValueError as exc:
                raise PreflightError(f"[stages.replay-concordance] target_models: {target!r} cannot name a "
                                     f"summary key: {exc}") from exc

    def _key(self, ctx: StageContext[ReplayConcordanceOptions]) -> str:
        options = ctx.options
        if options.backend == "openai_compatible" and not options.base_url:
            raise PreflightError("[stages.replay-concordance] base_url: required for backend 'openai_compatible' "
                                 "(the server root, e.g. http://localhost:11434)")
        env_name = options.api_key_env or DEFAULT_API_KEY_ENV[options.backend]
        key = os.environ.get(env_name, "") if env_name else ""
        if env_name and not key:
            raise PreflightError(f"replay-concordance backend {options.backend!r}: the API key variable ${env_name} "
                                 "is not set or empty ([stages.replay-concordance] api_key_env names it)")
        return key

    def run(self, ctx: StageContext[ReplayConcordanceOptions]) -> StageOutcome:
        import anthropic  # noqa: F401  (the real heavy imports, also under the dry path)
        import httpx  # noqa: F401

        from alpha_engine.research import AnthropicClient, CostLedger, OpenAICompatibleClient, PriceTable

        from ._replay import replay_window

        if dry_run_llm(ctx):
            return dry_run_outcome(self.name, ["alpha_engine.evals._replay", "alpha_engine.research", "anthropic",
                                               "httpx"])
        options = ctx.options
        if options.backend == "none":
            return StageOutcome(summary={"status": "SKIPPED", "reason": "no backend: set [stages.replay-concordance] "
                                         "backend to 'anthropic' or 'openai_compatible' to replay decisions"})
        start = ctx.now()
        deadline = start + timedelta(seconds=self.timeout_seconds)
        key = self._key(ctx)
        client: LlmClient
        if options.backend == "anthropic":
            client = AnthropicClient(key, base_url=options.base_url, timeout=options.request_timeout_seconds,
                                     sdk_retries=0, transport=self.llm_transport)
        else:
            client = OpenAICompatibleClient(options.base_url, api_key=key, timeout=options.request_timeout_seconds,
                                            transport=self.llm_transport)
        ledger = CostLedger(PriceTable.load(), options.backend, options.budget_usd, ctx.run_date)
        run = replay_window(ctx.artifacts, client, ledger, targets=options.target_models, run_date=ctx.run_date,
                            window_days=options.window_days, max_artifacts=options.max_artifacts,
                            max_tokens=options.max_tokens, now=ctx.now, deadline=deadline)
        llm_decisions = max(r.candidates - r.skipped for r in run.results.values())
        if llm_decisions == 0 and run.complete:
            first = next(iter(run.results.values()))
            return StageOutcome(summary={"status": "SKIPPED", "reason": f"no LLM decision in the window "
                                         f"{run.window[0]}..{run.window[1]} ({first.candidates} candidate(s), "
                                         f"{first.skipped} skipped)", "candidates": first.candidates})
        return self._publish(ctx, run)

    def _publish(self, ctx: StageContext[ReplayConcordanceOptions], run: ReplayRun) -> StageOutcome:
        from ._replay import aggregate_scores, replay_datapoints

        latest_key = ctx.key(REPLAY_LATEST)
        latest: dict[str, Any] = ctx.artifacts.read_json(latest_key) if ctx.artifacts.exists(latest_key) else {
            "schema_version": 1, "targets": {}}
        points = []
        targets: dict[str, Any] = {}
        for target, result in run.results.items():
            per_agent, thin = aggregate_scores(result.scores)
            key = ctx.key(REPLAY_SUMMARY, target_model=target)
            ctx.artifacts.write_json(key, self._summary(ctx, run, result, per_agent, thin))
            latest["targets"][target] = {"key": key, "run_date": ctx.run_date.isoformat()}
            points += replay_datapoints(per_agent, target, ctx.now())
            targets[target] = {"key": key, "replayed": result.replayed, "replay_errors": result.replay_errors,
                               "call_failures": result.call_failures, "skipped": result.skipped,
                               "demotion_candidates": sorted(f for f, a in per_agent.items() if a["demotion_candidate"]),
                               "thin": [t["judged_agent_id"] for t in thin], "cost_usd": result.cost_usd}
        ctx.artifacts.write_json(latest_key, latest)
        emitted = ctx.resource(METRICS).emit_many(points) if ctx.resources.wired(METRICS) and points else 0
        warnings = []
        if not run.complete:
            why = "the budget" if run.budget_stopped else "the deadline"
            warnings.append(f"ReplayConcordance: stopped early by {why} (complete = false); "
                            f"{sum(r.replayed for r in run.results.values())} replay(s) done")
        return StageOutcome(summary={"status": "OK", "complete": run.complete, "budget_stopped": run.budget_stopped,
                                     "deadline_stopped": run.deadline_stopped, "metrics_emitted": emitted,
                                     "targets": targets}, warnings=tuple(warnings))

    def _summary(self, ctx: StageContext[ReplayConcordanceOptions], run: ReplayRun, result: TargetResult,
                 per_agent: dict[str, Any], thin: list[dict[str, Any]]) -> dict[str, Any]:
        from ._replay import REPLAYED_FAMILIES

        options = ctx.options
        return {
            "schema_version": 1, "run_date": ctx.run_date.isoformat(), "target_model": result.target,
            "backend": options.backend, "served_models": sorted(result.served_models),
            "window": {"start": run.window[0].isoformat(), "end": run.window[1].isoformat(),
                       "days": options.window_days, "max_artifacts": options.max_artifacts},
            "agent_filter": list(REPLAYED_FAMILIES),
            "complete": run.complete, "budget_stopped": run.budget_stopped, "deadline_stopped": run.deadline_stopped,
            "counts": {"candidates": result.candidates, "skipped": result.skipped, "replayed": result.replayed,
                       "replay_errors": result.replay_errors, "call_failures": result.call_failures},
            "per_agent": per_agent, "thin": thin, "failures": result.failures, "skips": result.skips,
            "cost": {"calls": result.calls, "input_tokens": result.input_tokens,
                     "output_tokens": result.output_tokens, "cost_usd": result.cost_usd,
                     "budget_usd": options.budget_usd},
        }
