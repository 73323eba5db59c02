"""A weekly signal history derived from closes: upstream's synthetic signal generator
(backtester.md §2.5), technical part only.

Used by the Backtester when the stored ``signals/{date}/signals.json`` history is too short to
simulate (on the bundled sample there is only the run's own week). Per ticker, from closes up to
and including the scoring day (the last session of each week):

- RSI 14 (Wilder); MACD (EMA 12 - EMA 26) against its EMA 9 signal line, with the most recent
  cross in the last 3 sessions; the close against its 50- and 200-session means; the 20-session
  return, ranked into a percentile across the tickers scored that day.
- Scores 0..100: RSI 100 at <= 30 falling linearly to 0 at >= 70 (the neutral-regime reading of
  upstream's piecewise rule); MACD bullish cross above / below zero 100 / 70, bearish cross above /
  below zero 30 / 0, no cross above / below zero 60 / 40; each moving average 0 at <= -5 %, 100 at
  >= +5 %, linear between.
- ``technical = clip(0.25 RSI + 0.20 MACD + 0.20 MA50 + 0.20 MA200 + 0.15 momentum, 0, 100)``.
  Upstream adds ``clip(500 * alpha, -10, 10)`` from the predictor's alpha; that is
  PredictorBacktest's signal, so here the alpha term is 0.
- ENTER if the score is at least ``min_score``, capped to the ``top_n`` best of the day; EXIT below
  ``exit_below``; else HOLD. Tickers with fewer than 210 closes, or no RSI, are not scored.
  Regime neutral, every sector market weight, conviction stable (upstream's synthetic envelope).

The signal of a week's last session applies on the next session (the Saturday run's signals are
acted on from Monday), so every signal uses only closes before the day it applies.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._features import _forward_fill, _lagged_ratio, _wilder

__all__ = ["SYNTHETIC_SIGNAL_NOTE", "synthetic_signal_arrays"]

F64 = npt.NDArray[np.float64]

SYNTHETIC_SIGNAL_NOTE = ("signals are synthetic: a weekly technical score (RSI, MACD, 50/200-session means, 20-session "
                         "momentum; backtester.md §2.5 without the predictor's alpha term) derived from the closes, not "
                         "the research stage's stored signals")
MIN_BARS = 210


def _ema(values: F64, span: int) -> F64:
    import pandas as pd

    return np.asarray(pd.DataFrame(values).ewm(span=span, adjust=False, ignore_na=True).mean().to_numpy())


def _rolling_mean(values: F64, window: int) -> F64:
    import pandas as pd

    return np.asarray(pd.DataFrame(values).rolling(window, min_periods=window).mean().to_numpy())


def _linear(x: F64, zero_at: float, full_at: float) -> F64:
    return np.asarray(np.clip((x - zero_at) / (full_at - zero_at), 0.0, 1.0) * 100.0)


def technical_scores(close: F64) -> F64:
    """The technical score (shape (D, T), NaN where a ticker is not scored) of every session."""
    mark = _forward_fill(close)
    delta = np.full_like(mark, np.nan)
    delta[1:] = mark[1:] - mark[:-1]
    gain = _wilder(np.where(np.isnan(delta), np.nan, np.maximum(delta, 0.0)), 14)
    loss = _wilder(np.where(np.isnan(delta), np.nan, np.maximum(-delta, 0.0)), 14)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(loss > 0.0, 100.0 - 100.0 / (1.0 + gain / loss), np.where(np.isnan(loss), np.nan, 100.0))
    macd = _ema(mark, 12) - _ema(mark, 26)
    above_signal = np.sign(macd - _ema(macd, 9))
    cross_at = np.zeros_like(mark)
    changed = (above_signal[1:] != above_signal[:-1]) & (above_signal[1:] != 0) & (above_signal[:-1] != 0)
    cross_at[1:] = np.where(changed, above_signal[1:], 0.0)
    cross = cross_at.copy()
    for lag in (1, 2):  # the most recent cross in the last 3 sessions
        cross[lag:] = np.where(cross[lag:] == 0, cross_at[:-lag], cross[lag:])
    above_zero = macd > 0
    macd_score = np.where(cross > 0, np.where(above_zero, 100.0, 70.0),
                          np.where(cross < 0, np.where(above_zero, 30.0, 0.0), np.where(above_zero, 60.0, 40.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        ma50 = mark / _rolling_mean(mark, 50) - 1.0
        ma200 = mark / _rolling_mean(mark, 200) - 1.0
    momentum = _lagged_ratio(mark, 20)
    bars = np.cumsum(~np.isnan(close), axis=0)
    scored = (bars >= MIN_BARS) & ~np.isnan(rsi) & ~np.isnan(ma200) & ~np.isnan(momentum)
    ranked = np.where(scored, momentum, np.nan)
    import pandas as pd

    momentum_pct = np.asarray(pd.DataFrame(ranked).rank(axis=1, pct=True).to_numpy()) * 100.0
    technical = (0.25 * (100.0 - _linear(rsi, 30.0, 70.0)) + 0.20 * macd_score + 0.20 * _linear(ma50, -0.05, 0.05)
                 + 0.20 * _linear(ma200, -0.05, 0.05) + 0.15 * momentum_pct)
    return np.where(scored, np.clip(technical, 0.0, 100.0), np.nan)


def synthetic_signal_arrays(dates: npt.NDArray[np.datetime64], close: F64, *, min_score: float, top_n: int,
                            exit_below: float) -> dict[str, npt.NDArray[np.generic]]:
    """The signal arrays of :class:`BacktestInputs` (keyword arguments) for ``close`` (shape (D, T)).

    A score taken at the last session of each ISO week applies on the next session.
    """
    n_days, n_tickers = close.shape
    scores = technical_scores(close)
    day = dates.astype("datetime64[D]")
    week = (day.astype(np.int64) + 3) // 7  # 1970-01-01 is a Thursday: weeks run Monday..Sunday
    last_of_week = np.flatnonzero(np.diff(week) != 0)  # the last session of every week with a next session
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "signal_day": np.zeros(n_days, np.bool_), "regime": np.zeros(n_days, np.int8),
        "action": np.zeros((n_days, n_tickers), np.int8), "score": np.full((n_days, n_tickers), np.nan),
        "conviction": np.zeros((n_days, n_tickers), np.int8), "sector_rating": np.zeros((n_days, n_tickers), np.int8),
        "upside": np.full((n_days, n_tickers), np.nan), "veto": np.zeros((n_days, n_tickers), np.bool_),
        "confidence": np.full((n_days, n_tickers), np.nan)}
    for scored_on in last_of_week:
        row = scores[scored_on]
        if np.isnan(row).all():
            continue
        applies = scored_on + 1
        arrays["signal_day"][applies] = True
        arrays["score"][applies] = row
        action = np.where(row < exit_below, 2, 0).astype(np.int8)
        eligible = np.flatnonzero(row >= min_score)
        best = eligible[np.lexsort((eligible, -row[eligible]))][:top_n]
        action[best] = 1
        arrays["action"][applies] = action
    return arrays
