"""The artifacts the Evaluator produces (consumers import these constants)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["EVALUATION", "EVALUATION_REPORT", "GRADE_HISTORY"]

_PACKAGE = __package__ or ""

EVALUATION = Artifact(
    "evaluator/{date}/evaluation.json", schema="evaluation.schema.json", package=_PACKAGE,
    description="Evaluator: the verdict, the A-F scorecard, each module's status and figures (completeness tracker)",
)
EVALUATION_REPORT = Artifact(
    "evaluator/{date}/report.html",
    description="Evaluator: the week's self-contained HTML report (verdict, grades, plots inline)",
)
GRADE_HISTORY = Artifact(
    "evaluator/grade_history.json", schema="grade_history.schema.json", package=_PACKAGE,
    description="Evaluator: the last 52 weekly scorecards, one per run_date (a rerun replaces its week)",
)
