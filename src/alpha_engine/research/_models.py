"""The structured output of each research role (pydantic, closed), and the inputs they share.

An LLM backend returns the same models (its structured output), so everything downstream of an
agent is backend-agnostic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CioDecision",
    "Evidence",
    "CioOutput",
    "Exit",
    "HeldPosition",
    "MacroOutput",
    "PeerReviewOutput",
    "PopulationOutput",
    "PriorThesis",
    "QualAssessment",
    "QualOutput",
    "QuantOutput",
    "QuantPick",
    "Regime",
    "RegimePrior",
    "ScoredTicker",
    "SectorRating",
    "TeamView",
    "ThesisUpdate",
]

Regime = Literal["bull", "neutral", "bear"]
Conviction = Literal["rising", "stable", "declining"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegimePrior(_Closed):
    """The regime substrate as the macro economist sees it (a neutral prior when absent)."""

    label: Regime
    probabilities: dict[Regime, float]
    source: str  # the key read, or "no regime substrate: neutral prior"


class SectorRating(_Closed):
    rating: Literal["overweight", "market_weight", "underweight"]
    modifier: float = Field(ge=0.7, le=1.3)
    rationale: str


class MacroOutput(_Closed):
    market_regime: Regime
    sector_modifiers: dict[str, float]
    sector_ratings: dict[str, SectorRating]
    rationale: str


class QuantPick(_Closed):
    ticker: str
    quant_score: float | None = Field(ge=0, le=100)
    factors: dict[str, float | None]
    rationale: str


class QuantOutput(_Closed):
    team: str
    top: list[QuantPick]  # best first, at most 10


class Evidence(_Closed):
    """One retrieved chunk given to the qual analyst (see ``_evidence.retrieve``)."""

    chunk_id: str
    source_id: str
    score: float
    excerpt: str


class QualAssessment(_Closed):
    ticker: str
    qual_score: float | None = Field(ge=0, le=100)
    conviction: float | None = Field(ge=0, le=100)
    evidence: list[str]
    note: str


class QualOutput(_Closed):
    team: str
    assessments: list[QualAssessment]
    extra_candidates: list[str]
    note: str


class PeerReviewOutput(_Closed):
    team: str
    picks: list[str]  # 2-3 (fewer only when the team has fewer candidates)
    rationale: str


class PriorThesis(_Closed):
    """A held name's thesis as research.db last recorded it."""

    ticker: str
    run_date: str
    score: float | None
    sector_rating: str
    thesis_summary: str
    conviction: Conviction


class ThesisUpdate(_Closed):
    ticker: str
    team: str
    triggers: list[str]
    thesis_summary: str
    conviction: Conviction


class ScoredTicker(_Closed):
    ticker: str
    team: str
    sector: str
    quant: float | None
    qual: float | None
    macro_shift: float
    final_score: float | None
    rating: Literal["BUY", "HOLD", "SELL"]
    factors: dict[str, float | None]


class CioDecision(_Closed):
    ticker: str
    decision: Literal["ADVANCE", "ADVANCE_FORCED", "REJECT"]
    rank: int
    conviction: float
    rationale: str
    rule_tags: list[str]


class CioOutput(_Closed):
    decisions: list[CioDecision]
    rationale: str


class HeldPosition(_Closed):
    ticker: str
    entered: str  # run date of entry
    entry_score: float | None


class Exit(_Closed):
    ticker: str
    score_out: float | None
    reason: str


class PopulationOutput(_Closed):
    population: list[HeldPosition]
    entries: list[str]
    exits: list[Exit]


@dataclass(frozen=True)
class TeamView:
    """What one sector team is given: its tickers (scanner candidates and held names) and their features."""

    team: str
    regime: Regime
    tickers: tuple[str, ...]
    features: Mapping[str, Mapping[str, float | None]]
    sector_of: Mapping[str, str]
    held: frozenset[str] = field(default_factory=frozenset)
    # ticker -> evidence retrieved from the RAG index (set for the tickers the qual analyst assesses)
    evidence: Mapping[str, tuple[Evidence, ...]] = field(default_factory=dict)
