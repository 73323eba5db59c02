"""Seeded synthetic market: full OHLCV for a universe of tickers plus the macro series around it.

A factor model, so the data has the structure features look for:

* **market factor** and 11 **sector factors**: daily log returns ``sigma * exp(h_t) * z_t`` with
  Student-t(5) shocks ``z`` (fat tails, rescaled to unit variance) and an AR(1) log-volatility ``h``
  (volatility clustering); the market also has a small positive drift.
* **tickers** ``SYN0000``..: ``r = beta * market + gamma * sector + idio``, the idiosyncratic part with
  its own clustered volatility. Each ticker belongs to one sector (:func:`synthetic_sector_map`).
* **bars**: the day's log return is split into an overnight gap (Open against the previous Close) and
  an intraday move (Close against Open); High/Low extend the Open-Close range by half-normal wicks,
  VWAP lies inside [Low, High], Volume is lognormal and rises with the absolute return.
* **macro**: ``SPY`` is the market factor as a price; the sector ETFs are market + sector factor;
  ``VIX`` follows the market's conditional volatility, ``VIX3M`` is VIX pulled toward its long-run
  level (contango when calm, backwardation in stress); ``TNX``/``IRX`` are mean-reverting yields in
  percent; ``GLD``/``USO`` are lognormal walks weakly tied to the market. Closes only (OHLV NaN).

Dates are weekdays (``pandas.bdate_range``): no exchange holidays, which is all synthetic data needs.
Randomness comes from independent streams spawned from ``seed`` (factors, macro, ticker parameters,
ticker noise), so the factors and macro series for a seed do not depend on ``n_tickers``. The same
arguments give byte-identical frames. Every frame is in the canonical form of
:func:`~alpha_engine.data._bars.normalize_ticker_frame` with ``source="synthetic"`` (ticker frames are
built directly in that form, for speed; a test pins that normalizing them changes nothing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from alpha_engine.store import PRICE_COLUMNS, SOURCE_COLUMN, normalize_ticker_frame

__all__ = ["SECTOR_ETFS", "SYNTHETIC_MACRO_SYMBOLS", "synthetic_bars", "synthetic_sector_map"]

SECTOR_ETFS = ("XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY")
SYNTHETIC_MACRO_SYMBOLS = ("SPY", "VIX", "VIX3M", "TNX", "IRX", "GLD", "USO", *SECTOR_ETFS)
_SOURCE = "synthetic"
_T_DOF = 5.0


def synthetic_sector_map(n_tickers: int) -> dict[str, str]:
    """Ticker -> sector ETF for the synthetic universe (round-robin over :data:`SECTOR_ETFS`)."""
    if n_tickers < 0:
        raise ValueError(f"synthetic_sector_map: n_tickers must be >= 0, got {n_tickers}")
    return {_ticker(i): SECTOR_ETFS[i % len(SECTOR_ETFS)] for i in range(n_tickers)}


def synthetic_bars(n_tickers: int, n_days: int, *, seed: int = 0, start: str = "2015-01-02"
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Ticker frames (full OHLCV) and macro frames (closes) for a seeded synthetic market.

    Returns ``(bars, macro)``: ``bars`` maps ``SYN0000``.. to normalized ticker frames; ``macro`` maps
    each of :data:`SYNTHETIC_MACRO_SYMBOLS` to a normalized frame with only Close set. Both use
    ``source="synthetic"`` and the ``n_days`` weekdays from ``start``.
    """
    if n_tickers < 0 or n_days < 1:
        raise ValueError(f"synthetic_bars: need n_tickers >= 0 and n_days >= 1, got {n_tickers}, {n_days}")
    dates = pd.bdate_range(start, periods=n_days, name="date")
    factor_rng, macro_rng, param_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4))

    # factors: column 0 the market, 1..11 the sectors
    n_sectors = len(SECTOR_ETFS)
    base_vol = np.array([0.010, *([0.006] * n_sectors)])
    log_vol = _ar1(factor_rng.normal(0.0, 0.12, (n_days, 1 + n_sectors)), 0.97)
    factor_vol = base_vol * np.exp(log_vol)
    factors = factor_vol * _student_t(factor_rng, (n_days, 1 + n_sectors))
    factors[:, 0] += 0.0003  # equity drift, about 7.5 % a year
    market, sectors = factors[:, 0], factors[:, 1:]

    # ticker parameters
    sector_idx = np.arange(n_tickers) % n_sectors
    beta = param_rng.uniform(0.6, 1.4, n_tickers)
    gamma = param_rng.uniform(0.4, 1.0, n_tickers)
    idio_sigma = param_rng.uniform(0.006, 0.018, n_tickers)
    start_price = np.exp(param_rng.normal(np.log(60.0), 0.8, n_tickers))
    base_log_volume = param_rng.normal(14.0, 1.0, n_tickers)  # e(14) ~ 1.2M shares a day
    wick_scale = param_rng.uniform(0.002, 0.006, n_tickers)

    # ticker noise, drawn in a fixed order; ticker-major (n_tickers, n_days) so that each ticker's
    # bars end up contiguous without a costly transpose
    shape = (n_tickers, n_days)
    idio_log_vol = _ar1(noise_rng.normal(0.0, 0.10, shape), 0.95, axis=1)
    idio = idio_sigma[:, None] * np.exp(idio_log_vol) * _student_t(noise_rng, shape)
    overnight_share = noise_rng.uniform(0.1, 0.4, shape)
    upper_wick = np.abs(noise_rng.normal(0.0, 1.0, shape)) * wick_scale[:, None]
    lower_wick = np.abs(noise_rng.normal(0.0, 1.0, shape)) * wick_scale[:, None]
    vwap_pos = noise_rng.beta(4.0, 4.0, shape)  # centred, never outside [0, 1]
    volume_noise = noise_rng.normal(0.0, 0.35, shape)

    systematic = beta[:, None] * market + gamma[:, None] * sectors.T[sector_idx]
    log_ret = systematic + idio
    log_close = np.log(start_price)[:, None] + np.cumsum(log_ret, axis=1)
    close = np.exp(log_close)
    open_ = np.exp(log_close - log_ret + overnight_share * log_ret)  # previous close (or start) plus the gap
    # multiplying by a factor >= 1 (<= 1) rounds monotonically, so High >= max(O, C) and Low <= min(O, C)
    high = np.maximum(open_, close) * np.exp(upper_wick)
    low = np.minimum(open_, close) * np.exp(-lower_wick)
    vwap = np.clip(low + vwap_pos * (high - low), low, high)
    # busier on big moves, capped so a fat-tailed day cannot make an absurd print
    volume = np.round(np.exp(base_log_volume[:, None] + 15.0 * np.minimum(np.abs(log_ret), 0.2) + volume_noise))
    volume = np.maximum(volume, 1.0)

    fields = {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume, "VWAP": vwap}
    stacked = np.stack([fields[c] for c in PRICE_COLUMNS], axis=1)  # (ticker, field, date)
    bars = {_ticker(j): _canonical_frame(stacked[j].T, dates) for j in range(n_tickers)}
    return bars, _macro_frames(dates, market, sectors, factor_vol[:, 0], macro_rng)


