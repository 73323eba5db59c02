"""The time and entropy sources of the execution being evaluated, for the functions that need them.

``States.UUID``, unseeded ``States.MathRandom``, and JSONata's ``$uuid()``, ``$random()``,
``$now()`` and ``$millis()`` read the :class:`~alpha_engine.sfn.Clock` and
:class:`~alpha_engine.sfn.IdSource` of the engine running the execution, never the wall clock or a
module-wide generator, so two runs with the same seed on the same clock produce the same values.

How they get there: the engine enters :func:`use_sources` around every execution it drives. The
sources live in a :class:`contextvars.ContextVar`, so they follow the execution into every asyncio
task it starts (Parallel branches and Map iterations are tasks created inside that context) while
two executions on one loop keep their own. A compiled expression evaluated outside any execution
has no sources: asking for one raises :class:`~alpha_engine.sfn.NondeterminismError` rather than
quietly reaching for the wall clock. Unit tests enter ``use_sources(FakeClock(), IdSource(seed))``
themselves.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
from collections.abc import Iterator
from dataclasses import dataclass

from ._clock import Clock, IdSource
from ._errors import NondeterminismError

__all__ = ["EvaluationSources", "current_sources", "use_sources"]


@dataclass(frozen=True, slots=True)
class EvaluationSources:
    """The clock and id source of one execution."""

    clock: Clock
    ids: IdSource

    @property
    def rng(self) -> random.Random:
        return self.ids.random

    def now_millis(self) -> int:
        """The clock's now, in epoch milliseconds (JSONata ``$millis()``)."""
        return int(self.clock.now().timestamp() * 1000)


_current: contextvars.ContextVar[EvaluationSources | None] = contextvars.ContextVar(
    "alpha_engine_sfn_evaluation_sources", default=None
)


@contextlib.contextmanager
def use_sources(clock: Clock, ids: IdSource) -> Iterator[EvaluationSources]:
    """Evaluate with ``clock`` and ``ids`` inside the block (and in tasks started from it)."""
    sources = EvaluationSources(clock, ids)
    token = _current.set(sources)
    try:
        yield sources
    finally:
        _current.reset(token)


def current_sources(needed_for: str) -> EvaluationSources:
    """The sources of the execution being evaluated; ``needed_for`` names the caller in the error."""
    sources = _current.get()
    if sources is None:
        raise NondeterminismError(
            f"{needed_for} needs the engine's clock and id source, but no execution is being evaluated "
            "(wrap the evaluation in alpha_engine.sfn._sources.use_sources(clock, ids))"
        )
    return sources
