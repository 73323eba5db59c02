"""The research graph in plain Python: the upstream node order, one call per role.

    macro economist -> 6 sector teams (quant -> qual -> peer review; thesis maintenance for held
    names) -> score aggregator -> CIO -> population handler -> signal builder

Every role's decision is captured (:class:`DecisionRecorder`). The result is the signals document
and the research.db rows; publishing them is the stage's job (behind the dry-run quarantine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ._agents import ResearchBackend
from ._capture import DecisionRecorder
from ._db import RunRecord
from ._evidence import EVIDENCE_K, EvidenceIndex, retrieve
from ._models import (
    CioOutput,
    Exit,
    HeldPosition,
    MacroOutput,
    PeerReviewOutput,
    PopulationOutput,
    PriorThesis,
    QualOutput,
    QuantOutput,
    RegimePrior,
    ScoredTicker,
    TeamView,
    ThesisUpdate,
)
from ._sectors import SectorMap

__all__ = [
    "BUY_THRESHOLD",
    "COHERENCE_MIN_SCORE",
    "EXIT_SCORE",
    "QUALITY_FLOOR_PCTILE",
    "REDUCE_DROP",
    "ResearchInputs",
    "ResearchResult",
    "aggregate_score",
    "build_signals",
    "handle_population",
    "run_research",
]

BUY_THRESHOLD = 65.0  # rating BUY at or above (upstream's sample config)
SELL_THRESHOLD = 40.0  # rating SELL at or below
EXIT_SCORE = 45.0  # a held name scoring below this (or rated SELL) leaves the population
REDUCE_DROP = 10.0  # a held name whose score fell by more than this since last week: REDUCE
COHERENCE_MIN_SCORE = 75.0  # no new buy in an underweight sector below this score
QUALITY_FLOOR_PCTILE = 0.2  # a buy candidate's stability factor must reach this percentile in its sector


@dataclass(frozen=True)
class ResearchInputs:
    """What one research run reads (see the stage for where each comes from)."""

    run_date: str
    as_of: str
    features: Mapping[str, Mapping[str, float | None]]  # ticker -> feature -> value (None: missing)
    sectors: SectorMap
    sector_of: Mapping[str, str]  # tickers with a known sector
    scanner: Mapping[str, bool] | None  # ticker -> passed; None: no candidates artifact
    regime: RegimePrior
    population: Sequence[HeldPosition] = ()
    theses: Mapping[str, PriorThesis] = field(default_factory=dict)
    prior_scores: Mapping[str, float | None] = field(default_factory=dict)
    evidence_index: EvidenceIndex | None = None  # the RAG index, read-only (None: no evidence)


@dataclass(frozen=True)
class ResearchResult:
    signals: dict[str, Any]
    record: RunRecord
    macro: MacroOutput
    cio: CioOutput
    population: PopulationOutput


def rating_of(score: float | None) -> Literal["BUY", "HOLD", "SELL"]:
    if score is None:
        return "HOLD"
    return "BUY" if score >= BUY_THRESHOLD else "SELL" if score <= SELL_THRESHOLD else "HOLD"


def aggregate_score(ticker: str, team: str, sector: str, quant: float | None, qual: float | None,
                    modifier: float, factors: Mapping[str, float | None]) -> ScoredTicker:
    """final_score = mean of the present quant/qual scores (0.5/0.5, renormalised when qual is
    absent) + the macro shift, (modifier - 1) / 0.3 x 10 points, clipped to 0-100; null without a quant score."""
    shift = round((modifier - 1.0) / 0.3 * 10.0, 6)
    parts = [s for s in (quant, qual) if s is not None]
    final = None if quant is None else round(min(100.0, max(0.0, sum(parts) / len(parts) + shift)), 6)
    return ScoredTicker(ticker=ticker, team=team, sector=sector, quant=quant, qual=qual, macro_shift=shift,
                        final_score=final, rating=rating_of(final), factors=dict(factors))


def handle_population(prior: Sequence[HeldPosition], cio: CioOutput, scored: Mapping[str, ScoredTicker],
                      run_date: str) -> PopulationOutput:
    """Exits first (held, scored, and rated SELL or below EXIT_SCORE), then the CIO's entries."""
    exits, kept = [], []
    for held in prior:
        s = scored.get(held.ticker)
        score = None if s is None else s.final_score
        if s is not None and (s.rating == "SELL" or (score is not None and score < EXIT_SCORE)):
            exits.append(Exit(ticker=held.ticker, score_out=score,
                              reason=f"score {score} below {EXIT_SCORE:g} or rated SELL"))
        else:
            kept.append(held)
    held_now = {h.ticker for h in kept} | {e.ticker for e in exits}
    entries = [d.ticker for d in cio.decisions
               if d.decision in ("ADVANCE", "ADVANCE_FORCED") and d.ticker not in held_now]
    population = kept + [HeldPosition(ticker=t, entered=run_date, entry_score=scored[t].final_score)
                         for t in entries]
    return PopulationOutput(population=sorted(population, key=lambda h: h.ticker), entries=sorted(entries),
                            exits=sorted(exits, key=lambda e: e.ticker))


