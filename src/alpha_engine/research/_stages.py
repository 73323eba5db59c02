"""The Research stage (hard within its branch of ResearchPredictorParallel; Lambda-class, 900 s).

This module stays light: the market store, the rules and the database code are imported inside
the methods that use them.

Inputs: each ticker's latest stored features at the as-of session (market store), the Scanner's
candidates (optional: without them every ticker with a sector is in its team's input set), the
regime substrate (read when present, see :func:`read_regime_prior`), research.db's population
and theses, and the RAG index (read-only, for the qual analyst's evidence; absent: no evidence). Outputs: signals.json (+ latest), one decision artifact per agent decision, the
run's rows in research.db, and with an LLM backend the per-call cost telemetry (:data:`COST_RAW`,
written also when the run fails, so the spend so far is on record). ``dry_run_llm`` runs stub agents and the quarantine refuses to
publish their output: nothing is written.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from alpha_engine.data import CANDIDATES, WEEKLY_CONSTITUENTS, WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)
from alpha_engine.regime import REGIME_SUBSTRATE

from ._artifacts import (
    COST_RAW,
    DECISION_ARTIFACT,
    LATEST_SIGNALS,
    REGIME_LATEST_KEY,
    REGIME_SUBSTRATE_KEY,
    SIGNALS,
)
from ._db import RESEARCH_DB
from ._evidence import RAG_EVIDENCE
from ._llm_options import LlmOptions

if TYPE_CHECKING:
    import httpx

    from ._agents import ResearchBackend
    from ._models import RegimePrior
    from ._orchestrate import ResearchInputs, ResearchResult

__all__ = ["FEATURE_COLUMNS", "Research", "ResearchOptions", "read_regime_prior"]

# The stored columns the rules read (names from alpha_engine.data.FEATURE_ORDER, plus Close).
FEATURE_COLUMNS = ("Close", "momentum_5d", "momentum_20d", "price_vs_ma200", "realized_vol_20d",
                   "momentum_20d_zscore", "return_60d_zscore", "idio_vol_60d_zscore", "realized_vol_63d_zscore",
                   "dist_from_52w_high_zscore")
NEUTRAL_PRIOR = {"bull": 0.25, "neutral": 0.5, "bear": 0.25}
LABEL_ONLY_PRIOR = 0.6  # a substrate with a label but no probabilities: 0.6 on the label, 0.2 on each other


class ResearchOptions(BaseModel):
    """``[stages.research]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Upstream's dry_run_llm (the execution's research_dry): stub agents, nothing published.
    dry_run_llm: bool = False
    # The agent backend: deterministic rules (default), or an LLM configured by [stages.research.llm].
    backend: Literal["deterministic", "anthropic", "openai_compatible"] = "deterministic"
    llm: LlmOptions = LlmOptions()


def read_regime_prior(read: Any, run_date: str) -> tuple[RegimePrior, str | None]:
    """The regime prior from ``regime/{date}/substrate.json``, else ``regime/latest.json`` (unless
    it is dated after run_date), else a neutral prior. ``read(key)`` returns the parsed JSON or None
    when absent. Keys read: ``label`` (bull/neutral/bear, any case), ``probabilities`` {bull,
    neutral, bear} (normalised to sum 1), and from latest.json ``date`` or ``run_date`` when present.
    Returns the prior and a warning (None when the substrate was used as is)."""
    from ._models import RegimePrior

    neutral = RegimePrior(label="neutral", probabilities=dict(NEUTRAL_PRIOR),  # type: ignore[arg-type]
                          source="no regime substrate: neutral prior")
    for key in (REGIME_SUBSTRATE_KEY.format(date=run_date), REGIME_LATEST_KEY):
        doc = read(key)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            return neutral, f"{key} is not a JSON object: neutral prior used"
        stamped = doc.get("date", doc.get("run_date"))
        if key == REGIME_LATEST_KEY and isinstance(stamped, str) and stamped[:10] > run_date:
            return neutral, f"{key} is dated {stamped}, after run_date {run_date}: neutral prior used"
        label = str(doc.get("label", "")).lower() or None
        label = label if label in NEUTRAL_PRIOR else None
        raw = doc.get("probabilities")
        probabilities = None
        if isinstance(raw, dict) and all(isinstance(raw.get(k), int | float) and raw[k] >= 0 for k in NEUTRAL_PRIOR):
            total = float(sum(raw[k] for k in NEUTRAL_PRIOR))
            if total > 0:
                probabilities = {k: round(float(raw[k]) / total, 6) for k in NEUTRAL_PRIOR}
        if probabilities is None and label is None:
            return neutral, f"{key} has neither a usable 'label' nor 'probabilities': neutral prior used"
        if probabilities is None:
            rest = round((1 - LABEL_ONLY_PRIOR) / 2, 6)
            probabilities = {k: LABEL_ONLY_PRIOR if k == label else rest for k in NEUTRAL_PRIOR}
        if label is None:
            label = max(NEUTRAL_PRIOR, key=lambda k: (probabilities[k], k))
        return RegimePrior(label=label, probabilities=probabilities, source=key), None  # type: ignore[arg-type]
    return neutral, None


