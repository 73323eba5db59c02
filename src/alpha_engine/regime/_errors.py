"""Errors of the regime package.

::

    RegimeError
     ├── RegimeInputError     the market series is missing, too short, or malformed
     └── RegimeHistoryError   an earlier regime call in the artifact store cannot be scored
"""

from __future__ import annotations

__all__ = ["RegimeError", "RegimeHistoryError", "RegimeInputError"]


class RegimeError(Exception):
    """Base of every regime error."""


class RegimeInputError(RegimeError):
    """The regime model's inputs are unusable; the message names the series and the problem."""


class RegimeHistoryError(RegimeError):
    """An earlier ``regime/{date}/substrate.json`` is unusable; the message names its key."""