def _canonical_frame(values: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """The frame ``normalize_ticker_frame(frame, source="synthetic")`` returns, built directly.

    The input is already canonical (sorted unique midnight dates, float64 fields), so normalizing
    would change nothing but costs ~2.5 ms a frame (2 s for 900 tickers); a test pins the equality.
    ``values`` is (n_days, 6) and F-contiguous, which pandas stores without copying.
    """
    frame = pd.DataFrame(values, index=index, columns=list(PRICE_COLUMNS), copy=False)
    frame[SOURCE_COLUMN] = pd.Series(_SOURCE, index=index, dtype="object")
    return frame


def _macro_frames(dates: pd.DatetimeIndex, market: np.ndarray, sectors: np.ndarray, market_vol: np.ndarray,
                  rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    n_days = len(dates)
    closes: dict[str, np.ndarray] = {"SPY": 200.0 * np.exp(np.cumsum(market))}
    # VIX ~ annualized conditional market vol in points, with its own noise; floored like the real index
    vix = 100.0 * np.sqrt(252.0) * market_vol * np.exp(rng.normal(0.0, 0.06, n_days)) * 1.1
    vix = np.maximum(vix, 9.0)
    closes["VIX"] = vix
    closes["VIX3M"] = np.maximum(19.0 + 0.6 * (vix - 19.0) + rng.normal(0.0, 0.3, n_days), 9.0)
    tnx = np.maximum(2.5 + _ar1(rng.normal(0.0, 0.04, n_days), 0.998), 0.05)
    closes["TNX"] = tnx
    closes["IRX"] = np.maximum(tnx - (1.0 + _ar1(rng.normal(0.0, 0.02, n_days), 0.995)), 0.01)
    closes["GLD"] = 120.0 * np.exp(np.cumsum(rng.normal(0.0001, 0.009, n_days) - 0.1 * market))
    closes["USO"] = 40.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_days) + 0.5 * market))
    for k, etf in enumerate(SECTOR_ETFS):
        closes[etf] = 50.0 * np.exp(np.cumsum(market + sectors[:, k]))
    return {symbol: normalize_ticker_frame(pd.DataFrame({"Close": closes[symbol]}, index=dates), source=_SOURCE)
            for symbol in SYNTHETIC_MACRO_SYMBOLS}


def _ticker(i: int) -> str:
    return f"SYN{i:04d}"


def _ar1(shocks: np.ndarray, phi: float, axis: int = 0) -> np.ndarray:
    """x_t = phi * x_{t-1} + shock_t along ``axis`` (time), from x_{-1} = 0 (one vectorized IIR filter)."""
    out: np.ndarray = lfilter([1.0], [1.0, -phi], shocks, axis=axis)
    return out


def _student_t(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Student-t(5) draws rescaled to unit variance (fat tails without changing the volatility)."""
    draws: np.ndarray = rng.standard_t(_T_DOF, shape) * np.sqrt((_T_DOF - 2.0) / _T_DOF)
    return draws
