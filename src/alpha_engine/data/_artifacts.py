"""The artifacts the data stages produce (consumers import these constants, never copy the keys)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["CANDIDATES", "INSIDER", "LATEST_WEEKLY", "WEEKLY_CONSTITUENTS", "WEEKLY_MANIFEST", "WEEKLY_VALIDATION"]

_PACKAGE = __package__ or ""

WEEKLY_MANIFEST = Artifact(
    "market_data/weekly/{date}/manifest.json", schema="weekly_manifest.schema.json", package=_PACKAGE,
    description="what DataPhase1 wrote: universe, rows, last dates, macro symbols, features, quality, caveats",
)
WEEKLY_VALIDATION = Artifact(
    "market_data/weekly/{date}/validation.json", schema="weekly_validation.schema.json", package=_PACKAGE,
    description="every write-time data anomaly of the run (kind, severity, ticker, day)",
)
WEEKLY_CONSTITUENTS = Artifact(
    "market_data/weekly/{date}/constituents.json", schema="weekly_constituents.schema.json", package=_PACKAGE,
    description="the universe as of the run date, with sectors and the provider's caveats",
)
LATEST_WEEKLY = Artifact(
    "market_data/latest_weekly.json", schema="latest_weekly.schema.json", package=_PACKAGE,
    description="pointer to the latest weekly data folder",
)
CANDIDATES = Artifact(
    "candidates/{date}/candidates.json", schema="candidates.schema.json", package=_PACKAGE,
    description="the Scanner's per-ticker gate results and the passing candidates",
)
INSIDER = Artifact(
    "alternative_data/{date}/insider.json", schema="insider.schema.json", package=_PACKAGE,
    description="DataPhase2: insider transactions (Form 4, 90 days) and company facts per promoted ticker, from SEC EDGAR",
)
