"""The factor report: how well a cross-sectional factor ranks the forward returns that follow it.

Inputs are wide numpy arrays, dates x assets: the factor known at each date's close and the prices
(closes) on the same dates. Per horizon h (sessions) the label of date t is the simple return from
t's close to the close h rows later, ``prices[t + h] / prices[t] - 1`` (alphalens' forward return);
the last h dates have none (NaN, never filled), and :func:`check_forward_returns` refuses any label
that ends past the data or is not that return.

Per horizon the report gives:

* **IC**: the daily Spearman rank IC (average ranks for ties, over the names with both a factor and a
  label, at least ``min_names`` of them) and the daily Pearson IC; the mean, standard deviation
  (ddof 1), ICIR = mean / std, hit rate (share of dates with IC > 0) and a HAC interval of the mean
  (Newey-West, lag 2 h: consecutive dates' h-day labels overlap; fixed-b critical value).
* **Quantiles**: each date's names with a factor cut into ``quantiles`` equal-count bins as
  ``pandas.qcut`` cuts them; each bin's daily mean label less the date's mean label, averaged over
  dates (alphalens' ``mean_return_by_quantile``, demeaned), and the daily top-minus-bottom spread
  of the bins' mean labels.
* **Turnover**: per bin, the share of its names on a date that were not in it h dates before
  (alphalens' ``quantile_turnover``), averaged over dates.
* **Rank autocorrelation**: the Pearson correlation of each name's factor rank on a date with its
  rank h dates before (alphalens' ``factor_rank_autocorrelation``), averaged over dates.
* **Per group** (a sector per asset): the mean daily rank IC within each group.

Everything is computed for all dates at once (:mod:`._cross_section`): no loop over dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._cross_section import SortedRows, row_correlation, row_quantiles, row_ranks
from ._errors import InsufficientDataError, LookAheadError
from ._stats import HacInterval, hac_mean_interval

__all__ = [
    "FactorReport",
    "HorizonReport",
    "check_forward_returns",
    "cross_sectional_ic",
    "factor_report",
    "forward_returns",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_HORIZONS = (1, 5, 10, 21)
# Relative difference a label may have from prices[t + h] / prices[t] - 1 (rounding only).
LABEL_TOLERANCE = 1e-10


def forward_returns(prices: npt.ArrayLike, horizon: int) -> FloatArray:
    """``prices[t + h] / prices[t] - 1`` for every date and asset of ``prices`` (n_dates, n_assets);
    NaN for the last ``horizon`` dates (no close h rows later) and where either close is missing or
    not positive."""
    if horizon < 1:
        raise ValueError(f"a forward-return horizon must be at least 1 session, got {horizon}")
    return _close_to_close(np.asarray(prices, dtype=np.float64), horizon)


def _close_to_close(prices: FloatArray, horizon: int) -> FloatArray:
    # The one definition of a label; check_forward_returns holds labels to it.
    p = np.where(prices > 0, prices, np.nan)
    out: FloatArray = np.full(p.shape, np.nan)
    if horizon < len(p):
        out[:-horizon] = p[horizon:] / p[:-horizon] - 1.0
    return out


def check_forward_returns(prices: npt.ArrayLike, labels: npt.ArrayLike, horizon: int) -> None:
    """Raise :class:`LookAheadError` unless every finite label of date t is the return from t's
    close to the close ``horizon`` rows later: a label on one of the last ``horizon`` dates ends past
    the data (a filled or wrapped label), and one that differs from that return is misaligned."""
    p = np.asarray(prices, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != p.shape:
        raise LookAheadError(f"{horizon}-session labels have shape {y.shape}, the prices {p.shape}: they must be "
                             "aligned date by date and asset by asset")
    tail = np.isfinite(y[max(len(y) - horizon, 0):])
    if tail.any():
        row, col = np.argwhere(tail)[0]
        raise LookAheadError(f"{horizon}-session label of date row {len(y) - horizon + row}, asset column {col} is "
                             f"finite, but no close exists {horizon} rows later: a label past the data end is "
                             "filled or wrapped, never observed; leave it NaN")
    expected = _close_to_close(p, horizon)
    finite = np.isfinite(y)
    wrong = finite & ~(np.abs(y - expected) <= LABEL_TOLERANCE * np.maximum(1.0, np.abs(expected)))
    if wrong.any():
        row, col = np.argwhere(wrong)[0]
        raise LookAheadError(f"{horizon}-session label of date row {row}, asset column {col} is {y[row, col]:.6g}, "
                             f"not the return from that close to the close {horizon} rows later "
                             f"({expected[row, col]:.6g}): the labels are misaligned with their dates; build them "
                             "with forward_returns")


def cross_sectional_ic(factor: npt.ArrayLike, labels: npt.ArrayLike, min_names: int = 3,
                       method: str = "spearman") -> FloatArray:
    """Per row (date) of ``factor`` and ``labels`` (both (n_dates, n_assets)), the correlation over
    the names with both: ``spearman`` (average ranks within those names) or ``pearson``. NaN for a
    date with fewer than ``min_names`` such names or a constant side."""
    x, y = np.asarray(factor, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if method == "pearson":
        return row_correlation(x, y, min_names)
    if method != "spearman":
        raise ValueError(f"method must be 'spearman' or 'pearson', got {method!r}")
    both = np.isfinite(x) & np.isfinite(y)
    return row_correlation(row_ranks(np.where(both, x, np.nan)).ranks,
                           row_ranks(np.where(both, y, np.nan)).ranks, min_names)


@dataclass(frozen=True)
class HorizonReport:
    """The factor against its h-session forward returns.

    Attributes
    ----------
    rank_ic, pearson_ic : ndarray of shape (n_dates,)
        Daily ICs; NaN where a date has fewer than ``min_names`` names with both values.
    ic_interval : HacInterval or None
        Mean rank IC with its Newey-West interval; None below ``min_dates`` dates.
    quantile_mean_return : ndarray of shape (quantiles,)
        Mean over dates of each bin's mean h-session return less the date's mean.
    spread : ndarray of shape (n_dates,)
        Mean return of the top bin minus the bottom bin's, per date.
    quantile_turnover : ndarray of shape (quantiles,)
        Mean share of each bin's names that were not in it h dates before.
    group_ic : dict
        Group label -> mean daily rank IC within the group.
    """

    horizon: int
    rank_ic: FloatArray
    pearson_ic: FloatArray
    ic_interval: HacInterval | None
    quantile_mean_return: FloatArray
    spread: FloatArray
    quantile_turnover: FloatArray
    rank_autocorrelation: float
    group_ic: dict[str, float]

    @property
    def n_dates(self) -> int:
        return int(np.isfinite(self.rank_ic).sum())

    @property
    def ic_mean(self) -> float:
        return _nanmean(self.rank_ic)

    @property
    def ic_std(self) -> float:
        ic = self.rank_ic[np.isfinite(self.rank_ic)]
        return float(ic.std(ddof=1)) if len(ic) > 1 else float("nan")

    @property
    def icir(self) -> float:
        std = self.ic_std
        return self.ic_mean / std if std > 0 else float("nan")

    @property
    def hit_rate(self) -> float:
        ic = self.rank_ic[np.isfinite(self.rank_ic)]
        return float((ic > 0).mean()) if len(ic) else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready numbers (None for NaN)."""
        return {"horizon": self.horizon, "n_dates": self.n_dates, "rank_ic_mean": _json(self.ic_mean),
                "rank_ic_std": _json(self.ic_std), "icir": _json(self.icir), "hit_rate": _json(self.hit_rate),
                "pearson_ic_mean": _json(_nanmean(self.pearson_ic)),
                "rank_ic_interval": self.ic_interval.as_dict() if self.ic_interval is not None else None,
                "quantile_mean_return": [_json(v) for v in self.quantile_mean_return],
                "spread_mean": _json(_nanmean(self.spread)),
                "quantile_turnover": [_json(v) for v in self.quantile_turnover],
                "rank_autocorrelation": _json(self.rank_autocorrelation),
                "group_ic": {g: _json(v) for g, v in self.group_ic.items()}}


