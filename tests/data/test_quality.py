"""Quality gates: write-time anomalies, split_blocked, full-history report and pipeline gates."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data._errors import QualityGateError
from alpha_engine.data._quality import (
    BLOCK_KINDS,
    WARN_KINDS,
    Anomaly,
    anomalies_summary,
    backfill_regression,
    check_new_rows,
    coverage_gate,
    freshness_gate,
    freshness_report,
    split_blocked,
    validate_history,
)
from alpha_engine.store import TradingCalendar


@pytest.fixture(scope="module")
def calendar() -> TradingCalendar:
    return TradingCalendar()


def bars(days: Sequence[str] | pd.DatetimeIndex, **columns: Sequence[float]) -> pd.DataFrame:
    """A raw bar frame; columns not given are absent (as in close-only data)."""
    return pd.DataFrame(
        {k: np.asarray(v, dtype="float64") for k, v in columns.items()}, index=pd.DatetimeIndex(days)
    )


def ohlcv(days: Sequence[str], close: Sequence[float], volume: Sequence[float] | None = None) -> pd.DataFrame:
    """Consistent full bars around the given closes (High/Low 1% away)."""
    c = np.asarray(close, dtype="float64")
    v = np.full(len(c), 1_000.0) if volume is None else np.asarray(volume, dtype="float64")
    return bars(days, Open=c, High=c * 1.01, Low=c * 0.99, Close=c, Volume=v)


def kinds(anomalies: Sequence[Anomaly]) -> list[str]:
    return [a.kind for a in anomalies]


def sessions_frame(calendar: TradingCalendar, start: date, end: date, close: float = 100.0) -> pd.DataFrame:
    days = pd.DatetimeIndex(calendar.sessions(start, end))
    return ohlcv([str(d.date()) for d in days], [close] * len(days))


# ------------------------------------------------------------------------------------ write time: block


def test_high_below_low_blocks_with_message_naming_ticker_date_values() -> None:
    [anomaly] = check_new_rows("AAPL", bars(["2022-03-04"], High=[1.0], Low=[2.0], Close=[1.5]), None)
    assert (anomaly.kind, anomaly.severity, anomaly.day) == ("bad_ohlc", "block", date(2022, 3, 4))
    assert anomaly.message == "AAPL 2022-03-04: High < Low (High=1.0, Low=2.0)"
    assert dict(anomaly.values) == {"High": 1.0, "Low": 2.0}


def test_close_above_high_is_intrabar_inconsistent() -> None:
    [anomaly] = check_new_rows("MSFT", bars(["2022-03-04"], High=[10.0], Low=[9.0], Close=[10.5]), None)
    assert (anomaly.kind, anomaly.severity) == ("intrabar_inconsistent", "block")
    assert anomaly.message == "MSFT 2022-03-04: Close outside [Low, High] (Close=10.5, Low=9.0, High=10.0)"


def test_close_below_low_is_intrabar_inconsistent() -> None:
    assert kinds(check_new_rows("MSFT", bars(["2022-03-04"], High=[10.0], Low=[9.0], Close=[8.0]), None)) == [
        "intrabar_inconsistent"
    ]


def test_close_within_known_side_only_checks_that_side() -> None:
    # Low unknown: only Close > High can be judged.
    assert check_new_rows("X", bars(["2022-03-04"], High=[10.0], Close=[5.0]), None) == []
    assert kinds(check_new_rows("X", bars(["2022-03-04"], High=[10.0], Close=[11.0]), None)) == [
        "intrabar_inconsistent"
    ]


@pytest.mark.parametrize("close", [0.0, -3.5])
def test_nonpositive_close_blocks(close: float) -> None:
    [anomaly] = check_new_rows("IBM", bars(["2022-03-04"], Close=[close]), None)
    assert (anomaly.kind, anomaly.severity, anomaly.values["Close"]) == ("nonpositive_close", "block", close)
    assert anomaly.message == f"IBM 2022-03-04: Close <= 0 (Close={close!r})"


@pytest.mark.parametrize("close", [math.nan, math.inf, -math.inf])
def test_missing_or_infinite_close_blocks(close: float) -> None:
    [anomaly] = check_new_rows("IBM", bars(["2022-03-04"], Close=[close], Volume=[100.0]), None)
    assert (anomaly.kind, anomaly.severity) == ("missing_close", "block")
    assert "IBM 2022-03-04" in anomaly.message


def test_absent_close_column_is_missing_close() -> None:
    assert kinds(check_new_rows("IBM", bars(["2022-03-04"], Volume=[100.0]), None)) == ["missing_close"]


def test_negative_volume_blocks() -> None:
    [anomaly] = check_new_rows("GE", bars(["2022-03-04"], Close=[10.0], Volume=[-5.0]), None)
    assert (anomaly.kind, anomaly.severity) == ("negative_volume", "block")
    assert anomaly.message == "GE 2022-03-04: Volume < 0 (Volume=-5.0)"


def test_duplicate_dates_in_raw_frame_block_every_copy() -> None:
    raw = bars(["2022-03-04 00:00", "2022-03-04 16:00", "2022-03-07"], Close=[10.0, 10.1, 10.2])
    anomalies = check_new_rows("KO", raw, None)
    assert kinds(anomalies) == ["duplicate_date"]
    assert anomalies[0].values["count"] == 2
    assert anomalies[0].message == "KO 2022-03-04: date appears more than once (count=2)"
    write, blocked = split_blocked(raw, anomalies)
    assert len(blocked) == 2 and list(write.index) == [pd.Timestamp("2022-03-07")]


def test_tz_aware_index_is_read_as_dates() -> None:
    raw = bars(pd.DatetimeIndex(["2022-03-04 21:00"], tz="UTC"), High=[1.0], Low=[2.0], Close=[1.5])
    assert [a.day for a in check_new_rows("X", raw, None)] == [date(2022, 3, 4)]


# ------------------------------------------------------------------------------------- write time: warn


def test_extreme_move_against_last_history_close_warns() -> None:
    history = ohlcv(["2022-03-02", "2022-03-03"], [90.0, 100.0])
    [anomaly] = check_new_rows("NVDA", ohlcv(["2022-03-04"], [151.0]), history)
    assert (anomaly.kind, anomaly.severity) == ("extreme_daily_move", "warn")
    assert anomaly.values == {"Close": 151.0, "prev_close": 100.0, "move": 0.51}
    assert anomaly.message.startswith("NVDA 2022-03-04: |Close / previous close - 1| > 50% (Close=151.0")


def test_move_of_exactly_half_is_not_extreme() -> None:
    history = ohlcv(["2022-03-03"], [100.0])
    assert check_new_rows("NVDA", ohlcv(["2022-03-04", "2022-03-07"], [150.0, 75.0]), history) == []


def test_extreme_move_uses_previous_incoming_row() -> None:
    anomalies = check_new_rows("NVDA", ohlcv(["2022-03-04", "2022-03-07"], [100.0, 40.0]), None)
    assert [(a.kind, a.day, a.values["prev_close"]) for a in anomalies] == [
        ("extreme_daily_move", date(2022, 3, 7), 100.0)
    ]


def test_extreme_move_skips_back_over_a_missing_close() -> None:
    rows = bars(["2022-03-04", "2022-03-07", "2022-03-08"], Close=[100.0, math.nan, 200.0])
    assert kinds(check_new_rows("X", rows, None)) == ["missing_close", "extreme_daily_move"]


def test_history_at_or_after_incoming_dates_is_not_the_reference() -> None:
    # Overwriting 2022-03-04 (e.g. a morning re-fetch): compare with 03-03, not the stored 03-04 row.
    history = ohlcv(["2022-03-03", "2022-03-04"], [100.0, 10.0])
    assert check_new_rows("X", ohlcv(["2022-03-04"], [101.0]), history) == []


def test_zero_volume_warns() -> None:
    [anomaly] = check_new_rows("T", bars(["2022-03-04"], Close=[10.0], Volume=[0.0]), None)
    assert (anomaly.kind, anomaly.severity) == ("zero_volume", "warn")
    assert anomaly.message == "T 2022-03-04: Volume == 0 (Volume=0.0)"


def _history_with_volumes(volumes: Sequence[float]) -> pd.DataFrame:
    days = pd.bdate_range("2022-01-03", periods=len(volumes))
    return bars(days, Close=[50.0] * len(volumes), Volume=volumes)


def test_volume_spike_warns_above_ten_times_median() -> None:
    history = _history_with_volumes([1_000.0] * 20)
    [anomaly] = check_new_rows("F", bars(["2022-03-04"], Close=[50.0], Volume=[10_001.0]), history)
    assert (anomaly.kind, anomaly.severity) == ("volume_spike", "warn")
    assert anomaly.values == {"Volume": 10_001.0, "median": 1_000.0, "ratio": 10.001}


def test_volume_at_exactly_ten_times_median_is_not_a_spike() -> None:
    history = _history_with_volumes([1_000.0] * 20)
    assert check_new_rows("F", bars(["2022-03-04"], Close=[50.0], Volume=[10_000.0]), history) == []


def test_volume_spike_median_uses_only_the_last_20_positive_volumes() -> None:
    # Old small volumes and recent zero-volume days do not drag the median down.
    history = _history_with_volumes([10.0] * 30 + [1_000.0] * 20 + [0.0] * 10)
    rows = bars(["2022-04-04"], Close=[50.0], Volume=[5_000.0])
    assert check_new_rows("F", rows, history) == []


def test_volume_spike_counts_previous_incoming_rows() -> None:
    rows = bars(["2022-03-01", "2022-03-02", "2022-03-03"], Close=[50.0] * 3, Volume=[100.0, 100.0, 2_000.0])
    assert [(a.kind, a.day) for a in check_new_rows("F", rows, None)] == [("volume_spike", date(2022, 3, 3))]


def test_close_only_rows_produce_no_ohlc_or_volume_anomalies() -> None:
    history = bars(pd.bdate_range("2022-01-03", periods=30), Close=np.linspace(100, 110, 30))
    rows = bars(["2022-02-14", "2022-02-15"], Close=[110.5, 111.0])
    rows["Open"] = rows["High"] = rows["Low"] = rows["Volume"] = rows["VWAP"] = math.nan
    assert check_new_rows("AAPL", rows, history) == []


# ------------------------------------------------------------------------------- upgrade, split, values


def test_upgrade_to_block_turns_a_warn_kind_into_block() -> None:
    rows = bars(["2022-03-04", "2022-03-07"], Close=[10.0, 10.0], Volume=[0.0, 100.0])
    [anomaly] = check_new_rows("T", rows, None, upgrade_to_block={"zero_volume"})
    assert anomaly.severity == "block"
    write, blocked = split_blocked(rows, [anomaly])
    assert list(blocked.index) == [pd.Timestamp("2022-03-04")]
    assert list(write.index) == [pd.Timestamp("2022-03-07")]


def test_upgrade_to_block_leaves_other_warns_alone() -> None:
    rows = bars(["2022-03-04"], Close=[10.0], Volume=[0.0])
    [anomaly] = check_new_rows("T", rows, None, upgrade_to_block=["volume_spike"])
    assert anomaly.severity == "warn"


def test_upgrade_to_block_unknown_kind_lists_known_kinds() -> None:
    with pytest.raises(ValueError, match="unknown anomaly kind.*zero_vol.*known kinds:.*zero_volume"):
        check_new_rows("T", bars(["2022-03-04"], Close=[10.0]), None, upgrade_to_block=["zero_vol"])


def test_upgrade_to_block_accepts_a_single_name() -> None:
    [anomaly] = check_new_rows(
        "T", bars(["2022-03-04"], Close=[10.0], Volume=[0.0]), None, upgrade_to_block="zero_volume"
    )
    assert anomaly.severity == "block"


def test_split_blocked_writes_warn_rows_and_keeps_raw_columns() -> None:
    rows = bars(["2022-03-04", "2022-03-07", "2022-03-08"], Close=[10.0, -1.0, 10.0], Volume=[0.0, 5.0, 5.0])
    rows["source"] = "polygon"
    anomalies = check_new_rows("T", rows, None)
    assert sorted(kinds(anomalies)) == ["nonpositive_close", "zero_volume"]
    write, blocked = split_blocked(rows, anomalies)
    assert list(write.index) == [pd.Timestamp("2022-03-04"), pd.Timestamp("2022-03-08")]
    assert list(blocked.index) == [pd.Timestamp("2022-03-07")]
    assert list(write.columns) == list(rows.columns)


def test_split_blocked_without_anomalies_writes_everything() -> None:
    rows = ohlcv(["2022-03-04"], [10.0])
    write, blocked = split_blocked(rows, [])
    assert len(write) == 1 and blocked.empty


def test_anomalies_are_sorted_by_day_then_kind_and_deterministic() -> None:
    rows = bars(
        ["2022-03-07", "2022-03-04"], High=[1.0, 5.0], Low=[2.0, 1.0], Close=[1.5, -1.0], Volume=[0.0, -1.0]
    )
    first = check_new_rows("X", rows, None)
    assert [(str(a.day), a.kind) for a in first] == [
        ("2022-03-04", "nonpositive_close"),
        ("2022-03-04", "intrabar_inconsistent"),
        ("2022-03-04", "negative_volume"),
        ("2022-03-07", "bad_ohlc"),
        ("2022-03-07", "zero_volume"),
    ]
    assert [a.to_json() for a in check_new_rows("X", rows.copy(), None)] == [a.to_json() for a in first]


def test_bad_ohlc_row_is_not_also_reported_as_intrabar_inconsistent() -> None:
    assert kinds(check_new_rows("X", bars(["2022-03-04"], High=[1.0], Low=[2.0], Close=[3.0]), None)) == [
        "bad_ohlc"
    ]


def test_anomaly_to_json_is_strict_json() -> None:
    anomaly = Anomaly(
        "X", date(2022, 3, 4), "missing_close", "block", {"Close": math.nan}, "X 2022-03-04: ..."
    )
    payload = anomaly.to_json()
    assert payload["values"] == {"Close": None} and payload["day"] == "2022-03-04"
    json.dumps(payload, allow_nan=False)


def test_anomaly_rejects_unknown_severity_and_freezes_values() -> None:
    with pytest.raises(ValueError, match="severity"):
        Anomaly("X", date(2022, 3, 4), "gap", "error", {}, "")
    values = {"a": 1}
    anomaly = Anomaly("X", date(2022, 3, 4), "gap", "warn", values, "")
    values["a"] = 2
    assert anomaly.values["a"] == 1
    with pytest.raises(TypeError):
        anomaly.values["a"] = 3  # type: ignore[index]


def test_kind_sets_are_disjoint_and_complete() -> None:
    assert not BLOCK_KINDS & WARN_KINDS
    assert {
        "bad_ohlc",
        "intrabar_inconsistent",
        "nonpositive_close",
        "negative_volume",
        "missing_close",
        "duplicate_date",
        "backfill_regression",
    } <= BLOCK_KINDS
    assert {"extreme_daily_move", "zero_volume", "volume_spike", "gap"} <= WARN_KINDS


# ------------------------------------------------------------------------------------------ full history


def test_clean_history_has_no_anomalies(calendar: TradingCalendar) -> None:
    assert (
        validate_history("X", sessions_frame(calendar, date(2022, 1, 3), date(2022, 12, 30)), calendar) == []
    )


def test_close_only_history_has_no_anomalies(calendar: TradingCalendar) -> None:
    frame = sessions_frame(calendar, date(2022, 1, 3), date(2022, 12, 30))
    frame[["Open", "High", "Low", "Volume"]] = math.nan
    assert validate_history("X", frame, calendar) == []


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("High", 50.0, "bad_ohlc"),
        ("Close", -1.0, "nonpositive_close"),
        ("Close", math.nan, "missing_close"),
        ("Close", 160.0, "extreme_daily_move"),
        ("Volume", 0.0, "zero_volume"),
        ("Volume", 50_000.0, "volume_spike"),
        ("Volume", -1.0, "negative_volume"),
    ],
)
def test_history_row_defect_is_reported(
    calendar: TradingCalendar, column: str, value: float, kind: str
) -> None:
    frame = sessions_frame(calendar, date(2022, 1, 3), date(2022, 3, 31))
    day = pd.Timestamp("2022-02-15")
    frame.loc[day, column] = value
    if column == "Close" and value > 0:
        frame.loc[day, ["High", "Low"]] = [value * 1.01, value * 0.99]
    found = [a for a in validate_history("X", frame, calendar) if a.day == day.date()]
    assert kind in kinds(found)
    assert all(a.message.startswith("X 2022-02-15: ") for a in found)


def test_history_duplicate_dates_are_reported(calendar: TradingCalendar) -> None:
    frame = sessions_frame(calendar, date(2022, 3, 1), date(2022, 3, 10))
    frame = frame.iloc[[0, 1, 2, 3, 3, 4, 5, 6, 7]]  # still ascending, 2022-03-04 twice
    found = validate_history("X", frame, calendar)
    assert [(a.kind, a.day, a.values["count"]) for a in found] == [("duplicate_date", date(2022, 3, 4), 2)]


def test_history_unsorted_index_is_reported_once(calendar: TradingCalendar) -> None:
    frame = sessions_frame(calendar, date(2022, 3, 1), date(2022, 3, 10))
    frame = frame.iloc[[0, 1, 3, 2, 4, 6, 5, 7]]
    [anomaly] = validate_history("X", frame, calendar)
    assert (anomaly.kind, anomaly.day) == ("unsorted_index", date(2022, 3, 3))
    assert anomaly.values == {"position": 3, "previous": "2022-03-04", "count": 2}


def test_holiday_weekend_is_not_a_gap(calendar: TradingCalendar) -> None:
    # Christmas 2022 (Sat..Mon closed), Good Friday 2022 and 2012's Hurricane Sandy (Sat..Tue closed).
    for pair in (["2022-12-23", "2022-12-27"], ["2022-04-14", "2022-04-18"], ["2012-10-26", "2012-10-31"]):
        assert validate_history("X", ohlcv(pair, [100.0, 100.0]), calendar) == []


def test_september_2001_closure_is_not_a_gap(calendar: TradingCalendar) -> None:
    # Seven calendar days, one trading day: a calendar-day rule would flag it.
    assert validate_history("X", ohlcv(["2001-09-10", "2001-09-17"], [100.0, 100.0]), calendar) == []


def test_five_missing_sessions_is_a_gap(calendar: TradingCalendar) -> None:
    frame = sessions_frame(calendar, date(2022, 3, 1), date(2022, 3, 31))
    frame = frame.drop(
        pd.DatetimeIndex(["2022-03-08", "2022-03-09", "2022-03-10", "2022-03-11", "2022-03-14"])
    )
    [anomaly] = validate_history("SPY", frame, calendar)
    assert (anomaly.kind, anomaly.severity, anomaly.day) == ("gap", "warn", date(2022, 3, 15))
    assert anomaly.values == {"from": "2022-03-07", "to": "2022-03-15", "trading_days": 6}
    assert anomaly.message == (
        "SPY 2022-03-15: more than 3 trading days since the previous bar "
        "(from=2022-03-07, to=2022-03-15, trading_days=6)"
    )


def test_gap_threshold_is_more_than_three_trading_days(calendar: TradingCalendar) -> None:
    frame = sessions_frame(calendar, date(2022, 3, 1), date(2022, 3, 31))
    two_missing = frame.drop(pd.DatetimeIndex(["2022-03-08", "2022-03-09"]))
    three_missing = frame.drop(pd.DatetimeIndex(["2022-03-08", "2022-03-09", "2022-03-10"]))
    assert validate_history("X", two_missing, calendar) == []
    assert [a.values["trading_days"] for a in validate_history("X", three_missing, calendar)] == [4]


def test_history_gap_over_a_holiday_counts_sessions_only(calendar: TradingCalendar) -> None:
    # 12-22 -> 12-29 skips 12-23, 12-27, 12-28 (12-26 is a holiday): 4 trading days.
    [anomaly] = validate_history("X", ohlcv(["2022-12-22", "2022-12-29"], [100.0, 100.0]), calendar)
    assert anomaly.values["trading_days"] == 4


def test_validate_history_on_8000_rows_finds_exactly_the_injected_defects(calendar: TradingCalendar) -> None:
    days = pd.DatetimeIndex(calendar.sessions(date(1990, 1, 2), date(2022, 12, 30)))[:8000]
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, len(days))))
    volume = rng.uniform(1e6, 2e6, len(days))
    frame = bars(days, Open=close, High=close * 1.02, Low=close * 0.98, Close=close, Volume=volume)
    frame.iloc[1000, frame.columns.get_loc("High")] = close[1000] * 0.5  # bad_ohlc
    frame.iloc[2000, frame.columns.get_loc("Volume")] = 0.0
    frame.iloc[3000, frame.columns.get_loc("Close")] = math.nan
    frame = frame.drop(days[5000:5006])  # 6-session hole -> trading_days 7
    found = validate_history("BIG", frame, calendar)
    assert [(a.kind, a.day) for a in found] == [
        ("bad_ohlc", days[1000].date()),
        ("zero_volume", days[2000].date()),
        ("missing_close", days[3000].date()),
        ("gap", days[5006].date()),
    ]
    assert found[-1].values["trading_days"] == 7
    assert [a.to_json() for a in validate_history("BIG", frame, calendar)] == [a.to_json() for a in found]


# ---------------------------------------------------------------------------------------------- coverage


def test_coverage_above_threshold_returns_missing() -> None:
    expected = [f"T{i:03d}" for i in range(100)]
    received = expected[:96] + ["EXTRA"]
    assert coverage_gate(expected, received) == ["T096", "T097", "T098", "T099"]


def test_coverage_below_threshold_raises_with_count_fraction_and_names() -> None:
    expected = [f"T{i:03d}" for i in range(100)]
    with pytest.raises(QualityGateError) as caught:
        coverage_gate(expected, expected[:70])
    message = str(caught.value)
    assert "received 70 of 100" in message and "70.00% < 95.00%" in message and "30 missing" in message
    assert "T070, T071" in message and "T089" in message and "T090" not in message
    assert "(and 10 more)" in message


def test_coverage_max_missing_is_enforced() -> None:
    expected = [f"T{i:03d}" for i in range(1000)]
    with pytest.raises(QualityGateError, match="6 missing > max_missing 5"):
        coverage_gate(expected, expected[6:], max_missing=5)
    assert len(coverage_gate(expected, expected[5:], max_missing=5)) == 5


def test_coverage_of_nothing_expected_passes() -> None:
    assert coverage_gate([], ["A"]) == []


def test_coverage_rejects_bad_threshold() -> None:
    with pytest.raises(ValueError, match="min_fraction"):
        coverage_gate(["A"], ["A"], min_fraction=1.5)


# --------------------------------------------------------------------------------------------- freshness


def test_freshness_report_counts_trading_days(calendar: TradingCalendar) -> None:
    report = freshness_report(
        {"SP500": date(2022, 12, 28), "AAPL": date(2022, 12, 30), "OLD": date(2022, 12, 20)},
        date(2022, 12, 30),
        calendar,
    )
    assert report == {"AAPL": 0, "OLD": 7, "SP500": 2}
    assert list(report) == ["AAPL", "OLD", "SP500"]


def test_freshness_gate_passes_within_max_stale(calendar: TradingCalendar) -> None:
    last = {"AAPL": date(2022, 12, 27), "MSFT": date(2022, 12, 30)}
    assert freshness_gate(last, date(2022, 12, 30), calendar) == {"AAPL": 3, "MSFT": 0}


def test_freshness_gate_lists_stale_tickers_with_days(calendar: TradingCalendar) -> None:
    last = {"AAPL": date(2022, 12, 30), "XOM": date(2022, 12, 22), "KO": date(2022, 12, 23)}
    with pytest.raises(QualityGateError) as caught:
        freshness_gate(last, date(2022, 12, 30), calendar)
    message = str(caught.value)
    assert "2 of 3 tickers more than 3 trading days stale as of 2022-12-30" in message
    assert "XOM (5), KO (4)" in message and "AAPL" not in message


def test_freshness_gate_sample_is_seeded_and_sized(calendar: TradingCalendar) -> None:
    last = {f"T{i:02d}": date(2022, 12, 30) for i in range(50)}
    first = freshness_gate(last, date(2022, 12, 30), calendar, sample=20, seed=3)
    assert len(first) == 20 and set(first) <= set(last)
    assert freshness_gate(last, date(2022, 12, 30), calendar, sample=20, seed=3) == first
    assert set(freshness_gate(last, date(2022, 12, 30), calendar, sample=20, seed=4)) != set(first)


def test_freshness_gate_sample_only_checks_sampled_tickers(calendar: TradingCalendar) -> None:
    last = {f"T{i:02d}": date(2022, 12, 30) for i in range(50)}
    sampled = set(freshness_gate(last, date(2022, 12, 30), calendar, sample=5, seed=1))
    outside = sorted(set(last) - sampled)[0]
    inside = sorted(sampled)[0]
    assert freshness_gate(
        {**last, outside: date(2022, 11, 1)}, date(2022, 12, 30), calendar, sample=5, seed=1
    )
    with pytest.raises(QualityGateError, match=inside):
        freshness_gate({**last, inside: date(2022, 11, 1)}, date(2022, 12, 30), calendar, sample=5, seed=1)


# -------------------------------------------------------------------------------------------- regression


def test_backfill_regression_blocks_a_last_date_moving_backwards() -> None:
    before = {"SPY": date(2022, 12, 28), "XLK": date(2022, 12, 28), "GLD": date(2022, 12, 27)}
    after = {
        "SPY": date(2022, 12, 28),
        "XLK": date(2022, 12, 20),
        "GLD": date(2022, 12, 28),
        "NEW": date(2022, 1, 3),
    }
    [anomaly] = backfill_regression(before, after)
    assert (anomaly.ticker, anomaly.kind, anomaly.severity) == ("XLK", "backfill_regression", "block")
    assert anomaly.values == {"before": "2022-12-28", "after": "2022-12-20"}
    assert anomaly.message.startswith("XLK 2022-12-28: rebuild moves the last date backwards")


def test_backfill_regression_reports_a_dropped_symbol() -> None:
    [anomaly] = backfill_regression({"VIX": date(2022, 12, 28)}, {})
    assert anomaly.values == {"before": "2022-12-28", "after": None}


def test_backfill_without_regression_is_clean() -> None:
    assert backfill_regression({"SPY": date(2022, 12, 28)}, {"SPY": date(2022, 12, 30)}) == []


# --------------------------------------------------------------------------------------------- summary


def test_anomalies_summary_counts_by_kind_and_severity() -> None:
    rows = bars(["2022-03-04", "2022-03-07", "2022-03-08"], Close=[10.0, -1.0, 10.0], Volume=[0.0, 0.0, 5.0])
    found = check_new_rows("A", rows, None) + backfill_regression(
        {"B": date(2022, 3, 8)}, {"B": date(2022, 3, 7)}
    )
    summary = anomalies_summary(found)
    assert summary == {
        "total": 4,
        "by_severity": {"block": 2, "warn": 2},
        "by_kind": {"backfill_regression": 1, "nonpositive_close": 1, "zero_volume": 2},
        "by_kind_severity": {
            "backfill_regression:block": 1,
            "nonpositive_close:block": 1,
            "zero_volume:warn": 2,
        },
        "tickers": 2,
        "blocked_tickers": ["A", "B"],
    }
    json.dumps(summary)


def test_anomalies_summary_of_nothing() -> None:
    assert anomalies_summary([])["by_severity"] == {"block": 0, "warn": 0}
