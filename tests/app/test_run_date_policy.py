"""The run-date policy of the shipped app (alpha_engine.app.check_run_date), with ``now`` injected:
a run_date whose session has not closed is refused naming the date, the last closed session and
what to pass instead; a day other than Saturday is allowed with one warning line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import alpha_engine.store
from alpha_engine.app import SATURDAY, check_run_date
from alpha_engine.pipeline import PipelineApp, RunDateError

# Friday 2026-12-04, before the 21:00 UTC close: the last closed XNYS session is Thursday 12-03.
FRIDAY_MORNING = datetime(2026, 12, 4, 11, 36, tzinfo=UTC)
FRIDAY_AFTER_CLOSE = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
SATURDAY_MORNING = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


def refusal(day: date, now: datetime) -> str:
    with pytest.raises(RunDateError) as caught:
        check_run_date(day, now)
    return str(caught.value)


def test_a_future_run_date_is_refused_naming_the_last_closed_session_and_what_to_pass() -> None:
    assert refusal(date(2027, 6, 5), FRIDAY_MORNING) == (
        "run_date 2027-06-05 is in the future: the last closed XNYS session is 2026-12-03 "
        "(at 2026-12-04 11:36 UTC); pass --run-date 2026-11-28 (the latest Saturday whose sessions have "
        "all closed) or any date up to 2026-12-03")


def test_a_date_beyond_the_calendar_is_refused_too() -> None:
    assert refusal(date(2099, 1, 3), FRIDAY_MORNING).startswith("run_date 2099-01-03 is in the future")


def test_today_before_its_close_is_refused_and_after_its_close_allowed() -> None:
    assert refusal(date(2026, 12, 4), FRIDAY_MORNING) == (
        "run_date 2026-12-04 reads the session of 2026-12-04, which has not closed yet: the last closed XNYS "
        "session is 2026-12-03 (at 2026-12-04 11:36 UTC); pass --run-date 2026-11-28 (the latest Saturday "
        "whose sessions have all closed) or any date up to 2026-12-03")
    assert check_run_date(date(2026, 12, 4), FRIDAY_AFTER_CLOSE) == [
        "run_date 2026-12-04 is a Friday, not a Saturday: the weekly pipeline runs on Saturdays; "
        "stages read the sessions closed by 2026-12-04 (pass a Saturday to silence this)"]


def test_an_early_close_counts_as_closed_at_its_early_time() -> None:
    # Friday 2026-11-27 (after Thanksgiving) closes at 13:00 New York = 18:00 UTC.
    black_friday = date(2026, 11, 27)
    assert "has not closed yet" in refusal(black_friday, datetime(2026, 11, 27, 17, 59, tzinfo=UTC))
    assert len(check_run_date(black_friday, datetime(2026, 11, 27, 18, 0, tzinfo=UTC))) == 1


def test_the_saturday_of_the_week_is_allowed_without_a_warning_once_friday_closed() -> None:
    assert check_run_date(date(2026, 12, 5), SATURDAY_MORNING) == []
    assert check_run_date(date(2026, 12, 5), FRIDAY_AFTER_CLOSE + timedelta(hours=3)) == []
    assert "is in the future" in refusal(date(2026, 12, 5), FRIDAY_AFTER_CLOSE)
    assert "pass --run-date 2026-12-05" in refusal(date(2026, 12, 6), SATURDAY_MORNING)


def test_the_suggested_saturday_is_never_after_now() -> None:
    # Good Friday 2026-04-03 has no session, so Saturday 04-04 reads only closed sessions, but on
    # that Friday it is still to come.
    message = refusal(date(2026, 4, 4), datetime(2026, 4, 3, 12, 0, tzinfo=UTC))
    assert "the last closed XNYS session is 2026-04-02" in message and "pass --run-date 2026-03-28" in message


def test_now_may_be_in_any_timezone_but_must_carry_one() -> None:
    new_york = timezone(timedelta(hours=-5))
    assert check_run_date(date(2026, 12, 5), SATURDAY_MORNING.astimezone(new_york)) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        check_run_date(date(2026, 12, 5), datetime(2026, 12, 5, 8, 0))


@pytest.mark.parametrize(("day", "weekday"), [(date(2022, 12, 26), "Monday"), (date(2022, 12, 30), "Friday"),
                                              (date(2023, 1, 1), "Sunday")])
def test_a_past_day_other_than_saturday_gets_one_warning(day: date, weekday: str) -> None:
    warnings = check_run_date(day, SATURDAY_MORNING)
    assert len(warnings) == 1 and warnings[0].startswith(f"run_date {day} is a {weekday}, not a Saturday")


def test_a_past_day_is_judged_without_the_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_calendar(*args: object, **kwargs: object) -> object:
        raise AssertionError("the calendar was consulted")

    monkeypatch.setattr(alpha_engine.store, "TradingCalendar", no_calendar)
    assert check_run_date(date(2022, 12, 31), FRIDAY_MORNING) == []
    assert check_run_date(date(2026, 12, 5), SATURDAY_MORNING) == []  # a weekend today: nothing left to close


def test_the_shipped_app_carries_the_policy_and_the_framework_default_accepts_every_date() -> None:
    assert SATURDAY.check_run_date is check_run_date
    with pytest.raises(RunDateError):
        SATURDAY.check_run_date(date(2099, 1, 3), FRIDAY_MORNING)
    plain = PipelineApp(graph=SATURDAY.graph, resources=SATURDAY.resources)
    assert plain.check_run_date(date(2099, 1, 3), FRIDAY_MORNING) == []