def run_research(inputs: ResearchInputs, backend: ResearchBackend, recorder: DecisionRecorder) -> ResearchResult:
    """Run every role in upstream order (see module docstring)."""

    def capture(agent_id: str, node_name: str, snapshot: dict[str, Any], output: Any) -> None:
        described = backend.describe(agent_id) or {}  # an LLM decision's model metadata and prompt context
        recorder.capture(agent_id, node_name, snapshot, output, model_metadata=described.get("model_metadata"),
                         prompt_context=described.get("full_prompt_context"))

    held = frozenset(h.ticker for h in inputs.population)
    macro = backend.macro.assess(inputs.regime, inputs.features, inputs.sector_of, inputs.sectors.sectors)
    capture("macro_economist", "macro_economist_node", {
        "regime_substrate": inputs.regime.model_dump(mode="json"),
        "price_vs_ma200": {t: f.get("price_vs_ma200") for t, f in sorted(inputs.features.items())},
        "momentum_20d": {t: f.get("momentum_20d") for t, f in sorted(inputs.features.items())},
        "sector_of": dict(sorted(inputs.sector_of.items()))}, macro)

    scored: dict[str, ScoredTicker] = {}
    picks: list[str] = []
    thesis_updates: dict[str, ThesisUpdate] = {}
    team_of: dict[str, str] = {}
    quant_of: dict[str, float | None] = {}
    input_set: set[str] = set()
    for team, team_sectors in inputs.sectors.teams.items():
        members = sorted(t for t, s in inputs.sector_of.items() if s in team_sectors and t in inputs.features)
        for t in members:
            team_of[t] = team
        chosen = [t for t in members if t in held or inputs.scanner is None or inputs.scanner.get(t, False)]
        input_set.update(chosen)
        view = TeamView(team=team, regime=macro.market_regime, tickers=tuple(chosen), features=inputs.features,
                        sector_of=inputs.sector_of, held=held)
        snapshot = {"tickers": list(chosen), "held": sorted(held & set(chosen)), "regime": macro.market_regime,
                    "features": {t: dict(sorted(inputs.features[t].items())) for t in chosen}}
        quant: QuantOutput = backend.quant.rank(view)
        capture(f"sector_quant:{team}", "sector_team_node", snapshot, quant)
        top5 = [p.ticker for p in quant.top[:5]]
        evidence = {t: retrieve(inputs.evidence_index, t, inputs.sector_of[t]) for t in top5}
        view = replace(view, evidence=evidence)
        qual: QualOutput = backend.qual.review(view, quant)
        capture(f"sector_qual:{team}", "sector_team_node",
                {"quant_top5": top5, "evidence_k": EVIDENCE_K,
                 "evidence": {t: [e.model_dump(mode="json") for e in evidence[t]] for t in top5}}, qual)
        review: PeerReviewOutput = backend.peer_review.finalize(view, quant, qual)
        capture(f"sector_peer_review:{team}", "sector_team_node",
                         {"quant": quant.model_dump(mode="json"), "qual": qual.model_dump(mode="json")}, review)
        quals = {a.ticker: a.qual_score for a in qual.assessments}
        for pick in quant.top:
            quant_of[pick.ticker] = pick.quant_score
            sector = inputs.sector_of[pick.ticker]
            scored[pick.ticker] = aggregate_score(pick.ticker, team, sector, pick.quant_score, quals.get(pick.ticker),
                                                  macro.sector_modifiers[sector], pick.factors)
        picks += [t for t in review.picks if t not in picks]
        for ticker in sorted(held & set(members)):
            if ticker not in scored:  # a held name past the top 10 is still scored for its thesis and exit
                one = backend.quant.rank(TeamView(team=team, regime=macro.market_regime, tickers=(ticker,),
                                                  features=inputs.features, sector_of=inputs.sector_of, held=held))
                pick = one.top[0]
                quant_of[ticker] = pick.quant_score
                scored[ticker] = aggregate_score(ticker, team, inputs.sector_of[ticker], pick.quant_score, None,
                                                 macro.sector_modifiers[inputs.sector_of[ticker]], pick.factors)
            sector_rating = macro.sector_ratings[inputs.sector_of[ticker]].rating
            update = backend.thesis.update(view, ticker, inputs.theses.get(ticker), scored[ticker].final_score,
                                           sector_rating)
            if update is not None:
                thesis_updates[ticker] = update
                capture(f"thesis_update:{team}:{ticker}", "sector_team_node", {
                    "prior": None if ticker not in inputs.theses else inputs.theses[ticker].model_dump(mode="json"),
                    "score": scored[ticker].final_score, "sector_rating": sector_rating,
                    "features": dict(sorted(inputs.features[ticker].items()))}, update)
    capture("score_aggregator", "score_aggregator",
                     {"modifiers": macro.sector_modifiers, "tickers": sorted(scored)},
                     {"scores": {t: s.model_dump(mode="json") for t, s in sorted(scored.items())}})

    team_picks = [scored[t] for t in picks]
    cio = backend.cio.decide(team_picks, inputs.population, macro)
    capture("ic_cio", "cio_node", {"picks": [p.model_dump(mode="json") for p in team_picks],
                                            "population": [h.model_dump(mode="json") for h in inputs.population]}, cio)
    population = handle_population(inputs.population, cio, scored, inputs.run_date)
    capture("population_entry_handler", "population_entry_handler",
                     {"prior": [h.model_dump(mode="json") for h in inputs.population],
                      "cio": [d.model_dump(mode="json") for d in cio.decisions]}, population)
    signals = build_signals(inputs, backend, macro, scored, cio, population, thesis_updates)
    capture("signal_builder", "archive_writer", {"population": [h.ticker for h in population.population]},
                     {"universe": signals["universe"], "buy_candidates": signals["buy_candidates"]})
    record = _record(inputs, macro, scored, cio, population, thesis_updates, team_of, quant_of, input_set)
    return ResearchResult(signals=signals, record=record, macro=macro, cio=cio, population=population)


