from ._portfolio import (
    CausalityCheck,
    OutOfSample,
    check_causal_splits,
    check_no_look_ahead,
    covariance_estimator,
    equal_weight,
    mean_variance_utility,
    minimum_variance,
    walk_forward,
)
from ._portfolio_artifacts import COVARIANCE_SWEEP, PORTFOLIO_GATE, RISK_AVERSION_SWEEP
from ._portfolio_data import ClosePanel, load_closes, returns_from_closes
from ._portfolio_errors import LookAheadError, PortfolioBacktestError, PortfolioDataError
from ._portfolio_options import COVARIANCE_ESTIMATORS, PortfolioOptimizerOptions
from ._portfolio_stage import PortfolioOptimizerBacktest
from ._portfolio_stats import (
    GateDecision,
    Interval,
    annual_volatility,
    annualised_sharpe,
    bonferroni_confidence,
    bootstrap_interval,
    max_drawdown,
    one_way_turnover,
    optimizer_gate,
    sharpe_difference,
    stationary_bootstrap_indices,
)
from ._portfolio_sweeps import PortfolioBacktest, run_portfolio_backtest

__all__ = [
    "COVARIANCE_ESTIMATORS",
    "COVARIANCE_SWEEP",
    "PORTFOLIO_GATE",
    "RISK_AVERSION_SWEEP",
    "CausalityCheck",
    "ClosePanel",
    "GateDecision",
    "Interval",
    "LookAheadError",
    "OutOfSample",
    "PortfolioBacktest",
    "PortfolioBacktestError",
    "PortfolioDataError",
    "PortfolioOptimizerBacktest",
    "PortfolioOptimizerOptions",
    "annual_volatility",
    "annualised_sharpe",
    "bonferroni_confidence",
    "bootstrap_interval",
    "check_causal_splits",
    "check_no_look_ahead",
    "covariance_estimator",
    "equal_weight",
    "load_closes",
    "max_drawdown",
    "mean_variance_utility",
    "minimum_variance",
    "one_way_turnover",
    "optimizer_gate",
    "returns_from_closes",
    "run_portfolio_backtest",
    "sharpe_difference",
    "stationary_bootstrap_indices",
    "walk_forward",
]
