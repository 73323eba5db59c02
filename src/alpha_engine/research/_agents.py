"""The agent interface: one protocol per research role, and a backend bundling one implementation of each.

A backend is deterministic rules (:mod:`._rules`), dry-run stubs (:mod:`._dryrun`) or, later, an
LLM (Anthropic / OpenAI-compatible) returning the same pydantic models. The orchestration
(:mod:`._orchestrate`) only talks to these protocols.

``describe`` tells decision capture what produced a decision: ``None`` for a deterministic
backend (``model_metadata`` and ``full_prompt_context`` are then both absent), or the model and
prompt metadata for an LLM backend (then both are set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._models import (
    CioOutput,
    HeldPosition,
    MacroOutput,
    PeerReviewOutput,
    PriorThesis,
    QualOutput,
    QuantOutput,
    RegimePrior,
    ScoredTicker,
    TeamView,
    ThesisUpdate,
)

__all__ = ["CioAgent", "MacroEconomist", "PeerReviewer", "QualAnalyst", "QuantAnalyst", "ResearchBackend",
           "ThesisMaintainer"]


class MacroEconomist(Protocol):
    def assess(self, prior: RegimePrior, features: Mapping[str, Mapping[str, float | None]],
               sector_of: Mapping[str, str], sectors: Sequence[str]) -> MacroOutput:
        """The market regime, a 0.7-1.3 modifier and a rating per sector."""
        ...


class QuantAnalyst(Protocol):
    def rank(self, view: TeamView) -> QuantOutput:
        """The team's top 10 by factor score."""
        ...


class QualAnalyst(Protocol):
    def review(self, view: TeamView, quant: QuantOutput) -> QualOutput:
        """Qualitative scores for the quant top 5 (and up to one extra candidate)."""
        ...


class PeerReviewer(Protocol):
    def finalize(self, view: TeamView, quant: QuantOutput, qual: QualOutput) -> PeerReviewOutput:
        """The team's 2-3 picks."""
        ...


class ThesisMaintainer(Protocol):
    def update(self, view: TeamView, ticker: str, prior: PriorThesis | None, score: float | None,
               sector_rating: str) -> ThesisUpdate | None:
        """A new thesis when a material trigger fires for a held name; None when none fires."""
        ...


class CioAgent(Protocol):
    def decide(self, picks: Sequence[ScoredTicker], population: Sequence[HeldPosition],
               macro: MacroOutput) -> CioOutput:
        """ADVANCE / REJECT each team pick, with a bounded number of new entrants."""
        ...


@dataclass(frozen=True)
class ResearchBackend:
    """One implementation of every role. ``name`` appears in signals.json and decision artifacts."""

    name: str
    macro: MacroEconomist
    quant: QuantAnalyst
    qual: QualAnalyst
    peer_review: PeerReviewer
    thesis: ThesisMaintainer
    cio: CioAgent
    dry_run: bool = False

    def describe(self, agent_id: str) -> dict[str, Any] | None:
        """Model metadata and prompt context for ``agent_id`` (None: a deterministic decision)."""
        return None