def _percentile_in_sector(ticker: str, scored: Mapping[str, ScoredTicker]) -> float | None:
    mine = scored[ticker].factors.get("stability")
    if mine is None:
        return None
    peers = [v for s in scored.values() if s.sector == scored[ticker].sector
             and (v := s.factors.get("stability")) is not None]
    return sum(v <= mine for v in peers) / len(peers)


def build_signals(inputs: ResearchInputs, backend: ResearchBackend, macro: MacroOutput,
                  scored: Mapping[str, ScoredTicker], cio: CioOutput, population: PopulationOutput,
                  theses: Mapping[str, ThesisUpdate]) -> dict[str, Any]:
    """signals.json: ENTER = BUY and (CIO-advanced or held); EXIT = dropped from the population;
    REDUCE = held, not BUY, score down more than REDUCE_DROP since last week; HOLD otherwise (for a
    name not held: no action). A BUY with a null score is HOLD."""
    advanced = {d.ticker for d in cio.decisions if d.decision in ("ADVANCE", "ADVANCE_FORCED")}
    held_after = {h.ticker for h in population.population}
    exits = {e.ticker: e for e in population.exits}
    universe: list[dict[str, Any]] = []
    for ticker in sorted(scored):
        s = scored[ticker]
        before = inputs.prior_scores.get(ticker)
        change = None if s.final_score is None or before is None else s.final_score - before
        if ticker in exits:
            signal = "EXIT"
        elif s.rating == "BUY" and s.final_score is not None and (ticker in advanced or ticker in held_after):
            signal = "ENTER"
        elif ticker in held_after and change is not None and change < -REDUCE_DROP:
            signal = "REDUCE"
        else:
            signal = "HOLD"
        conviction = ("stable" if change is None or abs(change) <= REDUCE_DROP / 2
                      else "rising" if change > 0 else "declining")
        thesis = theses.get(ticker)
        universe.append({
            "ticker": ticker, "signal": signal, "score": s.final_score, "rating": s.rating,
            "conviction": thesis.conviction if thesis else conviction, "sector": s.sector, "team": s.team,
            "sector_rating": macro.sector_ratings[s.sector].rating, "price_target_upside": None,
            "thesis_summary": thesis.thesis_summary if thesis else (
                f"{s.team} team: quant {s.quant}, qual {'none (no evidence retrieved)' if s.qual is None else s.qual}, "
                f"macro shift {s.macro_shift:+.2f}"),
            "sub_scores": {"quant": s.quant, "qual": s.qual}, "factor_quality_score": s.factors.get("stability"),
            **({"score_out": exits[ticker].score_out, "exit_reason": exits[ticker].reason} if ticker in exits else {}),
        })
    buy_candidates: list[dict[str, Any]] = []
    for entry in universe:
        if entry["signal"] != "ENTER":
            continue
        gates = []
        if entry["sector_rating"] == "underweight" and entry["score"] < COHERENCE_MIN_SCORE:
            gates.append(f"macro-sector coherence: underweight sector below {COHERENCE_MIN_SCORE:g}")
        pct = _percentile_in_sector(entry["ticker"], scored)
        if pct is not None and pct < QUALITY_FLOOR_PCTILE:
            gates.append(f"factor-quality floor: stability percentile {pct:.2f} < {QUALITY_FLOOR_PCTILE:g}")
        if gates:
            continue
        decision = next((d for d in cio.decisions if d.ticker == entry["ticker"]), None)
        buy_candidates.append({**entry, "catalysts": [],
                               "entry_thesis": decision.rationale if decision else "held, still rated BUY"})
    return {
        "date": inputs.run_date, "time": f"{inputs.run_date}T00:00:00Z", "as_of_session": inputs.as_of,
        "architecture_version": "sector_teams", "backend": backend.name,
        "market_regime": macro.market_regime, "regime_source": inputs.regime.source,
        "sector_modifiers": dict(macro.sector_modifiers),
        "sector_ratings": {k: v.model_dump(mode="json") for k, v in macro.sector_ratings.items()},
        "universe": universe, "buy_candidates": buy_candidates,
        "signals": {e["ticker"]: {k: v for k, v in e.items() if k != "ticker"} for e in universe},
        "population": sorted(held_after),
    }


