"""Per-date statistics across tickers: the robust factor-loading z-score and the return dispersion.

Each row (date) is handled on its own, so a value at date t depends only on that date's values;
rows are reduced along axis 1 of a C-contiguous array, so the arithmetic is the same whatever the
number of rows (full history or truncated). Non-finite values (NaN, +-inf) count as missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["cross_sectional_zscore", "dispersion_rows", "robust_zscore_rows"]

MAD_SCALE = 1.4826
CLIP_SIGMAS = 3.0


def robust_zscore_rows(values: np.ndarray, *, mad_scale: float = MAD_SCALE, clip: float = CLIP_SIGMAS
                       ) -> np.ndarray:
    """Robust z-score of each row of ``values`` (dates x tickers).

    Per row: sigma = ``mad_scale`` * MAD around the median; values are clipped to median +- ``clip``
    sigma, then standardized by the clipped values' mean and std (ddof 0). A row with fewer than 2
    finite values, or with sigma == 0, is all-NaN; missing inputs stay NaN.
    """
    x = np.ascontiguousarray(values, dtype=np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    if x.ndim != 2 or x.shape[1] == 0:
        return np.full(x.shape, np.nan)
    known = ~np.isnan(x)
    count = known.sum(axis=1)
    median = _row_median(x, count)
    sigma = mad_scale * _row_median(np.abs(x - median[:, None]), count)
    usable = (count >= 2) & (sigma > 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        clipped = np.clip(x, (median - clip * sigma)[:, None], (median + clip * sigma)[:, None])
        mean = _row_mean(clipped, count)
        centred = clipped - mean[:, None]
        std = np.sqrt(_row_mean(centred * centred, count))
        z = centred / std[:, None]
    usable &= std > 0.0
    return np.where(usable[:, None] & known, z, np.nan)


def dispersion_rows(values: np.ndarray) -> np.ndarray:
    """Std (ddof 1) of each row's finite values, (dates,); NaN where fewer than 2."""
    x = np.ascontiguousarray(values, dtype=np.float64)
    x = np.where(np.isfinite(x), x, np.nan)
    if x.ndim != 2 or x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    count = (~np.isnan(x)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = x - _row_mean(x, count)[:, None]
        ss = np.sum(np.where(np.isnan(centred), 0.0, centred * centred), axis=1)
        return np.where(count >= 2, np.sqrt(ss / (count - 1)), np.nan)


def cross_sectional_zscore(frame: pd.DataFrame, *, mad_scale: float = MAD_SCALE, clip: float = CLIP_SIGMAS
                           ) -> pd.DataFrame:
    """:func:`robust_zscore_rows` of a wide frame (dates x tickers), same labels."""
    z = robust_zscore_rows(frame.to_numpy(dtype=np.float64, na_value=np.nan), mad_scale=mad_scale, clip=clip)
    return pd.DataFrame(z, index=frame.index, columns=frame.columns)


def _row_median(x: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Median of each row's non-NaN values (NaN sort last); NaN for an empty row. Exact, like np.median."""
    ordered = np.sort(x, axis=1)
    lo = np.clip((count - 1) // 2, 0, None)[:, None]
    hi = np.clip(count // 2, 0, x.shape[1] - 1)[:, None]
    median = (np.take_along_axis(ordered, lo, axis=1) + np.take_along_axis(ordered, hi, axis=1))[:, 0] / 2.0
    return np.where(count > 0, median, np.nan)


def _row_mean(x: np.ndarray, count: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: np.ndarray = np.sum(np.where(np.isnan(x), 0.0, x), axis=1) / count
    return mean
