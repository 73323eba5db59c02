"""The artifacts the health stages produce."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["HEALTH_REPORT", "SUBSTRATE_REPORT"]

HEALTH_REPORT = Artifact(
    "monitoring/health/{date}.json", schema="health_report.schema.json", package=__package__ or "",
    description="SaturdayHealthCheck: each stage's marker and declared outputs for the run date",
)
SUBSTRATE_REPORT = Artifact(
    "monitoring/substrate/{date}.json", schema="substrate_report.schema.json", package=__package__ or "",
    description="WeeklySubstrateHealthCheck: each substrate row's status and why, counts, pct ok, constituents drift",
)