def _dry_run_llm(ctx: StageContext[ResearchOptions]) -> bool:
    """Stub agents, nothing published: the execution input's ``research_dry`` (upstream's canonical
    LLM-dry signal) or the ``dry_run_llm`` option."""
    return ctx.input_flag("research_dry") or ctx.options.dry_run_llm


class Research(Stage[ResearchOptions]):
    name = "Research"
    slug = "research"
    failure_class = FailureClass.HARD
    compute = Compute.LAMBDA
    timeout_seconds = 900
    description = ("Sector-team research (deterministic rules, or an LLM backend when configured): regime, sector ratings, factor picks, "
                   "CIO entries, population -> signals.json, decision artifacts, research.db")
    requires = (MARKET, RESEARCH_DB, RAG_EVIDENCE)
    receives_execution_input = True  # upstream's research_dry (dry_run_llm)
    consumes = (WEEKLY_MANIFEST, optional(WEEKLY_CONSTITUENTS), optional(CANDIDATES), optional(REGIME_SUBSTRATE))
    produces = (SIGNALS, LATEST_SIGNALS, DECISION_ARTIFACT)
    # Written only with an LLM backend (never by the deterministic backend, never on a dry run),
    # so it is an update, not a product every run writes: the per-call cost telemetry.
    updates = (COST_RAW,)
    # Replaces the network under the LLM backend (tests set an httpx.MockTransport); None: the real one.
    llm_transport: ClassVar[httpx.BaseTransport | None] = None

    def preflight(self, ctx: StageContext[ResearchOptions]) -> None:
        from ._errors import LlmConfigError, ResearchDbError
        from ._sectors import load_sector_map

        load_sector_map()
        _dry_run_llm(ctx)  # a malformed research_dry fails here, naming the field
        if ctx.options.backend != "deterministic" and not _dry_run_llm(ctx):
            from ._llm import resolve_llm

            try:
                resolve_llm(ctx.options.backend, ctx.options.llm, os.environ, ctx.run_date)
            except LlmConfigError as exc:
                raise PreflightError(str(exc)) from exc
        try:
            ctx.resource(RESEARCH_DB).check()
        except ResearchDbError as exc:
            raise PreflightError(str(exc)) from exc
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is nothing to read yet
        # The runner has probed the market store (without ArcticDB: a Lambda-class preflight stays light).
        manifest = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))
        if not manifest["universe"]["written"]:
            raise PreflightError(f"{ctx.key(WEEKLY_MANIFEST)}: DataPhase1 wrote no tickers for "
                                 f"{ctx.run_date.isoformat()}, so there is nothing to research")

    def run(self, ctx: StageContext[ResearchOptions]) -> StageOutcome:
        from ._capture import DecisionRecorder
        from ._dryrun import dry_run_backend
        from ._errors import DryRunQuarantineError
        from ._orchestrate import run_research
        from ._rules import RULE_SET

        run_date = ctx.run_date.isoformat()
        run_id = f"{run_date}-research"
        inputs, warnings = self._inputs(ctx)
        dry = _dry_run_llm(ctx)
        backend = dry_run_backend() if dry else self._backend(ctx)
        rule_set = RULE_SET if backend.name == "deterministic" else None
        recorder = DecisionRecorder(ctx.artifacts, ctx.run_date, run_id, backend=backend.name,
                                    rule_set=rule_set, data_snapshot_id=ctx.key(WEEKLY_MANIFEST),
                                    enabled=not dry)  # upstream force-disables capture on a dry run
        try:
            result = run_research(inputs, backend, recorder)
        finally:
            session = getattr(backend, "session", None)
            if session is not None:  # the spend so far, also when a call failed or the budget stopped the run
                ctx.logger.info("llm spend: %s", session.ledger.summary())
                if not dry:
                    from ._cost_telemetry import write_cost_telemetry

                    write_cost_telemetry(ctx.artifacts, session.calls, ctx.run_date, run_id)
        summary: dict[str, Any] = {"backend": backend.name, "market_regime": result.macro.market_regime,
                                   "regime_source": inputs.regime.source, "universe": len(result.signals["universe"]),
                                   "buy_candidates": len(result.signals["buy_candidates"]),
                                   "population": len(result.population.population),
                                   "entries": len(result.population.entries), "exits": len(result.population.exits),
                                   "decisions_captured": len(recorder.keys_)}
        if session is not None:
            summary["llm"] = session.ledger.summary()
        try:
            self._publish(ctx, result)
        except DryRunQuarantineError as exc:
            if not dry:
                raise
            ctx.logger.info("dry run: %s", exc)
            summary.update(status="dry_run", quarantined=str(exc))
            warnings.append("dry_run_llm: stub agents ran; the quarantine refused to publish their output "
                            "(nothing was written)")
        return StageOutcome(summary=summary, warnings=tuple(warnings))

    def _backend(self, ctx: StageContext[ResearchOptions]) -> ResearchBackend:
        """The configured agent backend (deterministic rules unless [stages.research] backend says otherwise)."""
        from ._rules import deterministic_backend

        if ctx.options.backend == "deterministic":
            return deterministic_backend()
        from ._llm import llm_backend

        return llm_backend(ctx.options.backend, ctx.options.llm, os.environ, run_date=ctx.run_date,
                           transport=self.llm_transport)

    def _publish(self, ctx: StageContext[ResearchOptions], result: ResearchResult) -> None:
        """signals.json, latest.json and research.db, each behind the quarantine (checked before any write)."""
        from dataclasses import asdict

        from ._dryrun import quarantine

        quarantine(ctx.key(SIGNALS), result.signals)
        quarantine("research.db", asdict(result.record))
        db = ctx.resource(RESEARCH_DB)
        outcomes = _score_outcomes(ctx, db.pending_performance())
        db.record_run(result.record, outcomes)
        ctx.artifacts.write_json(ctx.key(SIGNALS), result.signals)
        ctx.artifacts.write_json(ctx.key(LATEST_SIGNALS), result.signals)

    def _inputs(self, ctx: StageContext[ResearchOptions]) -> tuple[ResearchInputs, list[str]]:
        import pandas as pd

        from alpha_engine.store import TradingCalendar

        from ._orchestrate import ResearchInputs
        from ._sectors import load_sector_map

        run_date = ctx.run_date.isoformat()
        warnings: list[str] = []
        as_of = TradingCalendar().as_of_session(ctx.run_date)
        start = (pd.Timestamp(as_of) - pd.Timedelta(days=10)).date()
        frames = ctx.resource(MARKET).read_many(start=start, end=as_of, columns=list(FEATURE_COLUMNS))
        features: dict[str, dict[str, float | None]] = {}
        for ticker in sorted(frames):
            frame = frames[ticker]
            if len(frame):
                row = frame.iloc[-1]
                features[ticker] = {c: None if pd.isna(row[c]) else float(row[c]) for c in FEATURE_COLUMNS}
        if not features:
            raise PreflightError(f"the market store has no rows within 10 days before {as_of}: nothing to research")
        sectors = load_sector_map()
        provider_etf: dict[str, str] = {}
        if ctx.artifacts.exists(ctx.key(WEEKLY_CONSTITUENTS)):
            provider_etf = dict(ctx.artifacts.read_json(ctx.key(WEEKLY_CONSTITUENTS))["sector_map"])
        sector_of = {t: s for t in features if (s := sectors.sector_of(t, provider_etf.get(t))) is not None}
        unknown = sorted(set(features) - set(sector_of))
        if unknown:
            warnings.append(f"no sector for {', '.join(unknown)} (not in research/data/sectors.json nor mapped by "
                            "the provider's sector ETF): no team looks at them")
        scanner = None
        if ctx.artifacts.exists(ctx.key(CANDIDATES)):
            scanned = ctx.artifacts.read_json(ctx.key(CANDIDATES))
            scanner = {row["ticker"]: bool(row["passed"]) for row in scanned["tickers"]}
        else:
            warnings.append(f"no Scanner candidates ({ctx.key(CANDIDATES)}): every ticker with a sector is in its "
                            "team's input set")

        def read(key: str) -> Any:
            return ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None

        regime, warning = read_regime_prior(read, run_date)
        if warning:
            warnings.append(warning)
        db = ctx.resource(RESEARCH_DB)
        inputs = ResearchInputs(run_date=run_date, as_of=as_of.isoformat(), features=features, sectors=sectors,
                                sector_of=sector_of, scanner=scanner, regime=regime,
                                population=db.prior_population(run_date), theses=db.prior_theses(run_date),
                                prior_scores=db.prior_scores(run_date), evidence_index=ctx.resource(RAG_EVIDENCE))
        return inputs, warnings


