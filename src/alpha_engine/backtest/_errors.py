"""Errors of the backtest package.

::

    BacktestError
     ├── BacktestInputError       a panel, signal array or config does not fit the simulators' contract
     ├── ParityError              the scalar reference and the vectorized kernel disagree
     ├── HoldoutLeakError         the Backtester's search saw a day of its holdout
     ├── CausalityError           a historical prediction came from a model fitted on data from its future
     └── PortfolioBacktestError   the portfolio-optimizer backtest
          ├── PortfolioDataError  the closes in the market store cannot feed the walk-forward
          └── LookAheadError      a walk-forward window saw data from on or after its test window
"""

from __future__ import annotations

__all__ = ["BacktestError", "BacktestInputError", "CausalityError", "HoldoutLeakError", "LookAheadError", "ParityError", "PortfolioBacktestError",
           "PortfolioDataError"]


class BacktestError(Exception):
    """Base of every backtest error."""


class BacktestInputError(BacktestError):
    """The inputs are unusable; the message names the array or field, the problem and the fix."""


class ParityError(BacktestError):
    """The two simulators disagree; the message lists the first differences."""


class HoldoutLeakError(BacktestError):
    """The parameter search's days reach into the holdout; the message names the dates."""


class CausalityError(BacktestError):
    """PredictorBacktest: a prediction for a date used a model fitted on data from on or after it; the
    message names the refit and the dates."""


class PortfolioBacktestError(BacktestError):
    """Base of every portfolio-optimizer backtest error."""


class PortfolioDataError(PortfolioBacktestError):
    """The market data is unusable; the message names the store, the ticker or window, and the fix."""


class LookAheadError(PortfolioBacktestError):
    """A fit used data it could not have had; the message names the fold and the dates."""
