"""The artifacts the Parity stage produces (backtester.md §1.2: ``parity_report.json`` per run and
a trend series; upstream's ``parity_metrics.csv`` is a JSON document here, schema-checked)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["PARITY_HISTORY", "PARITY_REPORT"]

_PACKAGE = __package__ or ""

PARITY_REPORT = Artifact(
    "backtest/{date}/parity_report.json", schema="parity_report.schema.json", package=_PACKAGE,
    description="Parity: the week's decisions replayed through the scalar executor reference and compared with the "
                "vectorized kernel (capture rate, Jaccard of holdings, count RMS, field diff rate, first differences); "
                "the paper executor's trade log when one exists",
)
PARITY_HISTORY = Artifact(
    "backtest/parity/history.json", schema="parity_history.schema.json", package=_PACKAGE,
    description="Parity: the trend of its metrics, one entry per run_date (a rerun replaces its entry)",
)
