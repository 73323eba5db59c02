"""The substrate alarms: a row that reports 0 once in the last 24 hours alarms; no data stays OK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alpha_engine.monitor import (
    ALARM,
    OK,
    SUBSTRATE_AGGREGATE_ALARM,
    default_alarms,
    evaluate,
    substrate_row_alarm,
)
from alpha_engine.store import SqliteMetrics

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
NS = "AlphaEngine/Substrate"


def test_the_declarations_match_upstream() -> None:
    row = substrate_row_alarm("drift")
    assert (row.name, row.metric, row.dimensions, row.statistic, row.comparison, row.threshold) == (
        "alpha-engine-substrate-drift", "SubstrateRowOK", (("RowID", "drift"),), "Minimum", "LessThanThreshold", 1)
    for alarm in (row, SUBSTRATE_AGGREGATE_ALARM):
        assert (alarm.namespace, alarm.period, alarm.evaluation_periods, alarm.datapoints_to_alarm,
                alarm.treat_missing_data) == (NS, 3600, 24, 1, "notBreaching")
    assert (SUBSTRATE_AGGREGATE_ALARM.name, SUBSTRATE_AGGREGATE_ALARM.metric, SUBSTRATE_AGGREGATE_ALARM.statistic,
            SUBSTRATE_AGGREGATE_ALARM.comparison, SUBSTRATE_AGGREGATE_ALARM.threshold) == (
        "alpha-engine-substrate-aggregate-failures", "SubstrateChecksFailed", "Maximum", "GreaterThanThreshold", 0)


def test_default_alarms_declare_one_per_substrate_row() -> None:
    names = [a.name for a in default_alarms(["a"], substrate_rows=["x", "y"])]
    assert names[-3:] == ["alpha-engine-substrate-x", "alpha-engine-substrate-y",
                          "alpha-engine-substrate-aggregate-failures"]
    assert "alpha-engine-substrate-x" not in [a.name for a in default_alarms(["a"])]


def test_one_zero_in_the_last_24_hours_alarms(tmp_path: Path) -> None:
    metrics = SqliteMetrics(tmp_path / "metrics.db")
    for hours in (30, 20, 10, 2):
        metrics.emit(NS, "SubstrateRowOK", 0.0 if hours == 20 else 1.0, {"RowID": "drift"}, AT - timedelta(hours=hours))
    metrics.emit(NS, "SubstrateChecksFailed", 1.0, None, AT - timedelta(hours=20))
    assert evaluate(substrate_row_alarm("drift"), metrics, AT).state == ALARM
    assert evaluate(SUBSTRATE_AGGREGATE_ALARM, metrics, AT).state == ALARM
    # a day later the zero has left the range
    assert evaluate(substrate_row_alarm("drift"), metrics, AT + timedelta(hours=5)).state == OK


def test_a_zero_older_than_24_hours_and_no_data_stay_ok(tmp_path: Path) -> None:
    metrics = SqliteMetrics(tmp_path / "metrics.db")
    metrics.emit(NS, "SubstrateRowOK", 0.0, {"RowID": "drift"}, AT - timedelta(hours=25))
    metrics.emit(NS, "SubstrateChecksFailed", 0.0, None, AT - timedelta(hours=1))
    assert evaluate(substrate_row_alarm("drift"), metrics, AT).state == OK
    assert evaluate(substrate_row_alarm("never_reported"), metrics, AT).state == OK
    assert evaluate(SUBSTRATE_AGGREGATE_ALARM, metrics, AT).state == OK
