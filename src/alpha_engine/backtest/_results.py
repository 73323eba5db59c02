"""What a simulation returns: the order ledger (every fill, with its reason), the daily NAV,
the positions left open and the blocked-entry counts. Both simulators build the same type."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._config import ATR_METHOD, ExecutorConfig
from ._rules import BLOCK_REASONS, ENTRY, SELL_REASONS

__all__ = ["ORDER_REASONS", "BacktestResult", "Orders"]

ORDER_REASONS = (ENTRY, *SELL_REASONS)  # order reason code -> name

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Orders:
    """Every fill, in fill order, as columns. ``side`` is +1 (buy) or -1 (sell); ``price`` is the
    fill price (slippage included), ``fee`` the fee paid; for sells ``entry_day`` and
    ``entry_price`` are the position's (a sell is one trade: a full exit or a REDUCE), for buys -1
    and NaN. Days are indices into the result's ``dates``."""

    decision_day: I64
    fill_day: I64
    ticker: I64
    side: I64
    shares: I64
    price: F64
    fee: F64
    reason: I64
    entry_day: I64
    entry_price: F64

    def __len__(self) -> int:
        return len(self.fill_day)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """One simulation of one config. ``nav``/``cash``/``invested`` are end-of-day values (after the
    day's fills); ``open_*`` describe the positions held after the last day; ``blocked`` counts
    blocked ENTER signals per :data:`BLOCK_REASONS`; ``unfilled`` counts orders decided on the last
    day that had no next day to fill on."""

    config: ExecutorConfig
    dates: npt.NDArray[np.datetime64]
    tickers: tuple[str, ...]
    nav: F64
    cash: F64
    invested: F64
    orders: Orders
    open_ticker: I64
    open_shares: I64
    open_avg_cost: F64
    open_entry_day: I64
    blocked: I64
    unfilled: int
    simulator: str
    atr_method: str = ATR_METHOD

    def orders_frame(self) -> pd.DataFrame:
        """The ledger with dates and ticker names."""
        o = self.orders
        return pd.DataFrame({
            "decision_date": self.dates[o.decision_day], "fill_date": self.dates[o.fill_day],
            "ticker": np.asarray(self.tickers, dtype=object)[o.ticker],
            "action": np.where(o.side > 0, "ENTER", np.where(np.isin(o.reason, _REDUCE_CODES), "REDUCE", "EXIT")),
            "shares": o.shares, "price": o.price, "fee": o.fee,
            "reason": np.asarray(ORDER_REASONS, dtype=object)[o.reason],
        })

    def trades_frame(self) -> pd.DataFrame:
        """One row per sell (a full exit or a REDUCE): the round trip of those shares."""
        o = self.orders
        sells = o.side < 0
        entry_day = o.entry_day[sells]
        return pd.DataFrame({
            "ticker": np.asarray(self.tickers, dtype=object)[o.ticker[sells]],
            "entry_date": self.dates[entry_day], "entry_price": o.entry_price[sells],
            "exit_date": self.dates[o.fill_day[sells]], "exit_price": o.price[sells],
            "shares": o.shares[sells], "reason": np.asarray(ORDER_REASONS, dtype=object)[o.reason[sells]],
            "return": o.price[sells] / o.entry_price[sells] - 1.0,
        })

    def positions_frame(self) -> pd.DataFrame:
        """The positions still open after the last day."""
        return pd.DataFrame({"ticker": np.asarray(self.tickers, dtype=object)[self.open_ticker],
                             "shares": self.open_shares, "avg_cost": self.open_avg_cost,
                             "entry_date": self.dates[self.open_entry_day]})

    def blocked_counts(self) -> dict[str, int]:
        return {reason: int(n) for reason, n in zip(BLOCK_REASONS, self.blocked, strict=True)}


_REDUCE_CODES = [ORDER_REASONS.index(r) for r in ("research_reduce", "profit_take", "time_decay_reduce")]
