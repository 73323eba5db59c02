"""The 38 per-ticker technical features, computed for all tickers at once on wide arrays.

Every input is a float64 array (dates x tickers, time along axis 0), NaN where a bar is missing;
the market benchmark is one column (dates,), the sector ETFs one column each. Formulas follow the
upstream catalog (modules.md section 1.2) with these deliberate differences:

* ``avg_volume_20d``: upstream divided SMA20(Volume) by the mean volume of the *whole series*, which
  leaks the future into every past row; here it is divided by the expanding mean up to each date.
* Rolling windows are strict (a window with a missing bar is NaN; see ``_rolling``) and EWMs start
  emitting after ``span`` valid values (RSI after 14 changes); upstream emitted from the first row.
* ``macd_cross`` / ``macd_above_zero`` / ``volume_price_div`` are NaN (not 0) while their inputs are.
* ``rsi_14`` is 50 when a 14-day window has neither gains nor losses (0/0 upstream).
* ``max_drawdown_60d`` keeps upstream's formula: the 60-day min of the drawdown from a 60-day running
  max (so peaks up to 119 days back count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._rolling import (
    ewm_mean,
    log_return,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_std,
    rolling_sum,
    shift,
    simple_return,
)

__all__ = ["BarArrays", "expand_columns", "rsi", "technical_features"]


@dataclass(frozen=True)
class BarArrays:
    """The bar fields of a panel as C-contiguous float64 arrays (dates x tickers)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def expand_columns(columns: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``columns[:, index[j]]`` for each ticker j (dates x tickers); index -1 gives a NaN column."""
    padded = np.concatenate([columns, np.full((columns.shape[0], 1), np.nan)], axis=1)
    return np.ascontiguousarray(padded[:, np.where(index < 0, padded.shape[1] - 1, index)])


def rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Wilder RSI: EWM(alpha = 1/period, adjust=False) of gains and losses, from ``period`` changes on."""
    delta = close - shift(close, 1)
    gain = ewm_mean(np.clip(delta, 0.0, None), alpha=1.0 / period, min_periods=period)
    loss = ewm_mean(np.clip(-delta, 0.0, None), alpha=1.0 / period, min_periods=period)
    out: np.ndarray = 100.0 - 100.0 / (1.0 + gain / loss)  # loss 0 -> gain/loss inf -> 100
    return np.where((gain == 0.0) & (loss == 0.0), 50.0, out)


def technical_features(bars: BarArrays, market_close: np.ndarray, sector_close: np.ndarray,
                       sector_index: np.ndarray, params: Mapping[str, int | float]) -> dict[str, np.ndarray]:
    """The technical features in catalog order.

    ``market_close`` (dates,) is the benchmark's close on the panel's dates (NaN if unknown);
    ``sector_close`` (dates, k) the sector ETFs' closes and ``sector_index`` (tickers,) each ticker's
    column in it (-1: no sector).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return _technical(bars, market_close, sector_close, sector_index, params)


def _technical(bars: BarArrays, market_close: np.ndarray, sector_close: np.ndarray, sector_index: np.ndarray,
               params: Mapping[str, int | float]) -> dict[str, np.ndarray]:
    def p(key: str) -> int:
        return int(params[key])

    o, h, low, c, v = bars.open, bars.high, bars.low, bars.close, bars.volume
    annualize = np.sqrt(float(params["annualization"]))
    lr = log_return(c)
    daily = simple_return(c, 1)
    market = market_close[:, None]
    out: dict[str, np.ndarray] = {}

    rsi_14 = rsi(c, p("rsi_period"))
    out["rsi_14"] = rsi_14

    fast, slow, signal_span = p("macd_fast"), p("macd_slow"), p("macd_signal")
    macd = (ewm_mean(c, alpha=2.0 / (fast + 1), min_periods=fast)
            - ewm_mean(c, alpha=2.0 / (slow + 1), min_periods=slow))
    signal = ewm_mean(macd, alpha=2.0 / (signal_span + 1), min_periods=signal_span)
    out["macd_cross"] = _recent_cross(macd - signal, p("macd_cross_window"))
    out["macd_above_zero"] = np.where(np.isnan(macd), np.nan, (macd > 0.0).astype(np.float64))
    out["macd_line_last"] = macd

    out["price_vs_ma50"] = c / rolling_mean(c, p("ma_short")) - 1.0
    out["price_vs_ma200"] = c / rolling_mean(c, p("ma_long")) - 1.0
    m5, m20 = simple_return(c, p("momentum_short")), simple_return(c, p("momentum_long"))
    out["momentum_5d"] = m5
    out["momentum_20d"] = m20
    out["return_60d"] = simple_return(c, p("return_medium"))
    out["return_120d"] = simple_return(c, p("return_long"))

    vol_long = rolling_mean(v, p("volume_long"))
    out["avg_volume_20d"] = vol_long / _expanding_mean(v)
    out["avg_volume_20d_raw"] = vol_long
    year = p("high_low_window")
    out["dist_from_52w_high"] = c / rolling_max(c, year) - 1.0
    out["dist_from_52w_low"] = c / rolling_min(c, year) - 1.0
    out["rel_volume_ratio"] = v / vol_long
    out["return_vs_spy_5d"] = m5 - simple_return(market, p("momentum_short"))
    out["vol_ratio_10_60"] = rolling_std(lr, p("vol_short")) / rolling_std(lr, p("vol_long"))

    window, k = p("bollinger_window"), float(params["bollinger_k"])
    mid, sd = rolling_mean(c, window), rolling_std(c, window)
    lower, width = mid - k * sd, 2.0 * k * sd
    out["bollinger_pct"] = np.where(width > 0.0, (c - lower) / width, np.nan)

    for name, key in (("sector_vs_spy_5d", "sector_short"), ("sector_vs_spy_10d", "sector_mid"),
                      ("sector_vs_spy_20d", "sector_long")):
        n = p(key)
        relative = simple_return(sector_close, n) - simple_return(market, n)
        out[name] = expand_columns(relative, sector_index)

    out["price_accel"] = m5 - m20
    out["ema_cross_8_21"] = (ewm_mean(c, alpha=2.0 / (p("ema_fast") + 1), min_periods=p("ema_fast"))
                             / ewm_mean(c, alpha=2.0 / (p("ema_slow") + 1), min_periods=p("ema_slow")) - 1.0)

    prev_close = shift(c, 1)
    high_low = h - low
    true_range = np.maximum(high_low, np.maximum(np.abs(h - prev_close), np.abs(low - prev_close)))
    true_range = np.where(np.isnan(prev_close), high_low, true_range)  # first bar: just its range
    atr_span = p("atr_period")
    out["atr_14_pct"] = ewm_mean(true_range, alpha=2.0 / (atr_span + 1), min_periods=atr_span) / c

    realized_vol_20d = rolling_std(daily, p("realized_vol_window")) * annualize
    out["realized_vol_20d"] = realized_vol_20d
    out["realized_vol_63d"] = rolling_std(daily, p("realized_vol_long_window")) * annualize
    volume_trend = rolling_mean(v, p("volume_short")) / vol_long
    out["volume_trend"] = volume_trend

    flow = np.sign(c - prev_close) * v
    obv = np.cumsum(np.where(np.isnan(flow), 0.0, flow), axis=0)  # OBV starts at 0 on the first bar
    obv = np.where(np.isnan(v) | np.isnan(c), np.nan, obv)
    out["obv_slope_10d"] = (rolling_mean(obv, p("obv_short")) - rolling_mean(obv, p("obv_long"))) / vol_long

    slope = p("rsi_slope_window")
    out["rsi_slope_5d"] = (rsi_14 - shift(rsi_14, slope)) / slope
    out["volume_price_div"] = np.sign(volume_trend - 1.0) * np.sign(m5)
    out["overnight_return_5d"] = rolling_sum(o / prev_close - 1.0, p("momentum_short"))
    out["intraday_return_5d"] = rolling_sum(c / o - 1.0, p("momentum_short"))
    out["dist_from_5d_high"] = c / rolling_max(h, p("high_short_window")) - 1.0
    out["dist_from_20d_high"] = c / rolling_max(h, p("high_long_window")) - 1.0

    beta, idio_sd = _beta_and_residual_sd(lr, log_return(market), p("beta_window"))
    out["beta_60d"] = beta
    out["idio_vol_60d"] = idio_sd * annualize
    out["vol_of_vol_30d"] = rolling_std(realized_vol_20d, p("vol_of_vol_window"))
    dd_window = p("max_drawdown_window")
    out["max_drawdown_60d"] = rolling_min(c / rolling_max(c, dd_window) - 1.0, dd_window)
    return out


def _recent_cross(spread: np.ndarray, window: int) -> np.ndarray:
    """+1 / -1 for the latest up / down sign change of ``spread`` in the last ``window`` rows, else 0;
    NaN unless all of those rows (and the row before the first) are known."""
    sign = np.sign(spread)
    prev = shift(sign, 1)
    event = (sign > 0) & (prev <= 0)
    event = event.astype(np.float64) - ((sign < 0) & (prev >= 0)).astype(np.float64)
    event = np.where(np.isnan(sign) | np.isnan(prev), np.nan, event)
    latest = np.zeros(spread.shape)
    for lag in range(window - 1, -1, -1):  # oldest first, so a more recent cross overwrites
        lagged = shift(event, lag)
        latest = np.where(lagged != 0.0, lagged, latest)
    return np.where(np.isfinite(rolling_sum(event, window)), latest, np.nan)


def _expanding_mean(x: np.ndarray) -> np.ndarray:
    """Mean of the known values up to and including each row (NaN before the first)."""
    known = ~np.isnan(x)
    total = np.cumsum(np.where(known, x, 0.0), axis=0)
    count = np.cumsum(known, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _beta_and_residual_sd(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling OLS of x (tickers) on y (market column) over n rows: the slope cov/var and the std
    (ddof 1) of the in-window residuals, sqrt((Sxx - Sxy^2/Syy) / (n - 1)), from centred window sums."""
    sx, sy = rolling_sum(x, n), rolling_sum(y, n)
    cxx = rolling_sum(x * x, n) - sx * sx / n
    cyy = rolling_sum(y * y, n) - sy * sy / n
    cxy = rolling_sum(x * y, n) - sx * sy / n
    beta = np.where(cyy > 0.0, cxy / cyy, np.nan)
    residual = np.maximum(cxx - beta * cxy, 0.0)
    return beta, np.sqrt(residual / (n - 1))
