"""Errors of the portfolio-optimizer backtest.

::

    PortfolioBacktestError
     ├── PortfolioDataError   the closes in the market store cannot feed the walk-forward
     └── LookAheadError       a walk-forward window saw data from on or after its test window
"""

from __future__ import annotations

__all__ = ["LookAheadError", "PortfolioBacktestError", "PortfolioDataError"]


class PortfolioBacktestError(Exception):
    """Base of every portfolio-optimizer backtest error."""


class PortfolioDataError(PortfolioBacktestError):
    """The market data is unusable; the message names the store, the ticker or window, and the fix."""


class LookAheadError(PortfolioBacktestError):
    """A fit used data it could not have had; the message names the fold and the dates."""
