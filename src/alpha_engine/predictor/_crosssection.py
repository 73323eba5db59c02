"""Per-date cross-sections as dense matrices.

Long rows indexed by (date, ticker) are laid out as a (n_dates, width) matrix: row ``i`` sits at
``[codes[i], slots[i]]``, where ``slots[i]`` is its position within its date. Per-date operations
(ranks, rank correlations) then become row operations on one matrix, which numpy and pandas do
without a Python-level group loop. Unused cells are NaN.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

__all__ = ["DateBlocks", "rank_rows"]


class DateBlocks:
    """The dense layout of rows by their date.

    Parameters
    ----------
    dates : array-like of shape (n_rows,)
        Each row's date (any order; rows of one date need not be adjacent).

    Attributes
    ----------
    dates : DatetimeIndex of shape (n_dates,)
        The distinct dates, ascending: matrix row ``d`` holds ``dates[d]``.
    codes : ndarray of shape (n_rows,)
        Each row's matrix row.
    slots : ndarray of shape (n_rows,)
        Each row's column: its position among its date's rows, in row order.
    width : int
        The largest number of rows on one date.
    """

    def __init__(self, dates: pd.Index | np.ndarray) -> None:
        codes, uniques = pd.factorize(pd.DatetimeIndex(dates), sort=True)
        self.dates = pd.DatetimeIndex(uniques)
        self.codes = codes.astype(np.int64)
        sizes = np.bincount(self.codes, minlength=len(self.dates))
        order = np.argsort(self.codes, kind="stable")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.slots = np.empty(len(self.codes), dtype=np.int64)
        self.slots[order] = np.arange(len(self.codes)) - starts[self.codes[order]]
        self.width = int(sizes.max()) if len(sizes) else 0

    def to_dense(self, values: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows' values as a (n_dates, width) matrix, or (n_dates, n_columns, width) for 2-D values.

        ``rows`` (positions) restricts the scatter to those rows; ``values`` then holds theirs.
        """
        codes = self.codes if rows is None else self.codes[rows]
        slots = self.slots if rows is None else self.slots[rows]
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            dense = np.full((len(self.dates), self.width), np.nan)
            dense[codes, slots] = values
        else:
            dense = np.full((len(self.dates), values.shape[1], self.width), np.nan)
            dense[codes, :, slots] = values
        return dense

    def to_rows(self, dense: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_dense` over every row: (n_rows,) or (n_rows, n_columns)."""
        rows: np.ndarray = dense[self.codes, self.slots] if dense.ndim == 2 else dense[self.codes, :, self.slots]
        return rows


RANK_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_ROWS = 4096  # below this, one call beats starting threads


def rank_rows(matrix: np.ndarray) -> np.ndarray:
    """Average ranks (1 = lowest) along the last axis, NaN staying NaN and not counted.

    pandas' 2-D rank runs a matrix in one compiled pass and releases the GIL, so a large matrix
    is ranked in row chunks on ``RANK_WORKERS`` threads (ranks are exact: same result).
    """
    flat = matrix.reshape(-1, matrix.shape[-1])
    if len(flat) < _PARALLEL_ROWS or RANK_WORKERS == 1:
        ranks = _rank(flat)
    else:
        with ThreadPoolExecutor(max_workers=RANK_WORKERS) as pool:
            ranks = np.vstack(list(pool.map(_rank, np.array_split(flat, RANK_WORKERS))))
    return ranks.reshape(matrix.shape)


def _rank(flat: np.ndarray) -> np.ndarray:
    ranks: np.ndarray = pd.DataFrame(flat).rank(axis=1, method="average").to_numpy(dtype=np.float64)
    return ranks
