"""Date-grouped, purged cross-validation splitters: expanding walk-forward and combinatorial purged CV.

Splits are over the sorted UNIQUE dates, so every row of a date lands on the same side; the splitters
yield positions into those unique dates and :func:`rows_for_dates` maps them back to the rows of a
long (date, ticker) frame.

A label at date d spans d .. d + horizon, so a training date just before a test block would see the
test period (purge), and one just after it shares the test labels' window (embargo). Both default to
the 21-day horizon. The splitter objects only store parameters; ``split`` validates them. The index
arithmetic lives in the pure functions :func:`walk_forward_splits` and :func:`cpcv_splits`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

__all__ = [
    "CombinatorialPurgedCV",
    "WalkForward",
    "cpcv_splits",
    "rows_for_dates",
    "unique_dates",
    "walk_forward_splits",
]

Split: TypeAlias = tuple[np.ndarray, np.ndarray]
DatesLike: TypeAlias = "Sequence[Any] | pd.Index | np.ndarray"


def _check_int(value: object, name: str, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _date_level(index: pd.MultiIndex) -> Any:
    return index.get_level_values("date" if "date" in index.names else 0)


def unique_dates(dates: DatesLike) -> pd.DatetimeIndex:
    """Sorted unique dates of ``dates`` (a date sequence, or a MultiIndex whose ``date`` level is used)."""
    if isinstance(dates, pd.MultiIndex):
        dates = _date_level(dates)
    return pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()


def walk_forward_splits(n_dates: int, *, min_train_dates: int, test_dates: int, purge: int) -> list[Split]:
    """Expanding-window folds over ``n_dates`` sorted dates, test blocks aligned to the END of the data.

    Test blocks are full ``test_dates`` long and tile the tail: the last ends at the last date, each
    earlier one ends where the next starts. A fold with test start s trains on dates ``[0, s - purge)``
    and is kept only if that holds at least ``min_train_dates`` dates; the dates before the earliest
    block are training-only.

    Parameters
    ----------
    n_dates : int
    min_train_dates, test_dates, purge : int

    Returns
    -------
    list of (train, test)
        Oldest fold first. ``train`` has shape (s - purge,), ``test`` shape (test_dates,); int64
        positions into the sorted unique dates.
    """
    n_folds = max(0, (n_dates - min_train_dates - purge) // test_dates)
    first_start = n_dates - n_folds * test_dates
    folds: list[Split] = []
    for start in range(first_start, n_dates, test_dates):
        folds.append((np.arange(start - purge, dtype=np.int64), np.arange(start, start + test_dates, dtype=np.int64)))
    return folds


def _group_bounds(n_dates: int, n_groups: int) -> list[tuple[int, int]]:
    # np.array_split sizes: the first n_dates % n_groups groups get one extra date.
    sizes = np.full(n_groups, n_dates // n_groups)
    sizes[: n_dates % n_groups] += 1
    ends = np.cumsum(sizes)
    return [(int(e - s), int(e)) for s, e in zip(sizes, ends, strict=True)]


def cpcv_splits(n_dates: int, *, n_groups: int, n_test_groups: int, purge: int, embargo: int) -> list[Split]:
    """Combinatorial purged CV (Lopez de Prado, AFML ch. 12) over ``n_dates`` sorted dates.

    The dates are cut into ``n_groups`` contiguous groups (sizes differ by at most one). Each of the
    C(n_groups, n_test_groups) combinations, in ``itertools.combinations`` order, is one test set;
    training is every other date except the ``purge`` dates before and the ``embargo`` dates after
    each test group. Every date is in exactly C(n_groups - 1, n_test_groups - 1) test sets.

    Parameters
    ----------
    n_dates, n_groups, n_test_groups, purge, embargo : int

    Returns
    -------
    list of (train, test)
        Sorted int64 positions into the sorted unique dates; ``test`` has shape
        (sum of the chosen group sizes,).
    """
    bounds = _group_bounds(n_dates, n_groups)
    positions = np.arange(n_dates, dtype=np.int64)
    folds: list[Split] = []
    for combo in itertools.combinations(range(n_groups), n_test_groups):
        test = np.zeros(n_dates, dtype=bool)
        banned = np.zeros(n_dates, dtype=bool)
        for g in combo:
            start, end = bounds[g]
            test[start:end] = True
            banned[max(0, start - purge) : start] = True
            banned[end : end + embargo] = True
        folds.append((positions[~test & ~banned], positions[test]))
    return folds


class WalkForward:
    """Expanding-window walk-forward splitter over dates, with a purge before each test block.

    Parameters
    ----------
    min_train_dates : int, default 504
        Fewest training dates a fold may have (two years of trading days).
    test_dates : int, default 126
        Dates per test block.
    purge : int, default 21
        Dates dropped between the end of training and the test block (the label horizon).
    embargo : int, default 21
        Kept for symmetry with :class:`CombinatorialPurgedCV`; training never follows a test block in
        a walk-forward, so it removes nothing.

    Examples
    --------
    >>> cv = WalkForward(min_train_dates=504, test_dates=126)
    >>> for train, test in cv.split(long_frame.index):  # doctest: +SKIP
    ...     rows = rows_for_dates(long_frame.index, train, unique_dates(long_frame.index))
    """

    def __init__(
        self, *, min_train_dates: int = 504, test_dates: int = 126, purge: int = 21, embargo: int = 21
    ) -> None:
        self.min_train_dates = min_train_dates
        self.test_dates = test_dates
        self.purge = purge
        self.embargo = embargo

    def __repr__(self) -> str:
        return (
            f"WalkForward(min_train_dates={self.min_train_dates}, test_dates={self.test_dates}, "
            f"purge={self.purge}, embargo={self.embargo})"
        )

    def _folds(self, dates: DatesLike) -> list[Split]:
        where = "WalkForward"
        min_train = _check_int(self.min_train_dates, "min_train_dates", where, minimum=1)
        test_dates = _check_int(self.test_dates, "test_dates", where, minimum=1)
        purge = _check_int(self.purge, "purge", where, minimum=0)
        _check_int(self.embargo, "embargo", where, minimum=0)
        n = len(unique_dates(dates))
        return walk_forward_splits(n, min_train_dates=min_train, test_dates=test_dates, purge=purge)

    def split(self, dates: DatesLike) -> Iterator[Split]:
        """Yield (train, test) int64 positions into ``unique_dates(dates)``, oldest fold first.

        Parameters
        ----------
        dates : sequence of dates of shape (n_rows,), or a (date, ticker) MultiIndex
            Duplicates are fine; only the unique sorted dates matter.

        Raises
        ------
        ValueError
            On bad parameters, or when the dates are too few for a single fold.
        """
        folds = self._folds(dates)
        if not folds:
            n = len(unique_dates(dates))
            raise ValueError(
                f"WalkForward: {n} unique dates < min_train_dates + purge + test_dates = "
                f"{self.min_train_dates + self.purge + self.test_dates}; no fold fits"
            )
        yield from folds

    def get_n_splits(self, dates: DatesLike) -> int:
        """Number of folds :meth:`split` yields for ``dates``; 0 when too few (``split`` then raises)."""
        return len(self._folds(dates))


class CombinatorialPurgedCV:
    """Combinatorial purged cross-validation over dates (López de Prado).

    Parameters
    ----------
    n_groups : int, default 10
        Contiguous date groups.
    n_test_groups : int, default 2
        Groups per test set; C(n_groups, n_test_groups) splits (45 by default).
    purge : int, default 21
        Training dates removed before each test group.
    embargo : int, default 21
        Training dates removed after each test group.
    """

    def __init__(self, *, n_groups: int = 10, n_test_groups: int = 2, purge: int = 21, embargo: int = 21) -> None:
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.purge = purge
        self.embargo = embargo

    def __repr__(self) -> str:
        return (
            f"CombinatorialPurgedCV(n_groups={self.n_groups}, n_test_groups={self.n_test_groups}, "
            f"purge={self.purge}, embargo={self.embargo})"
        )

    def _params(self) -> tuple[int, int, int, int]:
        where = "CombinatorialPurgedCV"
        n_groups = _check_int(self.n_groups, "n_groups", where, minimum=2)
        n_test = _check_int(self.n_test_groups, "n_test_groups", where, minimum=1)
        if n_test >= n_groups:
            raise ValueError(f"{where}: n_test_groups ({n_test}) must be < n_groups ({n_groups})")
        purge = _check_int(self.purge, "purge", where, minimum=0)
        embargo = _check_int(self.embargo, "embargo", where, minimum=0)
        return n_groups, n_test, purge, embargo

    def split(self, dates: DatesLike) -> Iterator[Split]:
        """Yield (train, test) int64 positions into ``unique_dates(dates)``.

        Parameters
        ----------
        dates : sequence of dates of shape (n_rows,), or a (date, ticker) MultiIndex
        """
        where = "CombinatorialPurgedCV"
        n_groups, n_test, purge, embargo = self._params()
        n = len(unique_dates(dates))
        if n < n_groups:
            raise ValueError(f"{where}: {n} unique dates < n_groups ({n_groups})")
        folds = cpcv_splits(n, n_groups=n_groups, n_test_groups=n_test, purge=purge, embargo=embargo)
        for i, (train, _) in enumerate(folds):
            if train.size == 0:
                raise ValueError(
                    f"{where}: split {i} has no training dates left after purge={purge} and "
                    f"embargo={embargo} over {n} dates"
                )
        yield from folds

    def get_n_splits(self, dates: DatesLike | None = None) -> int:
        """C(n_groups, n_test_groups); ``dates`` is accepted for API symmetry and not needed."""
        n_groups, n_test, _, _ = self._params()
        return math.comb(n_groups, n_test)

    def get_n_test_sets_per_date(self) -> int:
        """C(n_groups - 1, n_test_groups - 1): how many test sets contain each date (the CPCV paths)."""
        n_groups, n_test, _, _ = self._params()
        return math.comb(n_groups - 1, n_test - 1)


def rows_for_dates(index: pd.MultiIndex, date_positions: np.ndarray, unique_dates: DatesLike) -> np.ndarray:
    """Row positions of ``index`` whose date is one of ``unique_dates[date_positions]``.

    Parameters
    ----------
    index : MultiIndex of shape (n_rows,)
        (date, ticker) index of a long frame; the ``date`` level (else level 0) is used.
    date_positions : ndarray of shape (n_selected,)
        Positions into ``unique_dates``, as yielded by the splitters.
    unique_dates : DatetimeIndex of shape (n_dates,)
        Sorted unique dates the positions refer to (``unique_dates(index)``).

    Returns
    -------
    ndarray of shape (n_selected_rows,)
        Ascending int64 row positions.
    """
    where = "rows_for_dates"
    if not isinstance(index, pd.MultiIndex):
        raise TypeError(f"{where}: index must be a (date, ticker) MultiIndex, got {type(index).__name__}")
    dates = pd.DatetimeIndex(unique_dates)
    positions = np.asarray(date_positions, dtype=np.int64)
    if positions.size and (positions.min() < 0 or positions.max() >= len(dates)):
        raise ValueError(f"{where}: date_positions out of range [0, {len(dates)})")
    codes = dates.get_indexer(pd.DatetimeIndex(_date_level(index)))
    if (codes < 0).any():
        missing = _date_level(index)[int(np.flatnonzero(codes < 0)[0])]
        raise ValueError(f"{where}: index date {missing} is not in unique_dates")
    selected = np.zeros(len(dates), dtype=bool)
    selected[positions] = True
    return np.flatnonzero(selected[codes]).astype(np.int64)