def _record(inputs: ResearchInputs, macro: MacroOutput, scored: Mapping[str, ScoredTicker], cio: CioOutput,
            population: PopulationOutput, theses: Mapping[str, ThesisUpdate], team_of: Mapping[str, str],
            quant_of: Mapping[str, float | None], input_set: set[str]) -> RunRecord:
    d = inputs.run_date
    held_before = {h.ticker for h in inputs.population}
    pop_rows = [{"run_date": d, "ticker": h.ticker, "entered": h.entered, "entry_score": h.entry_score,
                 "score": scored[h.ticker].final_score if h.ticker in scored else None,
                 "action": "ENTER" if h.ticker in population.entries else "HOLD",
                 "reason": "CIO advanced" if h.ticker in population.entries else "held"}
                for h in population.population]
    prior = {h.ticker: h for h in inputs.population}
    pop_rows += [{"run_date": d, "ticker": e.ticker, "entered": prior[e.ticker].entered,
                  "entry_score": prior[e.ticker].entry_score, "score": e.score_out, "action": "EXIT",
                  "reason": e.reason} for e in population.exits]
    thesis_rows = [{"run_date": d, "ticker": t, "team": u.team, "score": scored[t].final_score,
                    "rating": scored[t].rating, "sector_rating": macro.sector_ratings[inputs.sector_of[t]].rating,
                    "conviction": u.conviction, "thesis_summary": u.thesis_summary, "triggers": list(u.triggers)}
                   for t, u in sorted(theses.items())]
    for t in population.entries:  # an entrant's entry thesis
        decision = next(x for x in cio.decisions if x.ticker == t)
        thesis_rows.append({"run_date": d, "ticker": t, "team": scored[t].team, "score": scored[t].final_score,
                            "rating": scored[t].rating,
                            "sector_rating": macro.sector_ratings[scored[t].sector].rating, "conviction": "stable",
                            "thesis_summary": f"entry: {decision.rationale}", "triggers": ["CIO entry"]})
    scanner_rows = [{"run_date": d, "ticker": t, "team": team_of.get(t),
                     "scanner_passed": None if inputs.scanner is None else int(inputs.scanner.get(t, False)),
                     "held": int(t in held_before), "in_input_set": int(t in input_set),
                     "quant_score": quant_of.get(t)} for t in sorted(inputs.features)]
    cio_rows = [{"run_date": d, "ticker": x.ticker, "team": scored[x.ticker].team, "decision": x.decision,
                 "conviction": x.conviction, "rank": x.rank, "rationale": x.rationale, "rule_tags": list(x.rule_tags)}
                for x in cio.decisions]
    macro_row = {"run_date": d, "market_regime": macro.market_regime, "regime_source": inputs.regime.source,
                 "sector_modifiers": dict(macro.sector_modifiers), "rationale": macro.rationale}
    score_rows = [{"run_date": d, "ticker": t, "score": s.final_score, "rating": s.rating,
                   "price_at_score": inputs.features[t].get("Close"), "return_10d": None, "return_30d": None,
                   "beat_spy_10d": None, "beat_spy_30d": None} for t, s in sorted(scored.items())]
    return RunRecord(run_date=d, theses=thesis_rows, population=pop_rows, scanner=scanner_rows, cio=cio_rows,
                     macro=macro_row, scores=score_rows)
