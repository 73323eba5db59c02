"""TradingCalendar: XNYS sessions, holidays, early closes, staleness and range errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from alpha_engine.store import CalendarError, StoreError, TradingCalendar

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def calendar() -> TradingCalendar:
    return TradingCalendar()


@pytest.fixture(scope="module")
def bounded() -> TradingCalendar:
    # An explicit end keeps the upper range error independent of today's date.
    return TradingCalendar(start="1990-01-01", end="2023-12-29")


# ------------------------------------------------------------------------------------------ sessions


def test_observed_christmas_2022_is_closed(calendar: TradingCalendar) -> None:
    assert calendar.is_session(date(2022, 12, 26)) is False
    assert calendar.is_session(date(2022, 12, 27)) is True


def test_good_friday_2022_is_closed(calendar: TradingCalendar) -> None:
    assert calendar.is_session(date(2022, 4, 15)) is False
    assert calendar.is_session(date(2022, 4, 14)) is True


def test_early_close_day_is_a_session(calendar: TradingCalendar) -> None:
    assert calendar.is_session(date(2022, 11, 25)) is True
    assert calendar.is_session(date(2022, 11, 24)) is False  # Thanksgiving


def test_weekends_are_not_sessions(calendar: TradingCalendar) -> None:
    assert calendar.is_session(date(2022, 12, 24)) is False
    assert calendar.is_session(date(2022, 12, 25)) is False
    assert calendar.is_session(date(2022, 12, 30)) is True


def test_holiday_on_the_first_day_of_the_range_is_not_an_error(calendar: TradingCalendar) -> None:
    assert calendar.is_session(date(1990, 1, 1)) is False
    assert calendar.is_session(date(1990, 1, 2)) is True


def test_is_session_accepts_timestamps(calendar: TradingCalendar) -> None:
    assert calendar.is_session(pd.Timestamp("2022-12-26 15:00")) is False
    assert calendar.is_session(datetime(2022, 12, 27, 9, 30)) is True


def test_sessions_are_inclusive_and_skip_holidays_and_weekends(calendar: TradingCalendar) -> None:
    assert calendar.sessions(date(2022, 12, 22), date(2022, 12, 28)) == [
        date(2022, 12, 22),
        date(2022, 12, 23),
        date(2022, 12, 27),
        date(2022, 12, 28),
    ]


def test_sessions_start_after_end_is_empty(calendar: TradingCalendar) -> None:
    assert calendar.sessions(date(2022, 12, 28), date(2022, 12, 22)) == []


def test_sessions_2022_count_matches_nyse(calendar: TradingCalendar) -> None:
    assert len(calendar.sessions(date(2022, 1, 1), date(2022, 12, 31))) == 251


def test_previous_session_skips_holiday_weekend(calendar: TradingCalendar) -> None:
    assert calendar.previous_session(date(2022, 12, 27)) == date(2022, 12, 23)
    assert calendar.previous_session(date(2022, 4, 18)) == date(2022, 4, 14)


def test_previous_session_of_a_non_session_day(calendar: TradingCalendar) -> None:
    assert calendar.previous_session(date(2022, 12, 25)) == date(2022, 12, 23)


def test_previous_session_with_none_before_raises(calendar: TradingCalendar) -> None:
    with pytest.raises(CalendarError, match="no session before 1990-01-02"):
        calendar.previous_session(date(1990, 1, 2))


# ------------------------------------------------------------------------------------- closes by instant


def test_early_close_counts_once_the_1pm_close_passed(calendar: TradingCalendar) -> None:
    # 2022-11-25 closed at 13:00 ET = 18:00 UTC.
    assert calendar.last_closed_session(datetime(2022, 11, 25, 18, 30, tzinfo=UTC)) == date(2022, 11, 25)


def test_early_close_day_not_closed_before_1pm(calendar: TradingCalendar) -> None:
    assert calendar.last_closed_session(datetime(2022, 11, 25, 17, 0, tzinfo=UTC)) == date(2022, 11, 23)


def test_close_instant_itself_counts_as_closed(calendar: TradingCalendar) -> None:
    close = datetime(2022, 12, 28, 16, 0, tzinfo=NEW_YORK)
    assert calendar.last_closed_session(close) == date(2022, 12, 28)
    assert calendar.last_closed_session(close - timedelta(seconds=1)) == date(2022, 12, 27)


def test_close_follows_daylight_saving_time(calendar: TradingCalendar) -> None:
    # 16:00 New York is 21:00 UTC in winter (2022-03-11) and 20:00 UTC in summer (2022-03-14).
    assert calendar.last_closed_session(datetime(2022, 3, 14, 20, 0, tzinfo=UTC)) == date(2022, 3, 14)
    assert calendar.last_closed_session(datetime(2022, 3, 11, 20, 30, tzinfo=UTC)) == date(2022, 3, 10)


def test_weekend_instant_gives_friday(calendar: TradingCalendar) -> None:
    assert calendar.last_closed_session(datetime(2022, 12, 31, 12, 0, tzinfo=UTC)) == date(2022, 12, 30)


def test_naive_instant_is_refused(calendar: TradingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.last_closed_session(datetime(2022, 11, 25, 18, 30))


# -------------------------------------------------------------------------------------------- counting


def test_sample_last_bar_wednesday_is_two_days_stale_on_friday(calendar: TradingCalendar) -> None:
    assert calendar.trading_days_stale(date(2022, 12, 28), date(2022, 12, 30)) == 2


def test_stale_is_zero_when_last_is_not_before_as_of(calendar: TradingCalendar) -> None:
    assert calendar.trading_days_stale(date(2022, 12, 30), date(2022, 12, 30)) == 0
    assert calendar.trading_days_stale(date(2022, 12, 30), date(2022, 12, 28)) == 0


def test_stale_over_holiday_weekend_is_one(calendar: TradingCalendar) -> None:
    assert calendar.trading_days_stale(date(2022, 12, 23), date(2022, 12, 27)) == 1
    assert calendar.trading_days_stale(date(2022, 12, 23), date(2022, 12, 26)) == 0


def test_trading_days_between_counts_half_open_interval(calendar: TradingCalendar) -> None:
    assert calendar.trading_days_between(date(2022, 4, 14), date(2022, 4, 18)) == 1
    assert (
        calendar.trading_days_between(date(2022, 12, 1), date(2022, 12, 31)) == 20
    )  # 21 sessions, Dec 1 excluded
    assert calendar.trading_days_between(date(2022, 12, 31), date(2022, 12, 1)) == 0


def test_trading_days_between_many_matches_scalar(calendar: TradingCalendar) -> None:
    rng = np.random.default_rng(7)
    days = pd.Timestamp("2000-01-01") + pd.to_timedelta(
        rng.integers(0, 8000, size=(200, 2)).ravel(), unit="D"
    )
    a, b = days[0::2], days[1::2]
    many = calendar.trading_days_between_many(a, b)
    assert many.tolist() == [
        calendar.trading_days_between(x.date(), y.date()) for x, y in zip(a, b, strict=True)
    ]


def test_trading_days_between_many_needs_equal_lengths(calendar: TradingCalendar) -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        calendar.trading_days_between_many([date(2022, 1, 3)], [date(2022, 1, 4), date(2022, 1, 5)])


# ----------------------------------------------------------------------------------------------- range


def test_date_before_range_names_date_and_range(bounded: TradingCalendar) -> None:
    with pytest.raises(
        CalendarError, match=r"1989-12-29 is outside the calendar's range 1990-01-01\.\.2023-12-29"
    ):
        bounded.is_session(date(1989, 12, 29))


def test_date_after_range_raises(bounded: TradingCalendar) -> None:
    assert bounded.is_session(date(2023, 12, 29)) is True
    with pytest.raises(CalendarError, match="2024-01-02 is outside"):
        bounded.trading_days_stale(date(2023, 12, 28), date(2024, 1, 2))


def test_sessions_and_instants_outside_range_raise(bounded: TradingCalendar) -> None:
    with pytest.raises(CalendarError, match="start 1985-01-02"):
        bounded.sessions(date(1985, 1, 2), date(1990, 1, 5))
    with pytest.raises(CalendarError, match="2030-01-02"):
        bounded.last_closed_session(datetime(2030, 1, 2, 22, 0, tzinfo=UTC))
    with pytest.raises(CalendarError, match="1985-06-03"):
        bounded.trading_days_between_many([date(2020, 1, 2), date(1985, 6, 3)], [date(2020, 1, 3)] * 2)


def test_instant_before_first_close_raises(bounded: TradingCalendar) -> None:
    with pytest.raises(CalendarError, match="no session closed"):
        bounded.last_closed_session(datetime(1990, 1, 2, 15, 0, tzinfo=UTC))


def test_calendar_error_is_a_store_error() -> None:
    assert issubclass(CalendarError, StoreError)


def test_unknown_calendar_fails_lazily_on_first_use() -> None:
    calendar = TradingCalendar("NOT_AN_EXCHANGE")  # construction does no work
    with pytest.raises(CalendarError, match="NOT_AN_EXCHANGE"):
        calendar.is_session(date(2022, 1, 3))


def test_range_properties(bounded: TradingCalendar) -> None:
    assert (bounded.first_day, bounded.last_day) == (date(1990, 1, 1), date(2023, 12, 29))
