"""Row-wise statistics of wide (dates x assets) arrays, vectorised across dates.

Each row is one date's cross-section; NaN (or any non-finite value) marks a name with no value
that date. These kernels are
what the factor report and the evaluator's daily ICs run on: one ``argsort`` along the asset axis
ranks every date at once, so no Python loop runs over dates.

* :func:`row_ranks` - average ranks (ties share the mean of their positions, as
  ``scipy.stats.rankdata``), 1-based, NaN kept as NaN; with the sorted rows and their counts.
* :func:`row_correlation` - the Pearson correlation of two arrays per row over the entries both
  have, NaN for rows with fewer than ``min_names`` such entries or a constant side.
* :func:`row_quantiles` - the quantile (1..q) of each entry within its row, as ``pandas.qcut``
  labels it (linear-interpolated edges, right-closed bins), 0 where the entry is NaN or the row
  has fewer than ``q`` values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SortedRows", "row_correlation", "row_quantiles", "row_ranks"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SortedRows:
    """Average ranks of a (n_dates, n_assets) array and what the sort left behind.

    Attributes
    ----------
    ranks : ndarray of shape (n_dates, n_assets)
        1-based average ranks within each row; NaN where the input is NaN.
    sorted : ndarray of shape (n_dates, n_assets)
        Each row sorted ascending, NaN last.
    counts : ndarray of shape (n_dates,)
        Finite entries per row.
    """

    ranks: FloatArray
    sorted: FloatArray
    counts: npt.NDArray[np.int64]


def _row_order(x: FloatArray) -> npt.NDArray[np.intp]:
    """``np.argsort(x, axis=1)`` (NaN last; the order within ties is arbitrary), by a plain sort of
    integer keys: each value mapped to an order-preserving uint64 whose lowest bits are replaced by
    its column. Sorting integers is several times faster than an indirect sort; the few rows where
    the dropped bits mattered (values equal in all but their last bits) are sorted again exactly."""
    n_cols = x.shape[1]
    bits = max(1, (n_cols - 1).bit_length())
    if bits > 16:
        return np.argsort(x, axis=1)
    signed = np.ascontiguousarray(x).view(np.int64)
    key = np.where(signed < 0, ~signed, signed ^ np.int64(-(2**63))).view(np.uint64)
    shift = np.uint64(bits)
    key = (key >> shift << shift) | np.arange(n_cols, dtype=np.uint64)
    key.sort(axis=1)
    order = (key & np.uint64((1 << bits) - 1)).astype(np.intp)
    s = np.take_along_axis(x, order, axis=1)
    unsorted = np.flatnonzero((s[:, 1:] < s[:, :-1]).any(axis=1))
    if len(unsorted):
        order[unsorted] = np.argsort(x[unsorted], axis=1)
    return order


def row_ranks(values: npt.ArrayLike) -> SortedRows:
    """Average ranks of every row of ``values`` (NaN entries are left out of the ranking)."""
    # One NaN (positive, quiet) and one zero (+0.0), so that the integer keys order them as floats do.
    x = np.asarray(values, dtype=np.float64)
    x = np.where(np.isnan(x), np.nan, x + 0.0)
    n_rows, n_cols = x.shape
    order = _row_order(x)
    s = np.take_along_axis(x, order, axis=1)
    finite = np.isfinite(s)
    counts = finite.sum(axis=1).astype(np.int64)
    position = np.broadcast_to(np.arange(n_cols, dtype=np.float64), (n_rows, n_cols))
    # A tie group starts where the sorted value changes; its average rank is the mean of its first
    # and last positions, + 1.
    starts = np.ones((n_rows, n_cols), dtype=bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    if starts[finite].all():  # no ties: the rank is the position
        average = position + 1.0
    else:
        ends = np.ones((n_rows, n_cols), dtype=bool)
        ends[:, :-1] = starts[:, 1:]
        first = np.maximum.accumulate(np.where(starts, position, 0.0), axis=1)
        last = np.minimum.accumulate(np.where(ends, position, n_cols - 1.0)[:, ::-1], axis=1)[:, ::-1]
        average = (first + last) / 2.0 + 1.0
    average = np.where(finite, average, np.nan)
    ranks = np.empty_like(average)
    np.put_along_axis(ranks, order, average, axis=1)
    return SortedRows(ranks=ranks, sorted=s, counts=counts)


def row_correlation(x: npt.ArrayLike, y: npt.ArrayLike, min_names: int = 3) -> FloatArray:
    """Pearson correlation of ``x`` and ``y`` (both (n_dates, n_assets)) along each row, over the
    entries finite in both; NaN where fewer than ``max(min_names, 3)`` remain or a side is constant."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(b)
    n = both.sum(axis=1)
    safe = np.maximum(n, 1)
    a0, b0 = np.where(both, a, 0.0), np.where(both, b, 0.0)
    da = np.where(both, a0 - (a0.sum(axis=1) / safe)[:, None], 0.0)
    db = np.where(both, b0 - (b0.sum(axis=1) / safe)[:, None], 0.0)
    sxx, syy = np.einsum("ij,ij->i", da, da), np.einsum("ij,ij->i", db, db)
    sxy = np.einsum("ij,ij->i", da, db)
    denominator = np.sqrt(sxx * syy)
    valid = (n >= max(min_names, 3)) & (denominator > 0)
    out: FloatArray = np.full(len(n), np.nan)
    out[valid] = np.clip(sxy[valid] / denominator[valid], -1.0, 1.0)
    return out


def row_quantiles(ranked: SortedRows, values: npt.ArrayLike, q: int) -> npt.NDArray[np.int8]:
    """The quantile (1..``q``) of each finite entry of ``values`` within its row, ``pandas.qcut``'s
    labels + 1: edges at the k/q quantiles with linear interpolation, bins closed on the right, the
    lowest value in bin 1. ``ranked`` is ``row_ranks(values)``. 0 marks NaN entries and rows with
    fewer than ``q`` values."""
    x = np.asarray(values, dtype=np.float64)
    n = ranked.counts
    labels = np.zeros(x.shape, dtype=np.int8)
    rows = np.flatnonzero(n >= q)
    if len(rows) == 0:
        return labels
    s, m = ranked.sorted[rows], (n[rows] - 1).astype(np.float64)
    finite = np.isfinite(x[rows])
    bins = np.ones((len(rows), x.shape[1]), dtype=np.int8)
    for k in range(1, q):
        at = k / q * m
        low = np.floor(at).astype(np.int64)
        high = np.minimum(low + 1, n[rows] - 1)
        lo = np.take_along_axis(s, low[:, None], axis=1)[:, 0]
        hi = np.take_along_axis(s, high[:, None], axis=1)[:, 0]
        edge = lo + (hi - lo) * (at - low)
        bins += x[rows] > edge[:, None]
    labels[rows] = np.where(finite, bins, 0)
    return labels
