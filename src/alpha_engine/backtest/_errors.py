"""Errors of the backtest package.

::

    BacktestError
     ├── BacktestInputError   a panel, signal array or config does not fit the simulators' contract
     └── ParityError          the scalar reference and the vectorized kernel disagree
"""

from __future__ import annotations

__all__ = ["BacktestError", "BacktestInputError", "ParityError"]


class BacktestError(Exception):
    """Base of every backtest error."""


class BacktestInputError(BacktestError):
    """The inputs are unusable; the message names the array or field, the problem and the fix."""


class ParityError(BacktestError):
    """The two simulators disagree; the message lists the first differences."""
