"""The research package's errors, one tree:

    ResearchError
    ├── DecisionCaptureWriteError   a decision artifact could not be written (the run fails)
    ├── DryRunQuarantineError       a promoted artifact carries the [DRY-RUN marker: not published
    ├── ResearchDbError             research.db cannot be opened, migrated or written
    └── ResearchInputError          an input (features, regime substrate, sector map) is unusable
"""

from __future__ import annotations

__all__ = ["DecisionCaptureWriteError", "DryRunQuarantineError", "ResearchDbError", "ResearchError",
           "ResearchInputError"]


class ResearchError(Exception):
    """Base of every research error."""


class DecisionCaptureWriteError(ResearchError):
    """A decision artifact could not be written; capture never fails silently."""


class DryRunQuarantineError(ResearchError):
    """A stub output (marked ``[DRY-RUN``) reached a publish path: signals, research.db or a notice."""


class ResearchDbError(ResearchError):
    """research.db cannot be opened, migrated or written."""


class ResearchInputError(ResearchError):
    """An input of the research run is unusable (named with where it came from)."""
