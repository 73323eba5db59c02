"""The artifacts the Research stage produces (consumers import these constants)."""

from __future__ import annotations

from alpha_engine.regime import LATEST_REGIME, REGIME_SUBSTRATE
from alpha_engine.store import Artifact

__all__ = ["COST_RAW", "DECISION_ARTIFACT", "LATEST_SIGNALS", "REGIME_LATEST_KEY", "REGIME_SUBSTRATE_KEY", "SIGNALS"]

_PACKAGE = __package__ or ""

SIGNALS: Artifact = Artifact(
    "signals/{date}/signals.json", schema="signals.schema.json", package=_PACKAGE,
    description="Research: market regime, sector ratings, per-ticker signals (ENTER/EXIT/REDUCE/HOLD), buy candidates",
)
LATEST_SIGNALS: Artifact = Artifact(
    "signals/latest.json", schema="signals.schema.json", package=_PACKAGE,
    description="a copy of the latest signals",
)
DECISION_ARTIFACT: Artifact = Artifact(
    "decision_artifacts/{yyyy}/{mm}/{dd}/{agent_id}/{run_id}.json", schema="decision_artifact.schema.json",
    package=_PACKAGE,
    description="one agent decision of a research run: input snapshot (<= 1 MiB), output, model or rule metadata",
)
COST_RAW: Artifact = Artifact(
    "decision_artifacts/_cost_raw/{date}/{run_id}/{agent_id}.jsonl", schema="cost_raw_line.schema.json",
    package=_PACKAGE,
    description="per-call LLM cost telemetry of a research run with an LLM backend: one JSON line per model call "
                "(tokens, model, prompt, recorded cost); AggregateCosts reads it. JSON Lines: the schema is each line's",
)

# The regime substrate RegimeSubstrate writes, read when present (Research declares it an optional
# consumption; the reader falls back to latest.json, then to a neutral prior).
REGIME_SUBSTRATE_KEY: str = REGIME_SUBSTRATE.key
REGIME_LATEST_KEY: str = LATEST_REGIME.key
