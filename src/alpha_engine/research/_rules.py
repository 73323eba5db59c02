"""The deterministic backend: every research role as a documented rule on the stored features.

Rule set ``RULE_SET`` (docs/research.md restates it):

* **Macro economist.** ``tilt = 0.7 * (P(bull) - P(bear))`` from the regime substrate (a neutral
  prior, probabilities 0.25/0.5/0.25, contributes 0) ``+ 0.3 * (2 * breadth - 1)``, breadth being
  the share of tickers with ``price_vs_ma200 > 0``. ``tilt > 0.2`` is bull, ``< -0.2`` bear, else
  neutral. Sector modifier ``1 + 0.15 * tanh(10 * (sector median momentum_20d - overall median))
  + regime tilt`` (bull: +0.05 to cyclicals, -0.05 to defensive sectors; bear the reverse),
  clipped to 0.7-1.3; >= 1.08 overweight, <= 0.92 underweight (upstream's thresholds).
* **Quant analyst.** Factor score = regime-blended mean of four price-only factors built from the
  robust cross-sectional z-scores in the market store: momentum = mean(momentum_20d_zscore,
  return_60d_zscore); stability (a quality proxy; no fundamentals are stored) =
  -idio_vol_60d_zscore; value (a drawdown proxy) = -dist_from_52w_high_zscore; low-vol =
  -realized_vol_63d_zscore. Weights ``FACTOR_WEIGHTS[regime]``; a missing factor is dropped and
  the rest renormalised; no factor at all gives a null score. quant_score = clip(50 + 15 * composite,
  0, 100). Top 10, best first (ties by ticker).
* **Qual analyst.** Each of the quant top 5 is assessed on the evidence retrieved for it from the
  RAG index (``TeamView.evidence``, see ``_evidence.retrieve``). No evidence: qual_score and
  conviction null and the note "no evidence retrieved"; never an invented score. Evidence: its
  presence only adjusts confidence, never direction (the rules do not read the text for a view):
  qual_score = the ticker's quant_score (so the aggregated score is unchanged), conviction =
  min(100, ``CONVICTION_PER_SOURCE`` x distinct source documents), and ``evidence`` lists each
  chunk as "chunk_id | source_id | score | excerpt".
* **Peer review.** The top 2 quant names with a score, plus a third when its score >= 60.
* **Thesis maintenance** (held names only): material triggers are a final-score change of more
  than 10 points since the last thesis, a 5-day move beyond 2 x its 5-day volatility
  (realized_vol_20d * sqrt(5/252), the close-only stand-in for 2 x ATR), or a change of the
  sector rating.
* **CIO.** BUY-rated picks not already held, by final score: ADVANCE up to ``MAX_NEW_ENTRANTS``
  and the population's free room; if fewer than ``MIN_NEW_ENTRANTS`` advance, the best remaining
  picks scoring >= ``FORCE_FILL_MIN`` are ADVANCE_FORCED; every other pick is REJECTed with its reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from statistics import median
from typing import Literal

from ._agents import ResearchBackend
from ._models import (
    CioDecision,
    CioOutput,
    HeldPosition,
    MacroOutput,
    PeerReviewOutput,
    PriorThesis,
    QualAssessment,
    QualOutput,
    QuantOutput,
    QuantPick,
    Regime,
    RegimePrior,
    ScoredTicker,
    SectorRating,
    TeamView,
    ThesisUpdate,
)

__all__ = [
    "FACTOR_WEIGHTS",
    "FORCE_FILL_MIN",
    "MAX_NEW_ENTRANTS",
    "MAX_POPULATION",
    "MIN_NEW_ENTRANTS",
    "CONVICTION_PER_SOURCE",
    "NO_EVIDENCE",
    "RULE_SET",
    "deterministic_backend",
    "factor_profile",
    "factor_score",
]

RULE_SET = "alpha-engine-research-rules/2"
NO_EVIDENCE = "no evidence retrieved"
CONVICTION_PER_SOURCE = 25.0
FACTOR_WEIGHTS: dict[Regime, dict[str, float]] = {
    "bull": {"momentum": 0.5, "stability": 0.2, "value": 0.1, "low_vol": 0.2},
    "neutral": {"momentum": 0.35, "stability": 0.25, "value": 0.15, "low_vol": 0.25},
    "bear": {"momentum": 0.15, "stability": 0.3, "value": 0.15, "low_vol": 0.4},
}
CYCLICAL = frozenset({"Information Technology", "Consumer Discretionary", "Financials", "Industrials", "Materials",
                      "Communication Services", "Energy"})
DEFENSIVE = frozenset({"Consumer Staples", "Health Care", "Utilities", "Real Estate"})
TOP_N = 10
QUAL_N = 5
THIRD_PICK_MIN = 60.0
SCORE_TRIGGER = 10.0
MAX_NEW_ENTRANTS = 10
MIN_NEW_ENTRANTS = 2
FORCE_FILL_MIN = 60.0
MAX_POPULATION = 8


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _round(value: float) -> float:
    return round(value, 6)


def factor_profile(features: Mapping[str, float | None]) -> dict[str, float | None]:
    """The four price-only factors of one ticker (None when its inputs are missing)."""
    def neg(name: str) -> float | None:
        value = _num(features.get(name))
        return None if value is None else -value

    momentum = [v for v in (_num(features.get("momentum_20d_zscore")), _num(features.get("return_60d_zscore")))
                if v is not None]
    return {"momentum": sum(momentum) / len(momentum) if momentum else None,
            "stability": neg("idio_vol_60d_zscore"), "value": neg("dist_from_52w_high_zscore"),
            "low_vol": neg("realized_vol_63d_zscore")}


def factor_score(profile: Mapping[str, float | None], regime: Regime) -> float | None:
    """0-100: 50 + 15 x the regime-weighted mean of the present factors (None if none is present)."""
    weights = FACTOR_WEIGHTS[regime]
    present = {k: v for k, v in profile.items() if v is not None}
    if not present:
        return None
    total = sum(weights[k] for k in present)
    composite = sum(weights[k] * v for k, v in present.items()) / total
    return _round(min(100.0, max(0.0, 50.0 + 15.0 * composite)))


class RuleMacroEconomist:
    def assess(self, prior: RegimePrior, features: Mapping[str, Mapping[str, float | None]],
               sector_of: Mapping[str, str], sectors: Sequence[str]) -> MacroOutput:
        trend = [v for t in sorted(features) if (v := _num(features[t].get("price_vs_ma200"))) is not None]
        breadth = sum(v > 0 for v in trend) / len(trend) if trend else 0.5
        tilt = 0.7 * (prior.probabilities["bull"] - prior.probabilities["bear"]) + 0.3 * (2 * breadth - 1)
        regime: Regime = "bull" if tilt > 0.2 else "bear" if tilt < -0.2 else "neutral"
        momentum = {t: m for t in sorted(features) if (m := _num(features[t].get("momentum_20d"))) is not None}
        overall = median(momentum.values()) if momentum else 0.0
        modifiers: dict[str, float] = {}
        ratings: dict[str, SectorRating] = {}
        for sector in sectors:
            members = [m for t, m in momentum.items() if sector_of.get(t) == sector]
            relative = median(members) - overall if members else 0.0
            regime_tilt = {"bull": 0.05, "bear": -0.05, "neutral": 0.0}[regime]
            regime_tilt *= 1 if sector in CYCLICAL else -1
            modifier = _round(min(1.3, max(0.7, 1.0 + 0.15 * math.tanh(10 * relative) + regime_tilt)))
            rating: Literal["overweight", "market_weight", "underweight"] = "overweight" if modifier >= 1.08 else "underweight" if modifier <= 0.92 else "market_weight"
            modifiers[sector] = modifier
            ratings[sector] = SectorRating(rating=rating, modifier=modifier, rationale=(
                f"{len(members)} names, median 20d momentum {relative:+.4f} vs the universe; "
                f"regime {regime} tilt {regime_tilt:+.2f}"))
        return MacroOutput(market_regime=regime, sector_modifiers=modifiers, sector_ratings=ratings, rationale=(
            f"{prior.source}; P(bull) {prior.probabilities['bull']:.3f}, P(bear) {prior.probabilities['bear']:.3f}; "
            f"breadth (price above its 200-day mean) {breadth:.3f} of {len(trend)}; tilt {tilt:+.4f} -> {regime}"))


class RuleQuantAnalyst:
    def rank(self, view: TeamView) -> QuantOutput:
        picks = []
        for ticker in view.tickers:
            profile = {k: None if v is None else _round(v) for k, v in factor_profile(view.features[ticker]).items()}
            score = factor_score(profile, view.regime)
            shown = ", ".join(f"{k} {'n/a' if v is None else f'{v:+.3f}'}" for k, v in profile.items())
            picks.append(QuantPick(ticker=ticker, quant_score=score, factors=profile,
                                   rationale=f"{view.regime}-weighted factors: {shown}"))
        picks.sort(key=lambda p: (p.quant_score is None, -(p.quant_score or 0.0), p.ticker))
        return QuantOutput(team=view.team, top=picks[:TOP_N])


class RuleQualAnalyst:
    def review(self, view: TeamView, quant: QuantOutput) -> QualOutput:
        assessments = []
        for pick in quant.top[:QUAL_N]:
            found = view.evidence.get(pick.ticker, ())
            if not found:
                assessments.append(QualAssessment(ticker=pick.ticker, qual_score=None, conviction=None, evidence=[],
                                                  note=NO_EVIDENCE))
                continue
            sources = sorted({e.source_id for e in found})
            assessments.append(QualAssessment(
                ticker=pick.ticker, qual_score=pick.quant_score,
                conviction=min(100.0, CONVICTION_PER_SOURCE * len(sources)),
                evidence=[f"{e.chunk_id} | {e.source_id} | {e.score:.6f} | {e.excerpt}" for e in found],
                note=(f"{len(found)} evidence chunk(s) from {len(sources)} source(s): presence only, so qual_score = "
                      f"quant_score (no change of direction) and conviction {CONVICTION_PER_SOURCE:g} per source")))
        with_evidence = sum(1 for a in assessments if a.evidence)
        note = NO_EVIDENCE if not with_evidence else f"evidence retrieved for {with_evidence} of {len(assessments)}"
        return QualOutput(team=view.team, assessments=assessments, extra_candidates=[], note=note)


class RulePeerReviewer:
    def finalize(self, view: TeamView, quant: QuantOutput, qual: QualOutput) -> PeerReviewOutput:
        scored = [p for p in quant.top if p.quant_score is not None]
        picks = [p.ticker for p in scored[:2]]
        if len(scored) > 2 and (scored[2].quant_score or 0.0) >= THIRD_PICK_MIN:
            picks.append(scored[2].ticker)
        why = (f"top {len(picks)} of {len(scored)} scored names; a third pick needs quant >= {THIRD_PICK_MIN:g}; "
               f"qual: {qual.note}")
        return PeerReviewOutput(team=view.team, picks=picks, rationale=why)


class RuleThesisMaintainer:
    def update(self, view: TeamView, ticker: str, prior: PriorThesis | None, score: float | None,
               sector_rating: str) -> ThesisUpdate | None:
        features = view.features.get(ticker, {})
        triggers = []
        if prior is None:
            triggers.append("no prior thesis")
        else:
            if prior.score is not None and score is not None and abs(score - prior.score) > SCORE_TRIGGER:
                triggers.append(f"score {prior.score:.1f} -> {score:.1f} (> {SCORE_TRIGGER:g} points)")
            if prior.sector_rating != sector_rating:
                triggers.append(f"sector rating {prior.sector_rating} -> {sector_rating}")
        move, vol = _num(features.get("momentum_5d")), _num(features.get("realized_vol_20d"))
        if move is not None and vol is not None and abs(move) > 2 * vol * math.sqrt(5 / 252):
            triggers.append(f"5-day move {move:+.2%} beyond 2 x its 5-day volatility {vol * math.sqrt(5 / 252):.2%}")
        if not triggers:
            return None
        before = None if prior is None else prior.score
        conviction: Literal["rising", "stable", "declining"] = ("stable" if before is None or score is None or abs(score - before) <= SCORE_TRIGGER / 2
                      else "rising" if score > before else "declining")
        shown = "n/a" if score is None else f"{score:.1f}"
        return ThesisUpdate(ticker=ticker, team=view.team, triggers=triggers, conviction=conviction,
                            thesis_summary=f"held; final score {shown}, sector {sector_rating}; "
                                           f"updated on: {'; '.join(triggers)}")


class RuleCio:
    def decide(self, picks: Sequence[ScoredTicker], population: Sequence[HeldPosition],
               macro: MacroOutput) -> CioOutput:
        held = {p.ticker for p in population}
        room = max(0, MAX_POPULATION - len(held))
        limit = min(MAX_NEW_ENTRANTS, room)
        ordered = sorted(picks, key=lambda s: (s.final_score is None, -(s.final_score or 0.0), s.ticker))
        decisions: list[CioDecision] = []
        advanced = 0
        for rank, pick in enumerate(ordered, start=1):
            decision: Literal["ADVANCE", "REJECT"]
            score = pick.final_score or 0.0
            tags = [f"rating:{pick.rating}", f"sector:{macro.sector_ratings[pick.sector].rating}"]
            if pick.ticker in held:
                decision, why = "REJECT", "already held: not a new entrant"
                tags.append("held")
            elif pick.rating != "BUY":
                decision, why = "REJECT", f"rated {pick.rating}, not BUY"
            elif advanced >= limit:
                decision, why = "REJECT", f"no room: {advanced} advanced, limit {limit} (population cap " \
                                          f"{MAX_POPULATION}, max {MAX_NEW_ENTRANTS} new)"
                tags.append("capacity")
            else:
                decision, why = "ADVANCE", f"BUY at {score:.1f}, rank {rank} of {len(ordered)}"
                advanced += 1
            decisions.append(CioDecision(ticker=pick.ticker, decision=decision, rank=rank, conviction=_round(score),
                                         rationale=why, rule_tags=tags))
        # Force-fill to the minimum from the best rejected non-held picks with enough conviction.
        for i, d in enumerate(decisions):
            if advanced >= min(MIN_NEW_ENTRANTS, limit):
                break
            if d.decision == "REJECT" and "held" not in d.rule_tags and d.conviction >= FORCE_FILL_MIN:
                decisions[i] = d.model_copy(update={
                    "decision": "ADVANCE_FORCED", "rule_tags": [*d.rule_tags, "force_fill"],
                    "rationale": f"force-filled to the minimum of {MIN_NEW_ENTRANTS} new entrants "
                                 f"(conviction {d.conviction:.1f} >= {FORCE_FILL_MIN:g}); was: {d.rationale}"})
                advanced += 1
        return CioOutput(decisions=decisions, rationale=(
            f"{advanced} new entrants of {len(ordered)} picks; population {len(held)} of {MAX_POPULATION}"))


def deterministic_backend() -> ResearchBackend:
    """Every role by the rules of ``RULE_SET`` (see module docstring)."""
    return ResearchBackend(name="deterministic", macro=RuleMacroEconomist(), quant=RuleQuantAnalyst(),
                           qual=RuleQualAnalyst(), peer_review=RulePeerReviewer(), thesis=RuleThesisMaintainer(),
                           cio=RuleCio())
