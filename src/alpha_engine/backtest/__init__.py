"""Backtesting: the executor's rules, a scalar reference simulator and a vectorized (numba) kernel held
to it trade for trade, the statistics of a result, and the portfolio-optimizer backtest on skfolio
(stage PortfolioOptimizerBacktest)."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
