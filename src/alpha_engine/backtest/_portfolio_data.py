"""The walk-forward's input: daily closes of the universe from the market store, and their returns.

A ticker enters the panel only with a close on every date of the window (gaps of up to
``MAX_FILL_DAYS`` consecutive dates are carried forward, as upstream's price matrix does); the
others are left out and listed with the reason. The ticker set is decided over the whole window,
which favours names that survived it: the panel says so (``SURVIVORSHIP_CAVEAT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._errors import PortfolioDataError

if TYPE_CHECKING:
    from alpha_engine.store import MarketStore

__all__ = ["MAX_FILL_DAYS", "SURVIVORSHIP_CAVEAT", "ClosePanel", "load_closes", "returns_from_closes"]

MAX_FILL_DAYS = 5
SURVIVORSHIP_CAVEAT = ("tickers are those with closes over the whole window (decided with the window's end in "
                       "view): names that listed, delisted or had long gaps inside it are left out")


@dataclass(frozen=True)
class ClosePanel:
    """Daily closes (dates x tickers, no NaN) and the tickers left out, with why."""

    closes: pd.DataFrame
    dropped: tuple[tuple[str, str], ...]
    source: str

    @property
    def tickers(self) -> list[str]:
        return [str(c) for c in self.closes.columns]


def _bad_close(frame: pd.Series) -> pd.Timestamp | None:
    bad = frame[(frame <= 0) | np.isinf(frame.to_numpy())]
    return None if bad.empty else pd.Timestamp(bad.index[0])


def load_closes(store: MarketStore, as_of: date, *, history_days: int | None, min_assets: int,
                min_rows: int) -> ClosePanel:
    """The universe's closes up to ``as_of`` (the last ``history_days`` returns, or all stored).

    Raises :class:`PortfolioDataError` naming the store and what is wrong: no universe, a close
    that is zero, negative or infinite (ticker and date), fewer than ``min_assets`` tickers with
    complete closes, or fewer than ``min_rows`` daily returns in the window.
    """
    where = f"market store {store.uri}"
    if not store.libraries_present() or not (tickers := store.tickers()):
        raise PortfolioDataError(f"{where} has no universe tickers: DataPhase1 builds it (run it for this run_date)")
    frames = store.read_many(tickers, end=as_of, columns=["Close"])
    closes = pd.concat({t: frames[t]["Close"].astype(np.float64) for t in tickers}, axis=1).sort_index()
    if closes.empty:
        raise PortfolioDataError(f"{where}: no closes on or before {as_of.isoformat()} for any of {len(tickers)} tickers")
    if history_days is not None:
        closes = closes.iloc[-(history_days + 1):]
    for ticker in tickers:
        bad_day = _bad_close(closes[ticker].dropna())
        if bad_day is not None:
            raise PortfolioDataError(f"{where}: universe/{ticker} has a close of {closes.at[bad_day, ticker]} on "
                                     f"{bad_day.date().isoformat()} (closes must be positive and finite); repair "
                                     "the ticker's bars (rerun DataPhase1) before this stage")
    filled = closes.ffill(limit=MAX_FILL_DAYS)
    dropped: list[tuple[str, str]] = []
    for ticker in tickers:
        missing = int(filled[ticker].isna().sum())
        if missing:
            first = filled[ticker].first_valid_index()
            reason = ("no closes in the window" if first is None else
                      f"{missing} of {len(filled)} dates without a close (first close "
                      f"{pd.Timestamp(first).date().isoformat()}, window from "
                      f"{pd.Timestamp(filled.index[0]).date().isoformat()})")
            dropped.append((ticker, reason))
    kept = filled.drop(columns=[t for t, _ in dropped])
    span = (f"{pd.Timestamp(closes.index[0]).date().isoformat()} to {pd.Timestamp(closes.index[-1]).date().isoformat()}")
    if kept.shape[1] < min_assets:
        raise PortfolioDataError(f"{where}: {kept.shape[1]} of {len(tickers)} tickers have complete closes over "
                                 f"{span}; the walk-forward needs at least {min_assets} (min_assets). Left out: "
                                 + "; ".join(f"{t}: {r}" for t, r in dropped[:5]))
    if len(kept) - 1 < min_rows:
        raise PortfolioDataError(f"{where}: the window {span} has {len(kept) - 1} daily returns; the walk-forward "
                                 f"needs at least {min_rows} (train_days + test_days): load more history or "
                                 "lower history_days/train_days/test_days")
    kept.index.name = "date"
    return ClosePanel(closes=kept, dropped=tuple(dropped), source=where)


def returns_from_closes(closes: pd.DataFrame) -> pd.DataFrame:
    """Daily linear returns, each dated by the close it ends on (skfolio's ``prices_to_returns``)."""
    from skfolio.preprocessing import prices_to_returns

    returns = prices_to_returns(closes)
    assert isinstance(returns, pd.DataFrame)
    return returns
