"""check_freshness judges one registry entry at an instant from planted artifacts: fresh, stale,
missing, grace_period, probe_failed; a holiday adds no age; cycles follow the cron anchors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from alpha_engine.health import ArtifactSpec, check_freshness, cycle_date
from alpha_engine.store import ArtifactStore, StoreError, TradingCalendar

CALENDAR = TradingCalendar()
WEEKLY = ArtifactSpec("weekly", "weekly/{date}/report.json", "saturday", 5, "warning", "scanner")
EOD = ArtifactSpec("eod", "eod/{date}.json", "eod", 1, "critical", "data-phase1")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts")


def _plant(store: ArtifactStore, spec: ArtifactSpec, *days: str) -> None:
    for day in days:
        store.write_json(spec.format(day), {"day": day})


def test_a_weekly_artifact_is_fresh_for_five_sessions_then_stale(store: ArtifactStore) -> None:
    _plant(store, WEEKLY, "2026-11-14", "2026-11-21")
    result = check_freshness(store, WEEKLY, _at("2026-11-28T10:00"), CALENDAR)
    # Mon 23, Tue 24, Wed 25, Fri 27 (Thanksgiving, Thursday 26, is a holiday): 4 sessions.
    assert (result.state, result.key, result.found_date, result.age_trading_days) == (
        "fresh", "weekly/2026-11-21/report.json", date(2026, 11, 21), 4)
    assert result.cycle == date(2026, 11, 28) and result.dedup_key == "freshness/weekly/saturday/2026-11-28"
    assert check_freshness(store, WEEKLY, _at("2026-11-30T22:00"), CALENDAR).state == "fresh"  # 5 sessions
    stale = check_freshness(store, WEEKLY, _at("2026-12-01T22:00"), CALENDAR)
    assert (stale.state, stale.age_trading_days, stale.severity) == ("stale", 6, "warning")
    assert "weekly/2026-11-21/report.json, 6 trading days old (at most 5)" in stale.reason


def test_a_holiday_adds_no_age(store: ArtifactStore) -> None:
    _plant(store, EOD, "2026-11-24")
    assert check_freshness(store, EOD, _at("2026-11-25T22:00"), CALENDAR).age_trading_days == 1
    holiday = check_freshness(store, EOD, _at("2026-11-26T22:00"), CALENDAR)  # Thanksgiving: no session closes
    assert (holiday.state, holiday.age_trading_days, holiday.cycle) == ("fresh", 1, date(2026, 11, 25))
    after = check_freshness(store, EOD, _at("2026-11-27T19:00"), CALENDAR)  # the early close has passed
    assert (after.state, after.age_trading_days, after.severity) == ("stale", 2, "critical")


def test_the_planted_flaw_a_trading_day_in_place_of_the_holiday_ages_it(store: ArtifactStore) -> None:
    # The same gap one week earlier, with no holiday: Thursday's close makes it stale.
    _plant(store, EOD, "2026-11-17")
    assert check_freshness(store, EOD, _at("2026-11-19T22:00"), CALENDAR).state == "stale"


def test_no_artifact_is_missing_and_foreign_or_future_keys_do_not_count(store: ArtifactStore) -> None:
    store.write_json("weekly/latest/report.json", {})
    store.write_json("weekly/2026-11-21/other.json", {})
    _plant(store, WEEKLY, "2026-12-05")  # after the instant
    result = check_freshness(store, WEEKLY, _at("2026-11-28T10:00"), CALENDAR)
    assert (result.state, result.key, result.age_trading_days) == ("missing", None, None)
    assert "alpha-engine stage run scanner" in result.reason


def test_a_new_entry_is_in_its_grace_period_for_its_first_cycles(store: ArtifactStore) -> None:
    spec = ArtifactSpec("new", "new/{date}.json", "saturday", 5, "warning", "scanner", grace_period_cycles=2,
                        since=date(2026, 11, 21))
    assert check_freshness(store, spec, _at("2026-11-20T10:00"), CALENDAR).state == "grace_period"
    assert check_freshness(store, spec, _at("2026-11-23T10:00"), CALENDAR).state == "grace_period"  # 1 cycle due
    assert check_freshness(store, spec, _at("2026-11-28T10:00"), CALENDAR).state == "missing"  # 2 cycles due
    _plant(store, spec, "2026-11-28")
    assert check_freshness(store, spec, _at("2026-11-28T10:00"), CALENDAR).state == "fresh"


class _BrokenStore(ArtifactStore):
    def list(self, prefix: str = "") -> list[str]:
        if prefix.startswith("eod"):
            raise StoreError("AccessDenied listing eod/")
        return super().list(prefix)


def test_a_raising_probe_is_probe_failed_and_critical(tmp_path: Path) -> None:
    store = _BrokenStore(tmp_path / "artifacts")
    warning = ArtifactSpec("eod-warn", "eod/{date}.json", "eod", 1, "warning", "data-phase1")
    result = check_freshness(store, warning, _at("2026-11-25T22:00"), CALENDAR)
    assert (result.state, result.severity) == ("probe_failed", "critical")
    assert "StoreError: AccessDenied listing eod/" in result.reason
    outside = check_freshness(ArtifactStore(tmp_path / "other"), EOD, _at("1980-01-07T22:00"), CALENDAR)
    assert outside.state == "probe_failed" and "outside the calendar's range" in outside.reason


@pytest.mark.parametrize(("cadence", "at", "expected"), [
    ("saturday", "2026-11-28T08:59", "2026-11-21"), ("saturday", "2026-11-28T09:00", "2026-11-28"),
    ("saturday", "2026-12-02T12:00", "2026-11-28"),
    ("weekday", "2026-11-25T12:59", "2026-11-24"), ("weekday", "2026-11-25T13:00", "2026-11-25"),
    ("weekday", "2026-11-26T15:00", "2026-11-25"),  # Thanksgiving: no cycle
    ("eod", "2026-11-30T20:59", "2026-11-27"), ("eod", "2026-11-30T21:00", "2026-11-30"),
    ("continuous", "2026-11-26T00:00", "2026-11-26"),
])
def test_cycles_follow_the_cron_anchors_and_the_calendar(cadence: str, at: str, expected: str) -> None:
    assert cycle_date(cadence, _at(at), CALENDAR) == date.fromisoformat(expected)


def test_a_naive_instant_is_refused(store: ArtifactStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_freshness(store, WEEKLY, datetime(2026, 11, 28, 10), CALENDAR)
