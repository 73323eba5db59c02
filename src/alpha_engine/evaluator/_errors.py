"""Errors of the evaluator.

::

    EvaluatorError
     ├── InsufficientDataError   a statistic or grade asked of fewer observations than its floor
     ├── LookAheadError          an outcome that starts on or before its signal date, or ends after the as-of session
     ├── EvaluatorInputError     a stored artifact the evaluator reads is unusable (named with its key)
     └── ConfigChangeError       a config change that cannot be made (nothing to roll back, an unknown key or date)
"""

from __future__ import annotations

__all__ = ["ConfigChangeError", "EvaluatorError", "EvaluatorInputError", "InsufficientDataError", "LookAheadError"]


class EvaluatorError(Exception):
    """Base of every evaluator error."""


class InsufficientDataError(EvaluatorError):
    """Too few observations for the statistic or grade asked for; the message names the count and the floor."""


class LookAheadError(EvaluatorError):
    """An outcome window that is not strictly after its signal date, or not realised by the as-of session."""


class EvaluatorInputError(EvaluatorError):
    """A stored artifact the evaluator reads is unusable; the message names its key and what is wrong."""


class ConfigChangeError(EvaluatorError):
    """A config change that cannot be made; the message names the key, the file and what to do instead."""