@dataclass(frozen=True)
class FactorReport:
    """:func:`factor_report`'s result: one :class:`HorizonReport` per horizon, and the bins.

    Attributes
    ----------
    quantile_labels : ndarray of shape (n_dates, n_assets)
        Each name's bin (1..quantiles) on each date, 0 where it has no factor value.
    """

    horizons: tuple[HorizonReport, ...]
    quantiles: int
    quantile_labels: npt.NDArray[np.int8]
    min_names: int

    def horizon(self, h: int) -> HorizonReport:
        for report in self.horizons:
            if report.horizon == h:
                return report
        raise KeyError(f"no {h}-session horizon in this factor report (horizons: "
                       f"{[r.horizon for r in self.horizons]})")

    def as_dict(self) -> dict[str, Any]:
        return {"quantiles": self.quantiles, "min_names": self.min_names,
                "horizons": {str(r.horizon): r.as_dict() for r in self.horizons}}


def _nanmean(values: FloatArray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def _json(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _joint_ranks(own: SortedRows, values: FloatArray, keep: npt.NDArray[np.bool_]) -> FloatArray:
    """Ranks of ``values`` among the entries ``keep`` marks: ``own`` (the ranks over all finite
    entries) wherever a row keeps every finite entry, re-ranked on the rows that drop some."""
    finite = np.isfinite(values)
    rows = np.flatnonzero((finite & ~keep).any(axis=1))
    ranks = np.where(keep, own.ranks, np.nan)
    if len(rows):
        ranks[rows] = row_ranks(np.where(keep[rows], values[rows], np.nan)).ranks
    return ranks


def _quantile_returns(labels: npt.NDArray[np.int8], fwd: FloatArray, q: int) -> tuple[FloatArray, FloatArray]:
    """Each bin's daily mean label less the date's mean, averaged over dates; and the daily
    top-minus-bottom spread of the bins' means."""
    n_dates = len(fwd)
    rows, cols = np.nonzero((labels > 0) & np.isfinite(fwd))
    values, bins = fwd[rows, cols], labels[rows, cols].astype(np.int64)
    day_mean = np.bincount(rows, weights=values, minlength=n_dates) / np.maximum(
        np.bincount(rows, minlength=n_dates), 1)
    cell = rows * q + bins - 1
    counts = np.bincount(cell, minlength=n_dates * q).reshape(n_dates, q)
    sums = np.bincount(cell, weights=values - day_mean[rows], minlength=n_dates * q).reshape(n_dates, q)
    daily = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    seen = np.isfinite(daily).any(axis=0)
    mean = np.full(q, np.nan)
    mean[seen] = np.nanmean(daily[:, seen], axis=0)
    return mean, daily[:, q - 1] - daily[:, 0]


def _quantile_turnover(labels: npt.NDArray[np.int8], q: int, lag: int) -> FloatArray:
    out = np.full(q, np.nan)
    if lag >= len(labels):
        return out
    now, before = labels[lag:], labels[:-lag]
    for k in range(1, q + 1):
        in_bin = now == k
        size = in_bin.sum(axis=1)
        new = (in_bin & (before != k)).sum(axis=1)
        # A date whose bin is empty, or whose date h rows before had no bins at all, has no turnover.
        valid = (size > 0) & (before > 0).any(axis=1)
        if valid.any():
            out[k - 1] = float((new[valid] / size[valid]).mean())
    return out


def _rank_autocorrelation(ranks: FloatArray, lag: int) -> float:
    if lag >= len(ranks):
        return float("nan")
    return _nanmean(row_correlation(ranks[lag:], ranks[:-lag], min_names=3))


def _group_ic(factor: FloatArray, fwd: FloatArray, groups: npt.NDArray[Any], min_names: int,
              own: dict[str, SortedRows]) -> dict[str, float]:
    out: dict[str, float] = {}
    for group in sorted(own):
        columns = groups == group
        x, y = factor[:, columns], fwd[:, columns]
        keep = np.isfinite(x) & np.isfinite(y)
        rx = _joint_ranks(own[group], x, keep)
        ry = row_ranks(np.where(keep, y, np.nan)).ranks
        out[group] = _nanmean(row_correlation(rx, ry, min_names))
    return out


def factor_report(factor: npt.ArrayLike, prices: npt.ArrayLike, *, horizons: Sequence[int] = DEFAULT_HORIZONS,
                  quantiles: int | None = 5, groups: Sequence[Any] | npt.ArrayLike | None = None,
                  min_names: int = 10, min_dates: int = 20) -> FactorReport:
    """The factor report of ``factor`` against the forward returns of ``prices`` at each horizon.

    Parameters
    ----------
    factor, prices : array-like of shape (n_dates, n_assets)
        The factor known at each date's close, and the closes, on the same dates and assets; NaN
        where a name has none.
    horizons : sequence of int
        Forward-return horizons in sessions (rows).
    quantiles : int or None
        Bins for the quantile returns and turnover (None: IC, rank autocorrelation and groups only).
    groups : array-like of shape (n_assets,), optional
        A group (sector) per asset, for the per-group IC.
    min_names : int
        Fewest names with a factor and a label for a date's IC (per group: within the group).
    min_dates : int
        Fewest dates with an IC for the HAC interval of its mean.
    """
    x = np.asarray(factor, dtype=np.float64)
    p = np.asarray(prices, dtype=np.float64)
    if x.ndim != 2 or x.shape != p.shape:
        raise ValueError(f"factor {x.shape} and prices {p.shape} must be 2-d arrays of the same shape "
                         "(n_dates, n_assets)")
    if quantiles is not None and quantiles < 2:
        raise ValueError(f"quantiles must be at least 2, got {quantiles}")
    x = np.where(np.isfinite(x), x, np.nan)
    own = row_ranks(x)
    labels = row_quantiles(own, x, quantiles) if quantiles else np.zeros(x.shape, dtype=np.int8)
    group_codes = None if groups is None else np.asarray([str(g) for g in np.asarray(groups)], dtype=object)
    if group_codes is not None and len(group_codes) != x.shape[1]:
        raise ValueError(f"groups has {len(group_codes)} labels for {x.shape[1]} assets")
    group_own = ({str(g): row_ranks(x[:, group_codes == g]) for g in np.unique(group_codes)}
                 if group_codes is not None else {})
    reports = []
    for h in horizons:
        fwd = forward_returns(p, h)
        check_forward_returns(p, fwd, h)
        keep = np.isfinite(x) & np.isfinite(fwd)
        rank_ic = row_correlation(_joint_ranks(own, x, keep), row_ranks(np.where(keep, fwd, np.nan)).ranks,
                                  min_names)
        try:
            interval: HacInterval | None = hac_mean_interval(rank_ic, 2 * h, min_dates)
        except InsufficientDataError:
            interval = None
        if quantiles:
            pooled, spread = _quantile_returns(labels, fwd, quantiles)
            turnover = _quantile_turnover(labels, quantiles, h)
        else:
            pooled, spread, turnover = np.full(0, np.nan), np.full(len(x), np.nan), np.full(0, np.nan)
        reports.append(HorizonReport(
            horizon=int(h), rank_ic=rank_ic, pearson_ic=row_correlation(x, fwd, min_names), ic_interval=interval,
            quantile_mean_return=pooled, spread=spread, quantile_turnover=turnover,
            rank_autocorrelation=_rank_autocorrelation(own.ranks, h),
            group_ic=_group_ic(x, fwd, group_codes, min_names, group_own) if group_codes is not None else {}))
    return FactorReport(horizons=tuple(reports), quantiles=quantiles or 0, quantile_labels=labels,
                        min_names=min_names)
