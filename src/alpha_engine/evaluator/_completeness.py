"""The per-module completeness tracker: each grading module runs on its own, and reports
``ok``, ``degraded`` (it ran, on part of what it needs; the reason says which part), ``skipped``
(its inputs are absent or below a sample-size floor; the reason says which) or ``error`` (it raised;
the reason is the exception). One module's error never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import EvaluatorError, InsufficientDataError

__all__ = ["MODULE_STATUSES", "CompletenessTracker", "ModuleReport", "ModuleResult", "SkipModule"]

MODULE_STATUSES = ("ok", "degraded", "skipped", "error")


class SkipModule(EvaluatorError):
    """Raised by a module whose inputs are absent: the module is ``skipped`` with this reason."""


@dataclass(frozen=True)
class ModuleResult:
    """What a module returns: its figures, and why it is degraded (empty: ok)."""

    data: dict[str, Any]
    degraded: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModuleReport:
    name: str
    status: str
    reason: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, **({"data": self.data} if self.data else {})}


class CompletenessTracker:
    """Runs modules and records each one's status (timings go to the log, not the artifact, which
    must be the same bytes on a rerun)."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[logging.Logger]) -> None:
        self._logger = logger
        self.reports: dict[str, ModuleReport] = {}

    def run(self, name: str, module: Callable[[], ModuleResult]) -> ModuleReport:
        started = time.perf_counter()
        try:
            result = module()
        except SkipModule as exc:
            report = ModuleReport(name, "skipped", str(exc))
        except InsufficientDataError as exc:
            report = ModuleReport(name, "skipped", f"insufficient data: {exc}")
        except Exception as exc:  # one module's failure must not stop the others; it is reported
            self._logger.exception("module %s failed", name)
            report = ModuleReport(name, "error", f"{type(exc).__name__}: {exc}")
        else:
            status = "degraded" if result.degraded else "ok"
            report = ModuleReport(name, status, "; ".join(result.degraded) or None, result.data)
        self.reports[name] = report
        self._logger.info("module %s: %s in %.2fs%s", name, report.status, time.perf_counter() - started,
                          f" ({report.reason})" if report.reason else "")
        return report

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.reports.values() if r.status == s) for s in MODULE_STATUSES}