def _score_outcomes(ctx: StageContext[ResearchOptions], pending: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    """10- and 30-session returns of earlier scores, and whether each beat the market symbol, once known."""
    if not pending:
        return []
    from datetime import date

    store = ctx.resource(MARKET)
    market = str(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))["market_symbol"])
    first = date.fromisoformat(min(d for d, _, _ in pending))
    closes = {t: f["Close"] for t, f in store.read_many(start=first, end=ctx.run_date, columns=["Close"]).items()}
    macro = store.read_macro([market], start=first, end=ctx.run_date)
    bench = macro[market]["Close"] if market in macro else None
    out = []
    for run_date, ticker, price in pending:
        if ticker not in closes:
            continue
        after = closes[ticker][closes[ticker].index > run_date].dropna()
        if len(after) < 10:
            continue
        result: dict[str, Any] = {"run_date": run_date, "ticker": ticker}
        for n in (10, 30):
            ret = float(after.iloc[n - 1] / price - 1) if len(after) >= n else None
            beat = None
            if ret is not None and bench is not None:
                window = bench[bench.index > run_date].dropna()
                if len(window) >= n + 1:
                    base = bench[bench.index <= run_date].dropna()
                    if len(base):
                        beat = int(ret > float(window.iloc[n - 1] / base.iloc[-1] - 1))
            result[f"return_{n}d"] = None if ret is None else round(ret, 6)
            result[f"beat_spy_{n}d"] = beat
        out.append(result)
    return out
