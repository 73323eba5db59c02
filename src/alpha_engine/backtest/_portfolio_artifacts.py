"""The artifacts PortfolioOptimizerBacktest produces (consumers import these constants).

backtester.md §6 names no artifact for this stage, so they sit under the family's
``backtest/{date}/`` prefix in a folder of their own.
"""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["COVARIANCE_SWEEP", "PORTFOLIO_GATE", "RISK_AVERSION_SWEEP"]

_PACKAGE = __package__ or ""

PORTFOLIO_GATE = Artifact(
    "backtest/{date}/portfolio_optimizer/gate.json", schema="portfolio_gate.schema.json", package=_PACKAGE,
    description="PortfolioOptimizerBacktest: does the optimizer beat equal weight out of sample (Sharpe difference "
                "with a block-bootstrap interval), with the walk-forward's causality evidence",
)
COVARIANCE_SWEEP = Artifact(
    "backtest/{date}/portfolio_optimizer/covariance_sweep.json", schema="portfolio_sweep.schema.json",
    package=_PACKAGE,
    description="PortfolioOptimizerBacktest: minimum variance under each covariance estimator, out of sample, "
                "with intervals and a Bonferroni-corrected selection",
)
RISK_AVERSION_SWEEP = Artifact(
    "backtest/{date}/portfolio_optimizer/risk_aversion_sweep.json", schema="portfolio_sweep.schema.json",
    package=_PACKAGE,
    description="PortfolioOptimizerBacktest: mean-variance utility over a risk-aversion grid, out of sample, "
                "with intervals and a Bonferroni-corrected selection",
)
