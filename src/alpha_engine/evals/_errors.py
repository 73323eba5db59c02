"""Errors of the eval chain."""

from __future__ import annotations

__all__ = ["CorpusError", "EvalError", "EvalInputError", "EvalJudgeError"]


class EvalError(Exception):
    """Base of the eval chain's errors."""


class EvalInputError(EvalError):
    """An input the eval chain reads is missing, malformed or unusable (the message names it)."""


class CorpusError(EvalError):
    """A captured decision cannot be listed or read (the message names the key)."""


class EvalJudgeError(EvalError):
    """EvalJudge could not judge: its batch or its judge model failed, or no decision was readable
    (the message names the batch or decision, the counts so far and what to do next)."""
