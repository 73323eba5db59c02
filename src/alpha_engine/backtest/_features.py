"""Point-in-time market features both simulators read, computed once per panel from closes.

Every value on day ``d`` uses closes up to and including ``d`` (decisions happen at the close).
ATR is the close-to-close estimate (:data:`ATR_METHOD`): Wilder smoothing of ``|close_d -
close_d-1|``, seeded with the mean of the first ``period`` moves; a day without a move (a gap)
leaves it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._config import ExecutorConfig
from ._inputs import BacktestInputs

__all__ = ["MarketFeatures", "market_features"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MarketFeatures:
    """Arrays of shape (D, T) unless noted.

    mark: the last known close (forward-filled; valuation and late fills); atr: ATR in dollars;
    momentum: ``window``-day return; relative_momentum: momentum minus the sector's; rsi: Wilder RSI;
    returns: daily simple returns (correlation block); enter_start (D + 1,) / enter_order: the
    day's ENTER signals as ticker indices, best score first (ties: lower ticker index first).
    """

    mark: F64
    atr: F64
    momentum: F64
    relative_momentum: F64
    rsi: F64
    returns: F64
    enter_start: I64
    enter_order: I64


def _forward_fill(close: F64) -> F64:
    valid = ~np.isnan(close)
    rows = np.where(valid, np.arange(close.shape[0])[:, None], 0)
    np.maximum.accumulate(rows, axis=0, out=rows)
    filled = close[rows, np.arange(close.shape[1])]
    filled[~np.maximum.accumulate(valid, axis=0)] = np.nan
    return filled


def _wilder(values: F64, period: int) -> F64:
    """Wilder smoothing down axis 0, skipping NaN inputs (the average carries over)."""
    from ._kernel import wilder

    return np.asarray(wilder(np.ascontiguousarray(values), period))


def _lagged_ratio(close: F64, lag: int) -> F64:
    out = np.full_like(close, np.nan)
    if lag < close.shape[0]:
        out[lag:] = close[lag:] / close[:-lag] - 1.0
    return out


def _sector_mean(values: F64, sector_of: I64, n_sectors: int) -> F64:
    onehot = np.zeros((len(sector_of), n_sectors))
    onehot[np.arange(len(sector_of)), sector_of] = 1.0
    ok = ~np.isnan(values)
    sums = np.where(ok, values, 0.0) @ onehot
    counts = ok.astype(np.float64) @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)


def market_features(inputs: BacktestInputs, config: ExecutorConfig) -> MarketFeatures:
    """The features of ``inputs`` under ``config``'s ATR, RSI and momentum periods."""
    close = inputs.close
    delta = np.full_like(close, np.nan)
    delta[1:] = close[1:] - close[:-1]
    atr = _wilder(np.abs(delta), config.atr_period)
    gain = _wilder(np.where(np.isnan(delta), np.nan, np.maximum(delta, 0.0)), config.rsi_period)
    loss = _wilder(np.where(np.isnan(delta), np.nan, np.maximum(-delta, 0.0)), config.rsi_period)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(loss > 0.0, 100.0 - 100.0 / (1.0 + gain / loss), np.where(np.isnan(loss), np.nan, 100.0))
    momentum = _lagged_ratio(close, config.momentum_window)
    if inputs.sector_close is not None:
        sector_momentum = _lagged_ratio(inputs.sector_close, config.momentum_window)
    else:
        sector_momentum = _sector_mean(momentum, inputs.sector_of, len(inputs.sectors))
    relative = momentum - sector_momentum[:, inputs.sector_of]
    # ENTER signals of signal days, ordered by day, then best score first, then ticker index
    is_enter = (inputs.action == 1) & inputs.signal_day[:, None]
    days, tickers = np.nonzero(is_enter)
    scores = np.nan_to_num(inputs.score[days, tickers], nan=-np.inf)
    order = np.lexsort((tickers, -scores, days))
    starts = np.concatenate([[0], np.cumsum(is_enter.sum(axis=1))]).astype(np.int64)
    return MarketFeatures(mark=_forward_fill(close), atr=atr, momentum=momentum, relative_momentum=relative,
                          rsi=rsi, returns=_lagged_ratio(close, 1), enter_start=starts,
                          enter_order=tickers[order].astype(np.int64))
