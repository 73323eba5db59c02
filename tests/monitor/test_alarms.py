"""Alarms evaluated with CloudWatch's semantics, table-driven.

The cases follow AWS's documentation: "Using Amazon CloudWatch alarms" (evaluation periods N,
datapoints to alarm M: ALARM when M of the last N periods breach) and "Configuring how CloudWatch
alarms treat missing data" (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
alarms-and-missing-data.html): ``notBreaching`` treats a missing period as within the threshold,
``breaching`` as breaching, ``ignore`` keeps the current state, and ``missing`` goes to
INSUFFICIENT_DATA when every period of the evaluation range is missing; a partly missing range is
filled as few times as possible, so a missing period never makes ``missing``/``ignore`` alarm.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.monitor import (
    ALARM,
    INSUFFICIENT_DATA,
    OK,
    Alarm,
    AlarmBook,
    AlarmError,
    default_alarms,
    evaluate,
    evaluate_all,
)
from alpha_engine.pipeline import Notifier
from alpha_engine.store import SqliteMetrics

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
P = 3600


def alarm(n: int = 3, m: int = 3, missing: str = "missing", **kw: Any) -> Alarm:
    args: dict[str, Any] = {"name": "a", "namespace": "T", "metric": "Errors", "dimensions": (), "statistic": "Maximum",
                            "period": P, "evaluation_periods": n, "datapoints_to_alarm": m,
                            "comparison": "GreaterThanThreshold", "threshold": 0, "treat_missing_data": missing}
    args.update(kw)
    return Alarm(**args)


def seed(tmp_path: Path, pattern: str) -> SqliteMetrics:
    """One datapoint per period of ``pattern``, oldest first, the last period ending at AT:
    'X' breaching (1), '0' not breaching (0), '-' missing."""
    store = SqliteMetrics(tmp_path / "metrics.db")
    n = len(pattern)
    for i, c in enumerate(pattern):
        if c != "-":
            store.emit("T", "Errors", 1 if c == "X" else 0, None, AT - timedelta(seconds=P * (n - 1 - i) + 60))
    return store


# (pattern of the N periods, M, treat_missing_data, current state) -> expected state
CASES = [
    # M out of N with full data
    ("XXX", 3, "missing", OK, ALARM),
    ("0XX", 3, "missing", OK, OK),
    ("0XX", 2, "missing", OK, ALARM),
    ("X0X", 2, "missing", OK, ALARM),
    ("X00", 2, "missing", ALARM, OK),
    ("000", 1, "missing", ALARM, OK),
    # every period missing: each treatment
    ("---", 3, "missing", OK, INSUFFICIENT_DATA),
    ("---", 3, "ignore", ALARM, ALARM),
    ("---", 3, "ignore", OK, OK),
    ("---", 3, "breaching", OK, ALARM),
    ("---", 3, "notBreaching", ALARM, OK),
    # some missing: breaching fills them as breaching, the others never count them
    ("X--", 3, "breaching", OK, ALARM),
    ("X--", 3, "notBreaching", OK, OK),
    ("X--", 3, "missing", OK, OK),
    ("X--", 3, "ignore", ALARM, OK),
    ("X-X", 2, "missing", OK, ALARM),
    ("0--", 3, "breaching", OK, OK),  # a real non-breaching datapoint keeps 3 of 3 from breaching
    ("0--", 2, "breaching", OK, ALARM),
]


@pytest.mark.parametrize(("pattern", "m", "missing", "current", "expected"), CASES)
def test_cloudwatch_semantics(tmp_path: Path, pattern: str, m: int, missing: str, current: str,
                              expected: str) -> None:
    store = seed(tmp_path, pattern)
    got = evaluate(alarm(len(pattern), m, missing), store, AT, current)
    assert got.state == expected, got.reason


def test_the_range_ends_at_the_evaluation_time(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    store.emit("T", "Errors", 1, None, AT)  # exactly at: in the range
    store.emit("T", "Errors", 1, None, AT - timedelta(seconds=P))  # exactly one period back: out of a 1-period range
    assert evaluate(alarm(1, 1), store, AT).values == (1.0,)
    assert evaluate(alarm(2, 2), store, AT).values == (1.0, 1.0)
    assert evaluate(alarm(1, 1), store, AT - timedelta(seconds=1)).values == (1.0,)
    assert evaluate(alarm(1, 1), store, AT + timedelta(seconds=P)).values == (None,)


def test_statistic_and_comparison(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    for v in (1, 2, 6):
        store.emit("T", "Errors", v, None, AT - timedelta(minutes=v))
    cases = {("Maximum", 6): OK, ("Average", 2): ALARM, ("Sum", 9): OK, ("SampleCount", 2): ALARM,
             ("Minimum", 0): ALARM}
    for (statistic, threshold), want in cases.items():
        got = evaluate(alarm(1, 1, statistic=statistic, threshold=threshold), store, AT)
        assert got.state == want, (statistic, got.reason)
    got = evaluate(alarm(1, 1, statistic="Maximum", comparison="GreaterThanOrEqualToThreshold", threshold=6),
                   store, AT)
    assert got.state == ALARM


@pytest.mark.parametrize(("kw", "message"), [
    ({"statistic": "p99"}, "statistic"),
    ({"period": 90}, "multiple of 60"),
    ({"evaluation_periods": 2, "datapoints_to_alarm": 3}, "datapoints_to_alarm 3"),
    ({"period": 604800, "evaluation_periods": 2, "datapoints_to_alarm": 1}, "at most 7 days"),
    ({"comparison": "Equal"}, "comparison"),
    ({"treat_missing_data": "zero"}, "treat_missing_data"),
])
def test_declarations_cloudwatch_refuses_are_refused(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(AlarmError, match=message):
        alarm(**kw)


def test_heartbeat_alarms_go_off_when_a_stage_did_not_run_for_a_week(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    store.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, AT - timedelta(days=6))
    alarms = {a.name: a for a in default_alarms(["data-phase1", "rag-ingestion"])}
    beat = alarms["alpha-engine-heartbeat-data-phase1"]
    assert (beat.period, beat.treat_missing_data) == (604800, "breaching")
    assert evaluate(beat, store, AT).state == OK
    assert evaluate(beat, store, AT + timedelta(days=2)).state == ALARM  # 8 days since the last heartbeat
    assert evaluate(alarms["alpha-engine-heartbeat-rag-ingestion"], store, AT).state == ALARM
    # no health-check failure reported: notBreaching keeps it OK
    assert evaluate(alarms["AlphaEngine-HealthCheckFailures"], store, AT).state == OK
    store.emit("AlphaEngine", "HealthChecksFailed", 2, None, AT - timedelta(hours=1))
    assert evaluate(alarms["AlphaEngine-HealthCheckFailures"], store, AT).state == ALARM


def test_the_eval_quality_floor_alarms_below_three_and_stays_ok_without_scores(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    floor = {a.name: a for a in default_alarms([])}["alpha-engine-eval-quality-regression"]
    assert (floor.namespace, floor.metric, floor.statistic) == ("AlphaEngine/Eval", "agent_quality_score_4w_mean_min",
                                                                "Minimum")
    assert evaluate(floor, store, AT).state == OK  # no judge has scored yet: notBreaching
    store.emit("AlphaEngine/Eval", "agent_quality_score_4w_mean_min", 3.0, None, AT - timedelta(days=3))
    assert evaluate(floor, store, AT).state == OK  # at the floor is not below it
    store.emit("AlphaEngine/Eval", "agent_quality_score_4w_mean_min", 2.9, None, AT - timedelta(days=1))
    assert evaluate(floor, store, AT).state == ALARM  # the week's minimum is under 3.0
    assert evaluate(floor, store, AT + timedelta(days=7)).state == OK  # a week later that score is out of range


def test_changes_are_recorded_and_notified_once(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    book = AlarmBook(tmp_path / "alarms.db")
    notifier = Notifier(tmp_path, "arn:aws:sns:us-east-1:123456789012:alerts", now=lambda: AT, new_id=lambda: "id")
    beat = default_alarms(["data-phase1"])[0]

    _, changes = evaluate_all([beat], store, book, AT, notifier)
    assert [(c.old, c.new) for c in changes] == [(INSUFFICIENT_DATA, ALARM)]
    _, again = evaluate_all([beat], store, book, AT + timedelta(hours=1), notifier)
    assert again == []  # the same state is not a change
    store.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, AT + timedelta(hours=2))
    evaluate_all([beat], store, book, AT + timedelta(hours=3), notifier)

    assert [(c.alarm, c.old, c.new) for c in book.history()] == [
        ("alpha-engine-heartbeat-data-phase1", INSUFFICIENT_DATA, ALARM),
        ("alpha-engine-heartbeat-data-phase1", ALARM, OK)]
    assert book.states()["alpha-engine-heartbeat-data-phase1"][0] == OK
    outbox = [json.loads(line) for line in (tmp_path / "notifications" / "outbox.jsonl").read_text().splitlines()]
    subjects = [r.get("Subject") or r.get("subject") for r in outbox]
    assert subjects == ['ALARM: "alpha-engine-heartbeat-data-phase1"', 'OK: "alpha-engine-heartbeat-data-phase1"']


def test_only_changes_into_or_out_of_alarm_are_notified(tmp_path: Path) -> None:
    store = SqliteMetrics(tmp_path / "metrics.db")
    book = AlarmBook(tmp_path / "alarms.db")
    notifier = Notifier(tmp_path, "arn:aws:sns:us-east-1:123456789012:alerts", now=lambda: AT, new_id=lambda: "id")
    quiet = alarm(n=1, m=1, missing="missing", threshold=5)
    store.emit("T", "Errors", 1, None, AT - timedelta(minutes=5))
    _, changes = evaluate_all([quiet], store, book, AT, notifier)  # first evaluation: INSUFFICIENT_DATA -> OK
    assert [(c.old, c.new) for c in changes] == [(INSUFFICIENT_DATA, OK)]
    _, changes = evaluate_all([quiet], store, book, AT + timedelta(hours=2), notifier)  # no data: back to it
    assert [(c.old, c.new) for c in changes] == [(OK, INSUFFICIENT_DATA)]
    assert len(book.history()) == 2
    assert not (tmp_path / "notifications" / "outbox.jsonl").exists()
    store.emit("T", "Errors", 9, None, AT + timedelta(hours=3))
    _, changes = evaluate_all([quiet], store, book, AT + timedelta(hours=3), notifier)
    assert [(c.old, c.new) for c in changes] == [(INSUFFICIENT_DATA, ALARM)]
    outbox = [json.loads(line) for line in (tmp_path / "notifications" / "outbox.jsonl").read_text().splitlines()]
    assert [r["subject"] for r in outbox] == ['ALARM: "a"']


def test_a_read_only_book_refuses_to_record(tmp_path: Path) -> None:
    with pytest.raises(AlarmError, match="read-only"):
        AlarmBook(tmp_path / "alarms.db", read_only=True).record([])
