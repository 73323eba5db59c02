"""The exchange trading calendar (sessions, early closes, staleness in trading days).

Backed by ``exchange_calendars`` (XNYS by default), so holidays and early closes come from its
maintained rules, never from a hand-kept list. Session dates and close instants are kept as sorted
int64 arrays so every question is a ``numpy.searchsorted`` and the bulk helpers are vectorized.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import numpy.typing as npt
import pandas as pd

from ._errors import CalendarError

__all__ = ["TradingCalendar"]

_DAY = np.dtype("datetime64[D]")


@dataclass(frozen=True)
class _Sessions:
    """What we keep of an exchange_calendars calendar: plain sorted arrays and the covered range."""

    days: npt.NDArray[np.int64]  # session dates as days since 1970-01-01, ascending
    closes_ns: npt.NDArray[np.int64]  # each session's close (early closes included), UTC epoch ns
    first: date  # covered range, inclusive
    last: date


@lru_cache(maxsize=8)
def _load_sessions(name: str, start: str, end: str | None) -> _Sessions:
    # Building XNYS from 1990 takes about a second; cache it for the process, across instances.
    try:
        calendar = (
            xcals.get_calendar(name, start=start, end=end) if end else xcals.get_calendar(name, start=start)
        )
    except Exception as exc:  # exchange_calendars raises several unrelated types for bad names/bounds
        raise CalendarError(f"calendar {name!r} (start={start}, end={end}): cannot be built: {exc}") from exc
    sessions = pd.DatetimeIndex(calendar.sessions)
    days = sessions.values.astype(_DAY).astype(np.int64)
    closes = pd.DatetimeIndex(calendar.closes.reindex(sessions))
    closes_ns = closes.tz_convert("UTC").tz_localize(None).values.astype("datetime64[ns]").astype(np.int64)
    first = pd.Timestamp(start).date()
    # Without an explicit end, exchange_calendars picks one relative to today; the last session
    # it built is then the honest upper bound.
    last = pd.Timestamp(end).date() if end else pd.Timestamp(calendar.last_session).date()
    return _Sessions(days=days, closes_ns=closes_ns, first=first, last=last)


def _as_day(day: date) -> date:
    # datetime (and pandas.Timestamp) are date subclasses; a bare date comparison needs the date part.
    return day.date() if isinstance(day, datetime) else day


def _day_number(day: date) -> int:
    return (_as_day(day) - date(1970, 1, 1)).days


class TradingCalendar:
    """An exchange's trading sessions, loaded lazily on first use and cached per process.

    ``start``/``end`` bound the range the calendar answers for (``end`` defaults to the
    exchange_calendars default, about a year after today); dates outside it raise
    :class:`CalendarError`. All counts are in sessions (trading days).
    """

    def __init__(self, name: str = "XNYS", start: str = "1990-01-01", *, end: str | None = None) -> None:
        self.name = name
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"TradingCalendar(name={self.name!r}, start={self.start!r}, end={self.end!r})"

    @property
    def _sessions(self) -> _Sessions:
        return _load_sessions(self.name, self.start, self.end)

    @property
    def first_day(self) -> date:
        """First date of the covered range (inclusive)."""
        return self._sessions.first

    @property
    def last_day(self) -> date:
        """Last date of the covered range (inclusive)."""
        return self._sessions.last

    def _check(self, day: date, what: str = "date") -> int:
        sessions = self._sessions
        plain = _as_day(day)
        if not sessions.first <= plain <= sessions.last:
            raise CalendarError(
                f"{self.name} calendar: {what} {plain.isoformat()} is outside the calendar's range "
                f"{sessions.first.isoformat()}..{sessions.last.isoformat()}"
            )
        return _day_number(plain)

    def _check_many(
        self, days: Iterable[date] | pd.DatetimeIndex | npt.NDArray[np.datetime64]
    ) -> npt.NDArray[np.int64]:
        index = pd.DatetimeIndex(list(days) if not isinstance(days, pd.DatetimeIndex | np.ndarray) else days)
        if index.tz is not None:
            index = index.tz_localize(None)
        numbers: npt.NDArray[np.int64] = index.values.astype(_DAY).astype(np.int64)
        sessions = self._sessions
        low, high = _day_number(sessions.first), _day_number(sessions.last)
        outside = (numbers < low) | (numbers > high)
        if outside.any():
            self._check(index[int(np.argmax(outside))].date())
        return numbers

    def is_session(self, day: date) -> bool:
        """True when the exchange trades on ``day`` (full or early-close session)."""
        number = self._check(day)
        days = self._sessions.days
        position = int(np.searchsorted(days, number))
        return position < len(days) and int(days[position]) == number

    def sessions(self, start: date, end: date) -> list[date]:
        """Sessions in ``[start, end]`` (both inclusive), ascending; empty when ``start > end``."""
        low, high = self._check(start, "start"), self._check(end, "end")
        days = self._sessions.days
        selected = days[np.searchsorted(days, low, side="left") : np.searchsorted(days, high, side="right")]
        return [d.item() for d in selected.astype(_DAY)]

    def previous_session(self, day: date) -> date:
        """The last session strictly before ``day``."""
        number = self._check(day)
        days = self._sessions.days
        position = int(np.searchsorted(days, number, side="left")) - 1
        if position < 0:
            raise CalendarError(
                f"{self.name} calendar: no session before {_as_day(day).isoformat()} in the calendar's range "
                f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"
            )
        return _from_day_number(int(days[position]))

    def last_closed_session(self, at: datetime) -> date:
        """The last session whose close (early closes included) is at or before the instant ``at``."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(
                f"{self.name} calendar: last_closed_session needs a timezone-aware instant, got {at!r}"
            )
        instant = pd.Timestamp(at).tz_convert("UTC")
        self._check(instant.date(), "instant")
        sessions = self._sessions
        position = int(np.searchsorted(sessions.closes_ns, instant.value, side="right")) - 1
        if position < 0:
            raise CalendarError(
                f"{self.name} calendar: no session closed by {instant.isoformat()} in the calendar's range "
                f"{sessions.first.isoformat()}..{sessions.last.isoformat()}"
            )
        return _from_day_number(int(sessions.days[position]))

    def as_of_session(self, run_date: date) -> date:
        """The last session closed by the end of ``run_date`` (UTC): Friday for a Saturday run."""
        return self.last_closed_session(datetime.combine(_as_day(run_date), time(23, 59, 59), UTC))

    def trading_days_between(self, a: date, b: date) -> int:
        """Number of sessions in ``(a, b]``; 0 when ``a >= b``."""
        low, high = self._check(a), self._check(b)
        if low >= high:
            return 0
        days = self._sessions.days
        return int(np.searchsorted(days, high, side="right") - np.searchsorted(days, low, side="right"))

    def trading_days_stale(self, last: date, as_of: date) -> int:
        """How many sessions a series whose last bar is ``last`` is behind at ``as_of``: sessions in
        ``(last, as_of]``, 0 when ``last >= as_of``."""
        return self.trading_days_between(last, as_of)

    def trading_days_between_many(
        self,
        a: Iterable[date] | pd.DatetimeIndex | npt.NDArray[np.datetime64],
        b: Iterable[date] | pd.DatetimeIndex | npt.NDArray[np.datetime64],
    ) -> npt.NDArray[np.int64]:
        """Vectorized :meth:`trading_days_between` over two equal-length date sequences."""
        low, high = self._check_many(a), self._check_many(b)
        if low.shape != high.shape:
            raise ValueError(
                f"{self.name} calendar: trading_days_between_many needs equal lengths, got {low.size} and {high.size}"
            )
        days = self._sessions.days
        counts = np.searchsorted(days, high, side="right") - np.searchsorted(days, low, side="right")
        result: npt.NDArray[np.int64] = np.maximum(counts, 0).astype(np.int64)
        return result


def _from_day_number(number: int) -> date:
    day: date = np.datetime64(number, "D").item()
    return day
