"""A scan's deadline: stop ``reserve`` seconds before the stage's timeout, so what was read still
gets analysed, written and reported (``complete: false``) instead of the Lambda being killed.
Upstream's counterfactual ran into its 600 s timeout with nothing to show for it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from alpha_engine.pipeline import PreflightError, Stage

__all__ = ["check_reserve", "deadline"]


def check_reserve(stage: Stage[Any], reserve_seconds: int) -> None:
    """PreflightError when the reserve leaves the stage no time to work."""
    if reserve_seconds >= stage.timeout_seconds:
        raise PreflightError(f"[stages.{stage.slug}] deadline_reserve_seconds {reserve_seconds} must be below the "
                             f"timeout {stage.timeout_seconds} s")


def deadline(stage: Stage[Any], reserve_seconds: int) -> tuple[Callable[[], bool], int]:
    """``(passed, budget)``: ``passed()`` is True once ``budget`` = timeout - reserve seconds have
    passed since this call (a monotonic clock: a wall-clock step never ends a scan early)."""
    started = time.monotonic()
    budget = stage.timeout_seconds - reserve_seconds
    return (lambda: time.monotonic() - started > budget), budget
