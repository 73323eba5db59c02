from ._config import ATR_METHOD, DrawdownTier, ExecutorConfig
from ._errors import BacktestError, BacktestInputError, ParityError
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
from ._results import ORDER_REASONS, BacktestResult, Orders
from ._rules import BLOCK_REASONS, SELL_REASONS
from ._scalar import simulate_scalar
from ._stats import BacktestStatistics, backtest_statistics, nav_statistics, stationary_bootstrap_indices
from ._vector import simulate_vectorized

__all__ = [
    "ACTIONS",
    "ATR_METHOD",
    "BLOCK_REASONS",
    "CONVICTIONS",
    "ORDER_REASONS",
    "REGIMES",
    "SECTOR_RATINGS",
    "SELL_REASONS",
    "BacktestError",
    "BacktestInputError",
    "BacktestInputs",
    "BacktestResult",
    "BacktestStatistics",
    "DrawdownTier",
    "ExecutorConfig",
    "MarketFeatures",
    "Orders",
    "ParityError",
    "assert_parity",
    "backtest_statistics",
    "close_panel",
    "market_features",
    "nav_statistics",
    "parity_differences",
    "signals_panel",
    "simulate_scalar",
    "simulate_vectorized",
    "stationary_bootstrap_indices",
    "synthetic_inputs",
]
