"""The dry-run (``dry_run_llm``) path: stub agents whose every string carries ``[DRY-RUN``, and the
quarantine that refuses to publish anything carrying that marker.

Stubs exercise the whole graph (every model validates, every downstream node runs) without a
model call. The quarantine is the last check before each publish path (signals.json,
research.db, a notification): :func:`quarantine` raises :class:`DryRunQuarantineError` naming
the first marked location it finds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._agents import ResearchBackend
from ._errors import DryRunQuarantineError
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
    RegimePrior,
    ScoredTicker,
    SectorRating,
    TeamView,
    ThesisUpdate,
)

__all__ = ["DRY_RUN_MARKER", "dry_run_backend", "find_dry_run_marker", "quarantine"]

DRY_RUN_MARKER = "[DRY-RUN"
_STUB = f"{DRY_RUN_MARKER}] stub output, no model was called"


def find_dry_run_marker(value: Any, path: str = "") -> str | None:
    """The JSON path of the first string (value or key) holding the marker, or None."""
    if isinstance(value, str):
        return path or "/" if DRY_RUN_MARKER in value else None
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            if DRY_RUN_MARKER in str(key):
                return f"{path}/{key}"
            found = find_dry_run_marker(value[key], f"{path}/{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = find_dry_run_marker(item, f"{path}/{i}")
            if found is not None:
                return found
    return None


def quarantine(what: str, value: Any) -> None:
    """Refuse to publish ``what`` (a key, 'research.db', a notification) if ``value`` carries the marker."""
    found = find_dry_run_marker(value)
    if found is not None:
        raise DryRunQuarantineError(f"refusing to publish {what}: it carries the {DRY_RUN_MARKER} stub marker "
                                    f"at {found} (a dry-run output must never be promoted)")


class _StubMacro:
    def assess(self, prior: RegimePrior, features: Mapping[str, Mapping[str, float | None]],
               sector_of: Mapping[str, str], sectors: Sequence[str]) -> MacroOutput:
        ratings = {s: SectorRating(rating="market_weight", modifier=1.0, rationale=_STUB) for s in sectors}
        return MacroOutput(market_regime="neutral", sector_modifiers=dict.fromkeys(sectors, 1.0),
                           sector_ratings=ratings, rationale=_STUB)


class _StubQuant:
    def rank(self, view: TeamView) -> QuantOutput:
        return QuantOutput(team=view.team, top=[QuantPick(ticker=t, quant_score=50.0, factors={}, rationale=_STUB)
                                                for t in view.tickers[:10]])


class _StubQual:
    def review(self, view: TeamView, quant: QuantOutput) -> QualOutput:
        return QualOutput(team=view.team, extra_candidates=[], note=_STUB, assessments=[
            QualAssessment(ticker=p.ticker, qual_score=50.0, conviction=50.0, evidence=[], note=_STUB)
            for p in quant.top[:5]])


class _StubPeerReview:
    def finalize(self, view: TeamView, quant: QuantOutput, qual: QualOutput) -> PeerReviewOutput:
        return PeerReviewOutput(team=view.team, picks=[p.ticker for p in quant.top[:2]], rationale=_STUB)


class _StubThesis:
    def update(self, view: TeamView, ticker: str, prior: PriorThesis | None, score: float | None,
               sector_rating: str) -> ThesisUpdate | None:
        return ThesisUpdate(ticker=ticker, team=view.team, triggers=[_STUB], thesis_summary=_STUB,
                            conviction="stable")


class _StubCio:
    def decide(self, picks: Sequence[ScoredTicker], population: Sequence[HeldPosition],
               macro: MacroOutput) -> CioOutput:
        return CioOutput(rationale=_STUB, decisions=[
            CioDecision(ticker=p.ticker, decision="REJECT", rank=i, conviction=0.0, rationale=_STUB, rule_tags=[])
            for i, p in enumerate(picks, start=1)])


def dry_run_backend() -> ResearchBackend:
    """Stubs for every role: every free-text field carries the ``[DRY-RUN`` marker."""
    return ResearchBackend(name="dry-run-stub", macro=_StubMacro(), quant=_StubQuant(), qual=_StubQual(),
                           peer_review=_StubPeerReview(), thesis=_StubThesis(), cio=_StubCio(), dry_run=True)
