"""The run-date policy: which run_date a run started without one gets, and which it refuses.

A run reads the sessions closed by the end of its run_date (Friday's close for a Saturday run:
``TradingCalendar.as_of_session``). A run_date whose session has not closed yet (a future date,
or today before the close) is refused before any stage runs: its data does not exist, so a
stage would write part of an ingest before a freshness gate failed. A run_date that is not a
Saturday is allowed with a warning: the weekly pipeline is scheduled for Saturdays.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from alpha_engine.config import Settings
from alpha_engine.pipeline import RunDateError

__all__ = ["check_run_date", "default_run_date"]

_SATURDAY = 5


def default_run_date(settings: Settings, today: date) -> date:
    """For a provider whose data ends (a fixed dataset: sample, files, synthetic), the first
    Saturday after its last bar, so freshness checks pass offline (the sample: 2022-12-31); for
    live feeds (yfinance, polygon), ``today`` (UTC)."""
    from alpha_engine.data import first_saturday_after, open_provider

    provider = open_provider(settings.data.provider, settings.data.provider_options)
    last = provider.last_available_date()
    return first_saturday_after(last) if last is not None else today


def check_run_date(day: date, now: datetime) -> list[str]:
    """Warnings about ``day`` as a run date at the instant ``now`` (timezone-aware).

    Raises :class:`RunDateError` when the session ``day`` reads (the last XNYS session closed
    by the end of ``day``, UTC) has not closed at ``now`` (early closes included): the message
    names the date, the last closed session and the latest run dates to pass instead. A day
    before today's UTC date always passes without consulting the calendar (its session closed
    before the day ended), so a stage process pays for the calendar only on the run date itself.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"check_run_date needs a timezone-aware instant, got {now!r}")
    today = now.astimezone(UTC).date()
    # XNYS has no weekend sessions, so a weekend 'today' has nothing left to close.
    if day > today or (day == today and day.weekday() < _SATURDAY and _session_open(day, now)):
        raise RunDateError(_refusal(day, now))
    if day.weekday() != _SATURDAY:
        return [f"run_date {day} is a {day:%A}, not a Saturday: the weekly pipeline runs on Saturdays; "
                f"stages read the sessions closed by {day} (pass a Saturday to silence this)"]
    return []


def _session_open(day: date, now: datetime) -> bool:
    """Whether the session ``day`` reads has not closed at ``now``."""
    from alpha_engine.store import TradingCalendar

    calendar = TradingCalendar()
    return calendar.as_of_session(day) > calendar.last_closed_session(now)


def _refusal(day: date, now: datetime) -> str:
    from alpha_engine.store import TradingCalendar

    calendar = TradingCalendar()
    closed = calendar.last_closed_session(now)
    at = now.astimezone(UTC)
    # The latest Saturday that reads only closed sessions: the one on or after the last closed
    # session, unless a session lies between them or it is still to come (then the one before).
    saturday = closed + timedelta(days=(_SATURDAY - closed.weekday()) % 7)
    if saturday > at.date() or calendar.as_of_session(saturday) > closed:
        saturday -= timedelta(days=7)
    what = ("is in the future" if day > at.date()
            else f"reads the session of {calendar.as_of_session(day)}, which has not closed yet")
    return (f"run_date {day} {what}: the last closed XNYS session is {closed} (at {at:%Y-%m-%d %H:%M} UTC); "
            f"pass --run-date {saturday} (the latest Saturday whose sessions have all closed) "
            f"or any date up to {closed}")
