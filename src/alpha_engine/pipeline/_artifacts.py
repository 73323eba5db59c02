"""The artifacts the framework itself writes for every stage: health markers and shipped logs."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["FRAMEWORK_ARTIFACTS", "HEALTH_MARKER", "STAGE_LOG"]

HEALTH_MARKER = Artifact(
    "health/{slug}.json", schema="health_marker.schema.json", package=__package__ or "",
    description="the stage runner's record of a stage's last outcome (status, last_success, summary, warnings)",
)
STAGE_LOG = Artifact(
    "_logs/{slug}/{date}/{execution}/{file}",
    description="one attempt of a stage process: its output, shipped by log capture on every exit",
)
FRAMEWORK_ARTIFACTS = (HEALTH_MARKER, STAGE_LOG)
