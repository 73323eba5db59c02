"""Out-of-sample portfolio statistics and their intervals (pure numpy).

Daily portfolio returns are serially dependent (volatility clusters, and a walk-forward holds one
weight vector for a whole test window), so every interval comes from the **stationary block
bootstrap** of Politis & Romano (1994): a resample strings together blocks of consecutive days
starting at uniform random days, each block of geometric length with mean ``mean_block``, wrapping
past the end. One index matrix is drawn per report and applied to every series of that report, so
a difference between two portfolios is bootstrapped *paired* (the same days in each resample).
Intervals are percentile intervals; the same seed gives the same matrix.

A selection across a sweep of N configurations is corrected with **Bonferroni**: the selected
configuration's interval is drawn at level ``1 - (1 - confidence) / N``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TRADING_DAYS",
    "GateDecision",
    "Interval",
    "annual_volatility",
    "annualised_sharpe",
    "bonferroni_confidence",
    "bootstrap_interval",
    "max_drawdown",
    "one_way_turnover",
    "optimizer_gate",
    "sharpe_difference",
    "stationary_bootstrap_indices",
]

TRADING_DAYS = 252

Array = np.ndarray


@dataclass(frozen=True)
class Interval:
    """A point estimate and its two-sided percentile interval at ``confidence``."""

    estimate: float
    ci_low: float
    ci_high: float
    confidence: float

    def to_json(self, digits: int = 10) -> dict[str, float | None]:
        def clean(value: float) -> float | None:
            return round(value, digits) if math.isfinite(value) else None

        return {"estimate": clean(self.estimate), "ci_low": clean(self.ci_low), "ci_high": clean(self.ci_high),
                "confidence": round(self.confidence, 12)}


def stationary_bootstrap_indices(n: int, *, n_resamples: int, mean_block: float, seed: int) -> Array:
    """Index matrix of shape (n_resamples, n) of the stationary bootstrap (Politis & Romano 1994).

    Each position starts a new block with probability ``1 / mean_block`` (always at position 0) at
    a uniform random index, and otherwise continues the current block at the next index, modulo n.
    """
    if n < 2:
        raise ValueError(f"stationary_bootstrap_indices: need at least 2 observations, got {n}")
    if mean_block < 1:
        raise ValueError(f"stationary_bootstrap_indices: mean_block must be >= 1, got {mean_block}")
    rng = np.random.default_rng(seed)
    new_block = rng.random((n_resamples, n)) < 1.0 / mean_block
    new_block[:, 0] = True
    starts = rng.integers(0, n, size=(n_resamples, n))
    position = np.arange(n)
    block_start = np.maximum.accumulate(np.where(new_block, position, 0), axis=1)
    first_index = np.take_along_axis(starts, block_start, axis=1)
    indices: Array = (first_index + (position - block_start)) % n
    return indices


def annualised_sharpe(returns: Array) -> Array:
    """mean / std (ddof 1) x sqrt(252) along the last axis; NaN where the std is 0."""
    r = np.asarray(returns, dtype=np.float64)
    std = r.std(axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: Array = np.where(std > 0, r.mean(axis=-1) / np.where(std > 0, std, 1.0), np.nan) * math.sqrt(TRADING_DAYS)
    return out


def annual_volatility(returns: Array) -> Array:
    """std (ddof 1) x sqrt(252) along the last axis."""
    out: Array = np.asarray(returns, dtype=np.float64).std(axis=-1, ddof=1) * math.sqrt(TRADING_DAYS)
    return out


def max_drawdown(returns: Array) -> Array:
    """Largest fall of compounded wealth from its running peak (a fraction, >= 0), along the last axis."""
    r = np.asarray(returns, dtype=np.float64)
    wealth = np.cumprod(1.0 + r, axis=-1)
    peak = np.maximum(np.maximum.accumulate(wealth, axis=-1), 1.0)  # the start (wealth 1) is a peak too
    out: Array = (1.0 - wealth / peak).max(axis=-1)
    return out


def one_way_turnover(weights: Array) -> Array:
    """Per rebalance after the first: half the sum of absolute weight changes between consecutive
    target weights (shape (n_folds - 1,) from weights of shape (n_folds, n_assets))."""
    w = np.asarray(weights, dtype=np.float64)
    out: Array = 0.5 * np.abs(np.diff(w, axis=0)).sum(axis=1)
    return out


def bonferroni_confidence(confidence: float, n_compared: int) -> float:
    """The per-comparison level that keeps the family-wise level at ``confidence`` over n comparisons."""
    if n_compared < 1:
        raise ValueError(f"bonferroni_confidence: n_compared must be >= 1, got {n_compared}")
    return 1.0 - (1.0 - confidence) / n_compared


def bootstrap_interval(statistic: Callable[[Array], Array], series: Array, indices: Array,
                       confidence: float) -> Interval:
    """``statistic`` of ``series`` (along its last axis) and its percentile interval over the
    resamples ``series[..., indices]``. A paired statistic takes a (2, n) series, rows resampled
    with the same days. Non-finite resamples are left out; none finite gives a NaN interval."""
    x = np.asarray(series, dtype=np.float64)
    estimate = float(statistic(x))
    draws = np.asarray(statistic(x[..., indices]), dtype=np.float64).reshape(-1)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return Interval(estimate, math.nan, math.nan, confidence)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Interval(estimate, float(low), float(high), confidence)


def sharpe_difference(pair: Array) -> Array:
    """Annualised Sharpe of ``pair[0]`` minus that of ``pair[1]`` (each along the last axis)."""
    difference: Array = annualised_sharpe(pair[0]) - annualised_sharpe(pair[1])
    return difference


@dataclass(frozen=True)
class GateDecision:
    """The optimizer gate: the out-of-sample Sharpe difference (optimizer minus baseline) with its
    paired interval; ``passes`` only when the interval's lower bound is above 0."""

    sharpe_difference: Interval
    passes: bool


def optimizer_gate(optimizer: Array, baseline: Array, *, indices: Array, confidence: float) -> GateDecision:
    """Decide the gate on two daily return series over the same days, resampled together by
    ``indices`` (:func:`stationary_bootstrap_indices`). A non-finite lower bound never passes."""
    a, b = np.asarray(optimizer, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"optimizer_gate: need two 1-d series of one length, got {a.shape} and {b.shape}")
    interval = bootstrap_interval(sharpe_difference, np.vstack([a, b]), indices, confidence)
    return GateDecision(interval, bool(math.isfinite(interval.ci_low) and interval.ci_low > 0))
