"""Errors of the eval chain."""

from __future__ import annotations

__all__ = ["CorpusError", "EvalError", "EvalInputError"]


class EvalError(Exception):
    """Base of the eval chain's errors."""


class EvalInputError(EvalError):
    """An input the eval chain reads is missing, malformed or unusable (the message names it)."""


class CorpusError(EvalError):
    """A captured decision cannot be listed or read (the message names the key)."""
