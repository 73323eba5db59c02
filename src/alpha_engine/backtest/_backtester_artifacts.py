"""The artifacts the Backtester produces (consumers, e.g. the Evaluator, import these constants).

Keys follow backtester.md §6: ``backtest/{date}/portfolio_stats.json`` (the evaluator's input) and
the executor recommendation ``executor_rec.json``; upstream's ``sweep_df.parquet`` is a JSON
document here (``sweep.json``), so it is schema-checked like every other artifact.
"""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["EXECUTOR_PARAMS", "EXECUTOR_PARAMS_HISTORY", "EXECUTOR_PARAMS_PREVIOUS", "EXECUTOR_REC", "PARAM_SWEEP",
           "PORTFOLIO_STATS"]

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

# The executor config in force (backtester.md §1.1 "Config written back"). The backtest domain owns its
# contents (an ExecutorConfig under "values"); the Evaluator's guarded auto-apply writes it (its stage
# ``updates`` it), and the Backtester and Parity read it by key at the start of the next run.
EXECUTOR_PARAMS = Artifact(
    "config/executor_params.json", schema="executor_params.schema.json", package=_PACKAGE,
    description="the executor config in force (ExecutorConfig fields under values), written only by a guarded apply "
                "or a rollback; absent: [stages.backtester] current, else the factory defaults",
)
EXECUTOR_PARAMS_PREVIOUS = Artifact(
    "config/executor_params_previous.json", schema="executor_params.schema.json", package=_PACKAGE,
    description="the executor config that was in force before the last apply (what a rollback restores)",
)
EXECUTOR_PARAMS_HISTORY = Artifact(
    "config/executor_params_history/{date}.json", schema="executor_params.schema.json", package=_PACKAGE,
    description="the executor config applied on that run date",
)
