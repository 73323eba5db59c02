"""The artifacts the regime stages produce (consumers import these constants)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["LATEST_REGIME", "REGIME_RETROSPECTIVE", "REGIME_SUBSTRATE"]

_PACKAGE = __package__ or ""

REGIME_SUBSTRATE = Artifact(
    "regime/{date}/substrate.json", schema="substrate.schema.json", package=_PACKAGE,
    description="RegimeSubstrate: the week's regime call (HMM filtered probabilities, composite z-score, BOCPD)",
)
LATEST_REGIME = Artifact(
    "regime/latest.json", schema="substrate.schema.json", package=_PACKAGE,
    description="a copy of the latest regime call",
)
REGIME_RETROSPECTIVE = Artifact(
    "regime/retrospective/{date}.json", schema="retrospective.schema.json", package=_PACKAGE,
    description="RegimeRetrospectiveEval: earlier regime calls scored against the HMM smoother (8-week lag)",
)
