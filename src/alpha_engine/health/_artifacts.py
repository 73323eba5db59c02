"""The artifacts the health stages produce."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["HEALTH_REPORT"]

HEALTH_REPORT = Artifact(
    "monitoring/health/{date}.json", schema="health_report.schema.json", package=__package__ or "",
    description="SaturdayHealthCheck: each stage's marker and declared outputs for the run date",
)
