"""EvalJudge's work: which decisions are judged, by which judges, and what is written.

The phases (the stage, :mod:`._judge_stage`, calls them):

* :meth:`JudgeRun.submit` (anthropic only): the LLM decisions of the window go to the Message
  Batches API with the weak model; the plan (``custom_id`` -> decision key) is written to
  :data:`EVAL_PLAN` so Process can read the results in another invocation.
* :meth:`JudgeRun.process`: every decision of the window gets the rubric judge; the LLM
  decisions get the weak model's scores (the batch's results, or synchronous calls for
  ``openai_compatible``), then a synchronous strong pass where any weak dimension is below
  :data:`ESCALATION_FLOOR`, or for all of them on the first Saturday of the month. Judgments,
  manifests and metrics are written last, in a deterministic order.

Every artifact depends on the decisions, the run date and the models' replies only: a rerun
overwrites its own judgments with the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ._artifacts import EVAL_JUDGMENT, EVAL_MANIFEST, EVAL_PLAN
from ._corpus import CapturedKey, agent_base, load_decision, scan_window
from ._errors import CorpusError, EvalJudgeError
from ._judge_llm import (
    BatchClient,
    BatchResult,
    JudgeOutputError,
    LlmJudgeOutput,
    judge_sync,
    load_rubrics,
    parse_judge_output,
    render_prompt,
)
from ._judge_rubric import AGENT_FAMILIES, RUBRIC_JUDGE, rubric_judge
from ._namespaces import EVAL_NAMESPACE

if TYPE_CHECKING:
    from alpha_engine.research import Completion, DecisionArtifact, LlmClient
    from alpha_engine.store import ArtifactStore, Datapoint

__all__ = [
    "BATCH_DISCOUNT",
    "ESCALATION_FLOOR",
    "EMPTY_UPSTREAM",
    "JudgeConfig",
    "JudgeRun",
    "first_saturday",
    "judge_run_id",
    "judgment_datapoints",
]

ESCALATION_FLOOR = 3  # a weak-model dimension below this sends the decision to the strong model
EMPTY_UPSTREAM = "precluded_by_empty_upstream"
BATCH_DISCOUNT = 0.5  # the Message Batches API bills half the Messages API price


def judge_run_id(run_date: date) -> str:
    return f"{run_date.isoformat()}-eval-judge"


def first_saturday(run_date: date) -> bool:
    """The first Saturday of its month: the strong model judges every LLM decision."""
    return run_date.weekday() == 5 and run_date.day <= 7


def _segment(model: str) -> str:
    return model.replace("/", "_")


@dataclass(frozen=True)
class JudgeConfig:
    """The LLM judge as configured (backend ``none``: the rubric judge only)."""

    backend: str = "none"
    weak_model: str = ""
    strong_model: str = ""
    base_url: str = ""
    api_key: str = ""
    max_tokens: int = 1024
    parse_attempts: int = 3
    max_snapshot_chars: int = 60_000
    timeout_seconds: float = 120.0


@dataclass
class _Item:
    """One decision of the window and what happened to it."""

    key: CapturedKey
    decision: DecisionArtifact | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    judgments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def family(self) -> str:
        return agent_base(self.key.agent_id)

    @property
    def llm_judgeable(self) -> bool:
        return self.decision is not None and self.decision.is_llm_decision() and not self.skipped


@dataclass
class JudgeRun:
    """One EvalJudge run over the window ending ``run_date``."""

    store: ArtifactStore
    run_date: date
    config: JudgeConfig
    window_days: int = 7
    per_agent_cap: int = 200
    transport: Any = None  # an httpx transport replacing the network (tests)
    counts: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)

    # --- reading the window -------------------------------------------------------------------

    def window(self) -> tuple[list[_Item], dict[str, Any]]:
        """The window's decisions of the canonical families, loaded (sorted by key), and the scan summary."""
        scan = scan_window(self.store, end=self.run_date, window_days=self.window_days,
                           per_agent_cap=self.per_agent_cap, include=lambda a: agent_base(a) in AGENT_FAMILIES)
        items: list[_Item] = []
        for ck in sorted(scan.keys, key=lambda k: k.key):
            item = _Item(ck)
            try:
                item.decision = load_decision(self.store, ck.key)
            except CorpusError as exc:
                item.skipped.append({"marker": "unreadable", "detail": str(exc)})
                self._count("unreadable")
                self.warnings.append(f"eval-judge: {exc}")
            else:
                if not item.decision.agent_output:
                    item.skipped.append({"marker": EMPTY_UPSTREAM,
                                         "detail": "the agent's output is empty: nothing to judge"})
                    self._count(EMPTY_UPSTREAM)
            items.append(item)
        return items, scan.summary()

    def _count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    # --- submit / poll (anthropic) -----------------------------------------------------------

    def _batch(self) -> BatchClient:
        return BatchClient(self.config.api_key, base_url=self.config.base_url, timeout=self.config.timeout_seconds,
                           transport=self.transport)

    def submit(self) -> dict[str, Any]:
        """Submit the weak pass as a batch; ``{"status": "empty"}`` when there is nothing to batch."""
        if self.config.backend != "anthropic":
            return {"status": "empty"}
        items, _ = self.window()
        judgeable = [i for i in items if i.llm_judgeable]
        if not judgeable:
            return {"status": "empty"}
        from alpha_engine.research import LlmCallError

        rubrics = load_rubrics()
        requests, planned = [], []
        for n, item in enumerate(judgeable):
            assert item.decision is not None
            system, user = render_prompt(rubrics, item.family, item.decision, self.config.max_snapshot_chars)
            custom_id = f"judge-{n:05d}"
            requests.append({"custom_id": custom_id, "params": {
                "model": self.config.weak_model, "max_tokens": self.config.max_tokens, "temperature": 0.0,
                "system": system, "messages": [{"role": "user", "content": user}]}})
            planned.append({"custom_id": custom_id, "key": item.key.key})
        try:
            batch_id = self._batch().create(requests)
        except LlmCallError as exc:
            raise EvalJudgeError(f"eval-judge {self.run_date}: cannot submit the batch of {len(requests)} weak-model "
                                 f"requests ({self.config.weak_model}): {exc}; check the API key and the model, "
                                 "then rerun the stage") from exc
        plan_key = EVAL_PLAN.format(self.run_date)
        self.store.write_json(plan_key, {
            "schema_version": 1, "judge_run_id": judge_run_id(self.run_date), "run_date": self.run_date.isoformat(),
            "batch_id": batch_id, "model": self.config.weak_model, "prompt_version": rubrics.version,
            "requests": planned})
        return {"status": "submitted", "batch_id": batch_id, "plan_key": plan_key}

    def poll(self, job: Mapping[str, Any]) -> str:
        from alpha_engine.research import LlmCallError

        try:
            status = self._batch().status(str(job["batch_id"]))
        except LlmCallError as exc:
            raise EvalJudgeError(f"eval-judge {self.run_date}: cannot poll batch {job['batch_id']}: {exc}; the batch "
                                 "keeps running at Anthropic: check the network and the API key, then rerun the "
                                 "stage") from exc
        return "ended" if status == "ended" else "running"

    # --- process ------------------------------------------------------------------------------

    def process(self, job: Mapping[str, Any], *, now: datetime) -> tuple[dict[str, Any], list[Datapoint]]:
        """Judge the window, write judgments and manifests; returns the summary and the datapoints."""
        items, scan = self.window()
        base: dict[str, Any] = {"window": scan["window"], "judge_run_id": judge_run_id(self.run_date)}
        if not items:
            return {"status": "SKIPPED", **base, "reason": (
                f"no decision of {', '.join(AGENT_FAMILIES)} captured from {scan['window'][0]} to "
                f"{scan['window'][1]}: nothing to judge")}, []
        readable = [i for i in items if i.decision is not None]
        if not readable:
            raise EvalJudgeError(f"eval-judge {self.run_date}: none of the {len(items)} decisions in "
                                 f"{scan['window'][0]}..{scan['window'][1]} could be read (first: "
                                 f"{items[0].skipped[0]['detail']}); fix or remove them, then rerun")
        for item in readable:
            if not item.skipped:
                assert item.decision is not None
                item.judgments.append(self._rubric(item))
        forced = self.config.backend != "none" and bool(self.config.strong_model) and first_saturday(self.run_date)
        if self.config.backend != "none":
            self._llm(items, job, forced=forced)
        written = self._write(items)
        points = judgment_datapoints([j for i in items for j in i.judgments], now)
        summary = {"status": "OK", **base, "decisions": len(items), "agents": len({i.key.agent_id for i in items}),
                   "judgments": sum(len(i.judgments) for i in items), "manifests": written,
                   "backend": self.config.backend, "forced_strong_pass": forced,
                   "scan": {k: scan[k] for k in ("days_listed", "listings", "capped_agents")},
                   **{k: v for k, v in sorted(self.counts.items())}, "cost_usd": round(self.cost_usd, 8)}
        return summary, points

    def _rubric(self, item: _Item) -> dict[str, Any]:
        assert item.decision is not None
        result = rubric_judge(item.family, item.decision.input_data_snapshot, item.decision.agent_output)
        self._count("rubric_judgments")
        return self._judgment(item, judge_model=RUBRIC_JUDGE, tier="rubric", version=RUBRIC_JUDGE,
                              scores={k: {"score": v.score, "reason": v.reason} for k, v in result.scores.items()},
                              not_applicable=dict(result.not_applicable), overall=None, escalation=None)

    def _judgment(self, item: _Item, *, judge_model: str, tier: str, version: str,
                  scores: Mapping[str, Mapping[str, Any]], not_applicable: Mapping[str, str],
                  overall: str | None, escalation: str | None) -> dict[str, Any]:
        assert item.decision is not None
        ck = item.key
        judgment_id = f"{ck.agent_id}.{ck.run_id}.{_segment(judge_model)}"
        return {
            "schema_version": 1, "judge_run_id": judge_run_id(self.run_date),
            "judge_run_date": self.run_date.isoformat(), "judge_model": judge_model, "judge_tier": tier,
            "rubric_version": version, "key": EVAL_JUDGMENT.format(self.run_date, judge_run_id=judge_run_id(
                self.run_date), judgment_id=judgment_id),
            "judged": {"key": ck.key, "agent_id": ck.agent_id, "agent_family": item.family, "run_id": ck.run_id,
                       "capture_date": ck.capture_date.isoformat(),
                       "is_llm_decision": item.decision.is_llm_decision()},
            "scores": {k: dict(v) for k, v in sorted(scores.items())},
            "not_applicable": dict(sorted(not_applicable.items())),
            "overall_reasoning": overall, "escalation": escalation}

    def _llm_judgment(self, item: _Item, output: LlmJudgeOutput, model: str, tier: str,
                      escalation: str | None) -> dict[str, Any]:
        self._count(f"llm_{tier}_judgments")
        return self._judgment(item, judge_model=model, tier=tier, version=load_rubrics().version,
                              scores={k: {"score": v.score, "reason": v.reasoning} for k, v in output.scores.items()},
                              not_applicable={}, overall=output.overall_reasoning, escalation=escalation)

    def _client(self) -> LlmClient:
        from alpha_engine.research import AnthropicClient, OpenAICompatibleClient

        if self.config.backend == "anthropic":
            return AnthropicClient(self.config.api_key, base_url=self.config.base_url,
                                   timeout=self.config.timeout_seconds, transport=self.transport)
        return OpenAICompatibleClient(self.config.base_url, api_key=self.config.api_key,
                                      timeout=self.config.timeout_seconds, transport=self.transport)

    def _price(self, model: str, completion: Completion, factor: float = 1.0) -> None:
        from alpha_engine.research import LlmConfigError, PriceTable

        try:
            self.cost_usd += PriceTable.load().cost(self.config.backend, model, completion, self.run_date) * factor
        except LlmConfigError:
            self._count("unpriced_calls")

    def _sync(self, client: LlmClient, item: _Item, model: str) -> LlmJudgeOutput | None:
        assert item.decision is not None
        rubrics = load_rubrics()
        system, user = render_prompt(rubrics, item.family, item.decision, self.config.max_snapshot_chars)
        output, completions, error = judge_sync(client, model=model, system=system, user=user,
                                                dimensions=rubrics.dimensions(item.family),
                                                attempts=self.config.parse_attempts, max_tokens=self.config.max_tokens)
        for completion in completions:
            self._price(model, completion)
        self._count("llm_calls", len(completions))
        if output is None:
            self._count("llm_malformed")
            item.skipped.append({"marker": "llm_judge_malformed", "detail": (
                f"{model}: {self.config.parse_attempts} malformed replies; last: {error}")})
        return output

    def _llm(self, items: list[_Item], job: Mapping[str, Any], *, forced: bool) -> None:
        from alpha_engine.research import LlmCallError

        judgeable = [i for i in items if i.llm_judgeable]
        self._count("llm_decisions", len(judgeable))
        self._count("deterministic_decisions", sum(1 for i in items if i.decision is not None
                                                   and not i.decision.is_llm_decision()))
        if not judgeable:
            return
        weak_model, strong_model = self.config.weak_model, self.config.strong_model
        done = 0
        try:
            client = self._client()
            weak: dict[str, LlmJudgeOutput | None] = {}
            if job.get("status") == "submitted":
                weak = self._batch_results(judgeable, job, client)
            else:
                for item in judgeable:
                    weak[item.key.key] = self._sync(client, item, weak_model)
            for item in judgeable:
                output = weak.get(item.key.key)
                if output is None:
                    continue
                item.judgments.append(self._llm_judgment(item, output, weak_model, "weak", None))
                done += 1
                low = any(s.score < ESCALATION_FLOOR for s in output.scores.values())
                if strong_model and (forced or low):
                    reason = "first_saturday" if forced else "weak_below_floor"
                    self._count(f"escalated_{reason}")
                    strong = self._sync(client, item, strong_model)
                    if strong is not None:
                        item.judgments.append(self._llm_judgment(item, strong, strong_model, "strong", reason))
        except LlmCallError as exc:
            raise EvalJudgeError(f"eval-judge {self.run_date}: the LLM judge ({self.config.backend}) failed after "
                                 f"{done} of {len(judgeable)} LLM decisions: {exc}; nothing was written this run: "
                                 "check the endpoint/key and rerun") from exc

    def _batch_results(self, judgeable: list[_Item], job: Mapping[str, Any],
                       client: LlmClient) -> dict[str, LlmJudgeOutput | None]:
        plan = self.store.read_json(str(job["plan_key"]))
        if plan.get("batch_id") != job.get("batch_id"):
            raise EvalJudgeError(f"eval-judge {self.run_date}: the plan {job['plan_key']} is of batch "
                                 f"{plan.get('batch_id')}, not of the job's {job.get('batch_id')}; rerun the stage "
                                 "from Submit")
        by_key = {i.key.key: i for i in judgeable}
        planned = {r["custom_id"]: r["key"] for r in plan["requests"]}
        rubrics = load_rubrics()
        results: dict[str, BatchResult] = {r.custom_id: r for r in self._batch().results(str(job["batch_id"]))}
        out: dict[str, LlmJudgeOutput | None] = {}
        for custom_id, key in sorted(planned.items()):
            item = by_key.get(key)
            if item is None:
                self._count("planned_not_found")
                continue
            result = results.get(custom_id)
            if result is None or result.kind != "succeeded":
                self._count(f"batch_{'missing' if result is None else result.kind}")
            else:
                self._count("batch_succeeded")
                self._price(plan["model"], _completion(result), BATCH_DISCOUNT)
                try:
                    out[key] = parse_judge_output(result.text, rubrics.dimensions(item.family))
                    continue
                except JudgeOutputError:
                    self._count("batch_malformed")
            # an errored, expired or malformed batch line: judged synchronously (with its parse retries)
            out[key] = self._sync(client, item, str(plan["model"]))
        for item in judgeable:
            if item.key.key not in planned:
                self._count("not_in_batch")
                item.skipped.append({"marker": "not_in_batch",
                                     "detail": "captured after the batch was submitted: the next run judges it"})
        return out

    # --- writing ------------------------------------------------------------------------------

    def _write(self, items: list[_Item]) -> int:
        manifests: dict[date, list[dict[str, Any]]] = {}
        for item in items:
            for judgment in item.judgments:
                self.store.write_json(judgment["key"], judgment)
            manifests.setdefault(item.key.capture_date, []).append({
                "key": item.key.key, "agent_id": item.key.agent_id, "run_id": item.key.run_id,
                "is_llm_decision": None if item.decision is None else item.decision.is_llm_decision(),
                "judgments": [{"judge_model": j["judge_model"], "judge_tier": j["judge_tier"], "key": j["key"]}
                              for j in item.judgments],
                "skipped": list(item.skipped)})
        for day, entries in sorted(manifests.items()):
            self.store.write_json(EVAL_MANIFEST.format(day), {
                "schema_version": 1, "capture_date": day.isoformat(), "judge_run_id": judge_run_id(self.run_date),
                "judge_run_date": self.run_date.isoformat(), "decisions": sorted(entries, key=lambda e: e["key"])})
        return len(manifests)


def _completion(result: BatchResult) -> Completion:
    from alpha_engine.research import Completion

    return Completion(text=result.text, model=result.model, input_tokens=result.input_tokens,
                      output_tokens=result.output_tokens)


def judgment_datapoints(judgments: Iterable[Mapping[str, Any]], now: datetime,
                        namespace: str = EVAL_NAMESPACE) -> list[Datapoint]:
    """``agent_quality_score{judged_agent_id, criterion, judge_model}``: one per judgment and dimension."""
    from alpha_engine.store import Datapoint

    points = []
    for j in judgments:
        for criterion, s in sorted(j["scores"].items()):
            points.append(Datapoint.of(namespace, "agent_quality_score", s["score"], {
                "judged_agent_id": j["judged"]["agent_id"], "criterion": criterion, "judge_model": j["judge_model"]},
                now))
    return points

