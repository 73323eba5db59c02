"""Retry and Catch as pure functions: which retrier or catcher takes an error, and how long to
wait before the next attempt.

Matching follows the ASL specification and AWS's error-handling documentation:

- an ``ErrorEquals`` name matches the identical error name;
- ``States.ALL`` matches every error except ``States.Runtime`` and ``States.DataLimitExceeded``
  (AWS does not let those be caught or retried through the wildcard);
- ``States.TaskFailed`` matches itself and every error that is not a ``States.*`` name (a Lambda's
  own error type, a service exception...), but not ``States.Timeout`` or
  ``States.HeartbeatTimeout``.

The first retrier (catcher) in definition order whose list matches wins. The delay before retry
``n`` (0-based) is ``IntervalSeconds * BackoffRate ** n``, capped at ``MaxDelaySeconds``, and with
``JitterStrategy: FULL`` drawn uniformly from ``[0, delay]`` with the execution's random source.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ._model import Catcher, Retrier
from ._vocabulary import ERROR_ALL, ERROR_DATA_LIMIT_EXCEEDED, ERROR_RUNTIME, ERROR_TASK_FAILED

__all__ = ["NOT_CATCHABLE_BY_ALL", "backoff_seconds", "error_matches", "match_catcher", "match_retrier"]

#: Errors ``States.ALL`` does not match (and therefore no wildcard retrier or catcher takes).
NOT_CATCHABLE_BY_ALL = frozenset({ERROR_RUNTIME, ERROR_DATA_LIMIT_EXCEEDED})


def error_matches(names: Iterable[str], error: str) -> bool:
    """True if an ``ErrorEquals`` list takes ``error``."""
    for name in names:
        if name == error:
            return True
        if name == ERROR_ALL and error not in NOT_CATCHABLE_BY_ALL:
            return True
        if name == ERROR_TASK_FAILED and not error.startswith("States."):
            return True
    return False


def match_retrier(retriers: Sequence[Retrier], error: str) -> int | None:
    """The index of the first retrier that takes ``error`` (retry counts are kept per retrier)."""
    for index, retrier in enumerate(retriers):
        if error_matches(retrier.errors, error):
            return index
    return None


def match_catcher(catchers: Sequence[Catcher], error: str) -> Catcher | None:
    """The first catcher that takes ``error``, or None (the error then fails the state)."""
    for catcher in catchers:
        if error_matches(catcher.errors, error):
            return catcher
    return None


def backoff_seconds(retrier: Retrier, retries_so_far: int, rng: random.Random) -> float:
    """Seconds to wait before the next attempt, after ``retries_so_far`` retries by this retrier."""
    delay = retrier.interval_seconds * (retrier.backoff_rate ** retries_so_far)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_full:
        delay = rng.uniform(0, delay)
    return delay
