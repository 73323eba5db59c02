from ._backtester import (
    BacktesterRun,
    Recommendation,
    check_holdout_split,
    recommend_executor,
    run_backtester,
    search_candidates,
    slice_inputs,
)
from ._backtester_artifacts import EXECUTOR_REC, PARAM_SWEEP, PORTFOLIO_STATS
from ._backtester_options import DEFAULT_SEARCH_GRID, BacktesterOptions
from ._backtester_stage import Backtester
from ._config import ATR_METHOD, DrawdownTier, ExecutorConfig
from ._errors import (
    BacktestError,
    BacktestInputError,
    HoldoutLeakError,
    LookAheadError,
    ParityError,
    PortfolioBacktestError,
    PortfolioDataError,
)
from ._features import MarketFeatures, market_features
from ._inputs import (
    ACTIONS,
    CONVICTIONS,
    REGIMES,
    SECTOR_RATINGS,
    BacktestInputs,
    close_panel,
    signals_panel,
    synthetic_inputs,
)
from ._parity import assert_parity, parity_differences
from ._parity_artifacts import PARITY_HISTORY, PARITY_REPORT
from ._parity_options import ParityOptions
from ._parity_stage import Parity, parity_sessions
from ._portfolio import (
    CausalityCheck,
    LowestVarianceSelection,
    OutOfSample,
    check_causal_splits,
    check_no_look_ahead,
    covariance_estimator,
    equal_weight,
    mean_variance_utility,
    minimum_variance,
    pre_selected,
    walk_forward,
)
from ._portfolio_artifacts import COVARIANCE_SWEEP, PORTFOLIO_GATE, RISK_AVERSION_SWEEP
from ._portfolio_data import ClosePanel, load_closes, returns_from_closes
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
from ._replay import DecisionLog, compare_decisions, decisions_from_result, decisions_from_trade_log
from ._results import ORDER_REASONS, BacktestResult, Orders
from ._rules import BLOCK_REASONS, SELL_REASONS
from ._scalar import simulate_scalar
from ._stats import BacktestStatistics, backtest_statistics, nav_statistics
from ._synthetic_signals import SYNTHETIC_SIGNAL_NOTE, synthetic_signal_arrays
from ._vector import simulate_vectorized

__all__ = [
    "ACTIONS",
    "ATR_METHOD",
    "BLOCK_REASONS",
    "BacktestError",
    "BacktestInputError",
    "BacktestInputs",
    "BacktestResult",
    "BacktestStatistics",
    "Backtester",
    "BacktesterOptions",
    "BacktesterRun",
    "CONVICTIONS",
    "COVARIANCE_ESTIMATORS",
    "COVARIANCE_SWEEP",
    "CausalityCheck",
    "ClosePanel",
    "DEFAULT_SEARCH_GRID",
    "DecisionLog",
    "DrawdownTier",
    "EXECUTOR_REC",
    "ExecutorConfig",
    "GateDecision",
    "HoldoutLeakError",
    "Interval",
    "LookAheadError",
    "LowestVarianceSelection",
    "MarketFeatures",
    "ORDER_REASONS",
    "Orders",
    "OutOfSample",
    "PARAM_SWEEP",
    "PARITY_HISTORY",
    "PARITY_REPORT",
    "PORTFOLIO_GATE",
    "PORTFOLIO_STATS",
    "Parity",
    "ParityError",
    "ParityOptions",
    "PortfolioBacktest",
    "PortfolioBacktestError",
    "PortfolioDataError",
    "PortfolioOptimizerBacktest",
    "PortfolioOptimizerOptions",
    "REGIMES",
    "RISK_AVERSION_SWEEP",
    "Recommendation",
    "SECTOR_RATINGS",
    "SELL_REASONS",
    "SYNTHETIC_SIGNAL_NOTE",
    "annual_volatility",
    "annualised_sharpe",
    "assert_parity",
    "backtest_statistics",
    "bonferroni_confidence",
    "bootstrap_interval",
    "check_causal_splits",
    "check_holdout_split",
    "check_no_look_ahead",
    "close_panel",
    "compare_decisions",
    "covariance_estimator",
    "decisions_from_result",
    "decisions_from_trade_log",
    "equal_weight",
    "load_closes",
    "market_features",
    "max_drawdown",
    "mean_variance_utility",
    "minimum_variance",
    "nav_statistics",
    "one_way_turnover",
    "optimizer_gate",
    "parity_differences",
    "parity_sessions",
    "pre_selected",
    "recommend_executor",
    "returns_from_closes",
    "run_backtester",
    "run_portfolio_backtest",
    "search_candidates",
    "sharpe_difference",
    "signals_panel",
    "simulate_scalar",
    "simulate_vectorized",
    "slice_inputs",
    "stationary_bootstrap_indices",
    "synthetic_inputs",
    "synthetic_signal_arrays",
    "walk_forward",
]
