"""The artifacts the Backtester produces (consumers, e.g. the Evaluator, import these constants).

Keys follow backtester.md §6: ``backtest/{date}/portfolio_stats.json`` (the evaluator's input) and
the executor recommendation ``executor_rec.json``; upstream's ``sweep_df.parquet`` is a JSON
document here (``sweep.json``), so it is schema-checked like every other artifact.
"""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["EXECUTOR_REC", "PARAM_SWEEP", "PORTFOLIO_STATS"]

_PACKAGE = __package__ or ""

PORTFOLIO_STATS = Artifact(
    "backtest/{date}/portfolio_stats.json", schema="portfolio_stats.schema.json", package=_PACKAGE,
    description="Backtester: the current executor config simulated over the whole window (up to 10 years): Sharpe, "
                "Sortino, max drawdown, Calmar, alpha vs the index, win rate, turnover with bootstrap intervals, the "
                "NAV path, and the scalar-vs-vectorized parity spot-check",
)
PARAM_SWEEP = Artifact(
    "backtest/{date}/sweep.json", schema="param_sweep.schema.json", package=_PACKAGE,
    description="Backtester: the parameter search on the search part of the window (one row per trial, the current "
                "params first), its completion and the chronological split",
)
EXECUTOR_REC = Artifact(
    "backtest/{date}/executor_rec.json", schema="executor_rec.schema.json", package=_PACKAGE,
    description="Backtester: apply / keep / refused for the selected executor params, with the holdout evidence "
                "(paired bootstrap interval of the Sharpe difference) and the twin simulation",
)
