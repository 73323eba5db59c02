"""Trade-for-trade comparison of two results (the scalar reference against the kernel)."""

from __future__ import annotations

import numpy as np

from ._errors import ParityError
from ._results import BacktestResult

__all__ = ["assert_parity", "parity_differences"]

_INT_COLUMNS = ("decision_day", "fill_day", "ticker", "side", "shares", "reason", "entry_day")
_FLOAT_COLUMNS = ("price", "fee", "entry_price")


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    return np.asarray(both_nan | (np.abs(a - b) <= rtol * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)))


def parity_differences(expected: BacktestResult, actual: BacktestResult, *, rtol: float = 1e-9,
                       limit: int = 10) -> list[str]:
    """What differs between two results, at most ``limit`` lines (empty: they agree).

    Orders must match row for row (integers exactly; prices, fees and entry prices to ``rtol``
    relative, floored at 1 absolute unit); NAV, cash and invested value day by day to ``rtol``;
    the open positions and the blocked-entry counts exactly.
    """
    found: list[str] = []
    e, a = expected.orders, actual.orders
    if len(e) != len(a):
        found.append(f"order count: {len(e)} ({expected.simulator}) vs {len(a)} ({actual.simulator})")
    n = min(len(e), len(a))
    bad = np.zeros(n, np.bool_)
    for name in _INT_COLUMNS:
        bad |= getattr(e, name)[:n] != getattr(a, name)[:n]
    for name in _FLOAT_COLUMNS:
        bad |= ~_close(getattr(e, name)[:n], getattr(a, name)[:n], rtol)
    for row in np.flatnonzero(bad)[:limit]:
        found.append(f"order {row}: {_describe(expected, row)} vs {_describe(actual, row)}")
    for name in ("nav", "cash", "invested"):
        diff = ~_close(getattr(expected, name), getattr(actual, name), rtol)
        if diff.any():
            day = int(np.argmax(diff))
            found.append(f"{name} first differs on {expected.dates[day]} (day {day}): "
                         f"{getattr(expected, name)[day]!r} vs {getattr(actual, name)[day]!r}")
    for name in ("open_ticker", "open_shares", "open_entry_day", "blocked"):
        if not np.array_equal(getattr(expected, name), getattr(actual, name)):
            found.append(f"{name}: {getattr(expected, name).tolist()[:10]} vs {getattr(actual, name).tolist()[:10]}")
    if expected.unfilled != actual.unfilled:
        found.append(f"unfilled orders: {expected.unfilled} vs {actual.unfilled}")
    return found[:limit]


def _describe(result: BacktestResult, row: int) -> str:
    o = result.orders
    return (f"[{result.simulator} day {o.fill_day[row]} {result.tickers[o.ticker[row]]} side {o.side[row]} "
            f"shares {o.shares[row]} price {o.price[row]:.6f} reason {o.reason[row]}]")


def assert_parity(expected: BacktestResult, actual: BacktestResult, *, rtol: float = 1e-9) -> None:
    """Raise :class:`ParityError` listing the first differences, if any."""
    differences = parity_differences(expected, actual, rtol=rtol)
    if differences:
        raise ParityError("the simulators disagree:\n  " + "\n  ".join(differences))
