"""Window primitives on wide arrays (dates x tickers, float64, time along axis 0).

Rolling reductions are **window-local**: the value at row t is a fixed function of the n values
x[t-n+1..t] alone -- the same operations in the same order whichever row the window sits on and
however much history precedes it. They combine power-of-two blocks (a sparse-table doubling), so a
window of n costs O(log n) whole-array operations and a sum is accumulated pairwise (error about
log2(n) ulp, no running total that drifts over a long series). Consequences the tests rely on:

* computing on a truncated history (``panel.truncate(t)``), on one appended day at a time, or on
  only the last ``n`` rows gives the row at t bit for bit;
* a window holding any NaN gives NaN (the strict ``min_periods=n`` of pandas): a missing bar is
  never papered over.

Exponential averages (:func:`ewm_mean`) are recursive, so they depend on all earlier rows; they are
still exactly reproducible when rows are appended, because the recursion runs forward only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ewm_mean",
    "log_return",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_std",
    "rolling_sum",
    "shift",
    "simple_return",
]

def _rolling_reduce(x: np.ndarray, n: int, op: np.ufunc) -> np.ndarray:
    """op-reduction of each trailing window of n rows; rows before the first full window are NaN."""
    if n < 1:
        raise ValueError(f"rolling window must be >= 1, got {n}")
    rows = x.shape[0]
    out = np.full(x.shape, np.nan)
    if n > rows:
        return out
    windows = rows - n + 1
    acc = out[n - 1:]  # row i of acc: the window x[i : i + n]
    # block[i] = op over x[i : i + width]. The set bits of n pick the blocks that tile a window, joined
    # from the window's end backwards, so the association depends only on n. Blocks ping-pong between
    # two scratch buffers (fresh 10-100 MB arrays per step would cost as much in page faults as the math).
    scratch = (np.empty_like(x), np.empty_like(x)) if n > 1 else ()
    block, width, covered, turn, started = x, 1, 0, 0, False
    while True:
        if n & width:
            start = n - covered - width
            piece = block[start:start + windows]
            if started:
                op(piece, acc, out=acc)
            else:
                acc[...] = piece
                started = True
            covered += width
            if covered == n:
                return out
        length = block.shape[0] - width
        nxt = scratch[turn][:length]
        op(block[:length], block[width:], out=nxt)
        block, width, turn = nxt, width * 2, 1 - turn
def rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Sum of the trailing n rows (NaN if any is NaN or the window is incomplete)."""
    return _rolling_reduce(x, n, np.add)


def rolling_mean(x: np.ndarray, n: int) -> np.ndarray:
    return rolling_sum(x, n) / n


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    return _rolling_reduce(x, n, np.maximum)


def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    return _rolling_reduce(x, n, np.minimum)


def rolling_std(x: np.ndarray, n: int, ddof: int = 1) -> np.ndarray:
    """Standard deviation of the trailing n rows from window sums: sqrt((S2 - S1^2/n) / (n - ddof)).

    The one-pass form loses about log10(mean^2/var) digits; for returns (mean ~ 0) that is nothing,
    for price levels (Bollinger bands) about 4 of 16. A sum of squared deviations below the formula's
    rounding floor (64 ulp of S2) is indistinguishable from 0 and is set to 0, so a flat window has
    std exactly 0 (not 1e-9 of noise).
    """
    s1 = rolling_sum(x, n)
    s2 = rolling_sum(x * x, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviations = s2 - s1 * s1 / n
        deviations = np.where(deviations <= 64.0 * np.finfo(np.float64).eps * s2, 0.0, deviations)
        return np.sqrt(deviations / (n - ddof))


def shift(x: np.ndarray, k: int) -> np.ndarray:
    """Rows moved down by k >= 0 (row t holds row t-k); the first k rows are NaN."""
    out = np.full(x.shape, np.nan)
    if k == 0:
        out[:] = x
    elif k < x.shape[0]:
        out[k:] = x[:-k]
    return out


def simple_return(x: np.ndarray, k: int) -> np.ndarray:
    """x_t / x_{t-k} - 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = x / shift(x, k) - 1.0
    return out


def log_return(x: np.ndarray) -> np.ndarray:
    """log(x_t / x_{t-1})."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: np.ndarray = np.log(x / shift(x, 1))
    return out


def ewm_mean(x: np.ndarray, *, alpha: float, min_periods: int) -> np.ndarray:
    """Recursive EWM y_t = (1 - alpha) y_{t-1} + alpha x_t (pandas ``adjust=False``), seeded with the
    first valid value; NaN rows are skipped with the weights of their positions (``ignore_na=False``);
    NaN until ``min_periods`` valid values have been seen."""
    frame = pd.DataFrame(x, copy=False)
    out: np.ndarray = frame.ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean().to_numpy()
    return np.ascontiguousarray(out)
