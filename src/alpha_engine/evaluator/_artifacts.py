"""The artifacts the Evaluator produces (consumers import these constants)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["CONFIG_CHANGES", "EVALUATION", "EVALUATION_REPORT", "GRADE_HISTORY", "METRICS_HISTORY", "PROMOTION_BASELINE"]

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

# The config auto-apply's records (backtester.md §1.3 regression_monitor, §3 rollback): written only when
# the Evaluator applies, rolls back or measures (``updates``, not ``produces``), and by ``alpha-engine config``.
CONFIG_CHANGES = Artifact(
    "config/changes.json", schema="config_changes.schema.json", package=_PACKAGE,
    description="every change of the applied config (apply, rollback, manual) with its evidence, oldest first",
)
PROMOTION_BASELINE = Artifact(
    "config/promotion_baseline.json", schema="promotion_baseline.schema.json", package=_PACKAGE,
    description="what the last applied config achieved (Sharpe with its interval, max drawdown) and which keys it "
                "applied: the weekly regression check compares with it",
)
METRICS_HISTORY = Artifact(
    "config/metrics_history/{date}.json", schema="metrics_history.schema.json", package=_PACKAGE,
    description="the week's backtest metrics of the config in force, as the regression check read them",
)
