"""Statistics of a simulation: Sharpe, Sortino, max drawdown, Calmar, alpha against the index,
win rate and turnover, with seeded (deterministic) confidence intervals.

Daily returns start from the initial cash (the first day's fees count). Annualisation uses 252
trading days (not vectorbt's 365-day default). Intervals: a stationary bootstrap (Politis and
Romano; geometric blocks, mean length ``block_length`` days) for the return statistics, which are
autocorrelated; a Wilson interval for the win rate (trades are counted, not a time series).
Drawdown and Calmar get no interval: a resampled path's drawdown is not the path's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# The package's one stationary bootstrap and its one trading-year length.
from ._portfolio_stats import TRADING_DAYS, stationary_bootstrap_indices
from ._results import BacktestResult

__all__ = ["BacktestStatistics", "backtest_statistics", "nav_statistics"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BacktestStatistics:
    """Point values and 95 % intervals (``(low, high)``; NaN when undefined)."""

    n_days: int
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    max_drawdown: float
    calmar: float
    index_return: float
    alpha: float  # total return minus the index's over the same days (upstream total_alpha)
    active_return: float  # annualised mean daily return in excess of the index
    n_trades: int
    win_rate: float  # sells (full exits and REDUCEs) at a price above the position's cost
    turnover: float  # annual one-way turnover: traded notional / 2 / mean NAV / years
    sharpe_ci: tuple[float, float]
    sortino_ci: tuple[float, float]
    cagr_ci: tuple[float, float]
    active_return_ci: tuple[float, float]
    win_rate_ci: tuple[float, float]
    atr_method: str


def _returns(nav: F64, initial: float) -> F64:
    """Daily simple returns of each row of ``nav`` (shape (C, D)), starting from ``initial``."""
    path = np.concatenate([np.full((nav.shape[0], 1), initial), nav], axis=1)
    return np.asarray(path[:, 1:] / path[:, :-1] - 1.0)


def _sharpe(returns: F64) -> F64:
    std = returns.std(axis=-1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(std > 0, returns.mean(axis=-1) / std * math.sqrt(TRADING_DAYS), 0.0))


def _sortino(returns: F64) -> F64:
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2, axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(downside > 0, returns.mean(axis=-1) / downside * math.sqrt(TRADING_DAYS), np.nan))


def _cagr(returns: F64) -> F64:
    growth = np.prod(1.0 + returns, axis=-1)
    return np.asarray(growth ** (TRADING_DAYS / returns.shape[-1]) - 1.0)


def nav_statistics(nav: F64, initial_cash: float, index_close: F64 | None = None) -> dict[str, F64]:
    """Point statistics of many NAV paths at once (``nav`` of shape (C, D)); arrays of shape (C,).
    The sweep's ranking columns: total_return, cagr, sharpe, sortino, max_drawdown, calmar, alpha."""
    nav = np.atleast_2d(nav)
    returns = _returns(nav, initial_cash)
    path = np.concatenate([np.full((nav.shape[0], 1), initial_cash), nav], axis=1)
    max_drawdown = np.min(path / np.maximum.accumulate(path, axis=1) - 1.0, axis=1)
    cagr = _cagr(returns)
    total = nav[:, -1] / initial_cash - 1.0
    index_return = np.nan if index_close is None else _index_total(index_close)
    with np.errstate(invalid="ignore", divide="ignore"):
        calmar = np.where(max_drawdown < 0, cagr / np.abs(max_drawdown), np.nan)
    return {"total_return": total, "cagr": cagr, "sharpe": _sharpe(returns), "sortino": _sortino(returns),
            "max_drawdown": max_drawdown, "calmar": calmar, "alpha": total - index_return}


def _index_total(index_close: F64) -> float:
    valid = index_close[~np.isnan(index_close)]
    return float(valid[-1] / valid[0] - 1.0) if len(valid) >= 2 else math.nan


def _interval(values: F64) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (math.nan, math.nan)
    low, high = np.percentile(finite, [2.5, 97.5])
    return (float(low), float(high))


def _wilson(wins: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def backtest_statistics(result: BacktestResult, index_close: F64 | None = None, *, n_bootstrap: int = 1000,
                        block_length: float = 20.0, seed: int = 0) -> BacktestStatistics:
    """The statistics of ``result`` against ``index_close`` (shape (D,), NaN allowed; None: no
    alpha). Same inputs and seed, same numbers."""
    initial = result.config.initial_cash
    point = nav_statistics(result.nav[None, :], initial, index_close)
    returns = _returns(result.nav[None, :], initial)[0]
    n_days = len(returns)
    index_returns = None
    if index_close is not None:
        filled = _forward_filled(index_close)
        index_returns = np.nan_to_num(np.concatenate([[0.0], filled[1:] / filled[:-1] - 1.0]), nan=0.0)
    resample = stationary_bootstrap_indices(n_days, n_resamples=n_bootstrap, mean_block=block_length, seed=seed)
    samples = returns[resample]
    active = math.nan
    active_ci = (math.nan, math.nan)
    if index_returns is not None:
        excess = returns - index_returns
        active = float(excess.mean() * TRADING_DAYS)
        resampled = excess[resample]  # the same days as the return samples: paired
        active_ci = _interval(resampled.mean(axis=1) * TRADING_DAYS)
    orders = result.orders
    sells = orders.side < 0
    n_trades = int(sells.sum())
    wins = int(np.sum(orders.price[sells] > orders.entry_price[sells]))
    notional = float(np.sum(orders.shares * orders.price))
    turnover = notional / 2.0 / float(np.mean(result.nav)) / (n_days / TRADING_DAYS)
    return BacktestStatistics(
        n_days=n_days, total_return=float(point["total_return"][0]), cagr=float(point["cagr"][0]),
        sharpe=float(point["sharpe"][0]), sortino=float(point["sortino"][0]),
        max_drawdown=float(point["max_drawdown"][0]), calmar=float(point["calmar"][0]),
        index_return=math.nan if index_close is None else _index_total(index_close),
        alpha=float(point["alpha"][0]), active_return=active, n_trades=n_trades,
        win_rate=wins / n_trades if n_trades else math.nan, turnover=turnover,
        sharpe_ci=_interval(_sharpe(samples)), sortino_ci=_interval(_sortino(samples)),
        cagr_ci=_interval(_cagr(samples)), active_return_ci=active_ci, win_rate_ci=_wilson(wins, n_trades),
        atr_method=result.atr_method)


def _forward_filled(values: F64) -> F64:
    out = values.copy()
    for i in range(1, len(out)):
        if np.isnan(out[i]):
            out[i] = out[i - 1]
    return out
