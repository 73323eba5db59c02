"""The metrics store: CloudWatch's checks and statistics on SQLite, and PutMetricData batching against
moto's in-process CloudWatch (never the network)."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alpha_engine.store import (
    MAX_DATUMS_PER_CALL,
    CloudWatchMetrics,
    Datapoint,
    FencedWriteError,
    MetricsError,
    ReadOnlyStoreError,
    SqliteMetrics,
)
from alpha_engine.store._metrics import MAX_PAYLOAD_BYTES, _datum_bytes, batches

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def store(tmp_path: Path, **kw: object) -> SqliteMetrics:
    return SqliteMetrics(tmp_path / "metrics.db", **kw)  # type: ignore[arg-type]


def test_emit_then_read_back_in_time_order(tmp_path: Path) -> None:
    metrics = store(tmp_path)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, T0 + timedelta(hours=1))
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, T0)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "other"}, T0)
    points = metrics.datapoints("AlphaEngine", "Heartbeat", {"Process": "data-phase1"}, None, None)
    assert [p.timestamp for p in points] == [T0, T0 + timedelta(hours=1)]
    assert points[0].to_json() == {"namespace": "AlphaEngine", "name": "Heartbeat",
                                   "dimensions": {"Process": "data-phase1"},
                                   "timestamp": "2026-11-28T09:00:00.000Z", "value": 1.0, "unit": "None"}
    # [start, end): the end is exclusive
    assert metrics.datapoints("AlphaEngine", "Heartbeat", {"Process": "data-phase1"}, T0,
                              T0 + timedelta(hours=1)) == points[:1]


def test_the_file_is_wal_and_a_batch_is_one_transaction(tmp_path: Path) -> None:
    metrics = store(tmp_path)
    metrics.emit("A", "m", 1, None, T0)
    with sqlite3.connect(metrics.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    class Refuse:
        def check(self, store: str, key: str) -> None:
            raise FencedWriteError(f"{store}: {key} refused", key=key, uri=store)

    fenced = SqliteMetrics(metrics.path, fence=Refuse())
    good = [Datapoint.of("A", "m", i, None, T0 + timedelta(minutes=i)) for i in range(5)]
    with pytest.raises(FencedWriteError):
        fenced.emit_many(good)
    assert len(metrics.datapoints("A", "m", None)) == 1  # nothing of the refused batch landed


def test_a_bad_datapoint_in_a_batch_writes_nothing(tmp_path: Path) -> None:
    metrics = store(tmp_path)
    bad = Datapoint("A", "m", (), T0, math.nan)
    with pytest.raises(MetricsError, match="not a finite number"):
        metrics.emit_many([Datapoint.of("A", "m", 1, None, T0), bad])
    assert metrics.datapoints("A", "m", None) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"namespace": "AWS/EC2"}, "not start with 'AWS/'"),
    ({"namespace": ""}, "namespace must be"),
    ({"name": "x" * 256}, "metric name must be"),
    ({"dimensions": {f"d{i}": "v" for i in range(31)}}, "at most 30"),
    ({"dimensions": {"d": "v" * 1025}}, "values 1 to 1024"),
    ({"dimensions": {"d": ""}}, "values 1 to 1024"),
    ({"value": math.inf}, "not a finite number"),
    ({"value": 2.0 ** 361}, "not a finite number"),
    ({"unit": "Furlongs"}, "not a CloudWatch StandardUnit"),
    ({"timestamp": datetime(2026, 1, 1)}, "has no time zone"),
])
def test_datapoints_cloudwatch_refuses_are_refused(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"namespace": "AlphaEngine", "name": "m", "value": 1.0, "dimensions": None,
                               "timestamp": T0, "unit": "None"}
    args.update(kwargs)
    with pytest.raises(MetricsError, match=message):
        store(tmp_path).emit(**args)  # type: ignore[arg-type]


def test_thirty_dimensions_are_accepted(tmp_path: Path) -> None:
    store(tmp_path).emit("A", "m", 1, {f"d{i:02}": "v" for i in range(30)}, T0)


def test_read_only_refuses_and_never_creates_the_file(tmp_path: Path) -> None:
    metrics = store(tmp_path, read_only=True)
    with pytest.raises(ReadOnlyStoreError, match="preflight-only run emits no metrics"):
        metrics.emit("A", "m", 1, None, T0)
    assert not metrics.path.exists()
    assert metrics.datapoints("A", "m", None) == [] and metrics.metrics() == []


def test_statistics_per_period_aligned_to_the_epoch(tmp_path: Path) -> None:
    metrics = store(tmp_path)
    values = {T0 + timedelta(minutes=5): 4.0, T0 + timedelta(minutes=50): 2.0, T0 + timedelta(hours=2): 9.0}
    for when, value in values.items():
        metrics.emit("A", "m", value, {"k": "v"}, when)
    start, end = T0 - timedelta(hours=1), T0 + timedelta(hours=3)
    expected = {"SampleCount": [2.0, 1.0], "Sum": [6.0, 9.0], "Average": [3.0, 9.0], "Minimum": [2.0, 9.0],
                "Maximum": [4.0, 9.0]}
    for statistic, want in expected.items():
        got = metrics.statistics("A", "m", {"k": "v"}, start, end, 3600, statistic)
        assert got == [(T0, want[0]), (T0 + timedelta(hours=2), want[1])], statistic  # the empty hour is absent
    with pytest.raises(MetricsError, match="p99"):
        metrics.statistics("A", "m", None, start, end, 3600, "p99")
    with pytest.raises(MetricsError, match="multiple of 60"):
        metrics.statistics("A", "m", None, start, end, 90, "Sum")


def test_metrics_lists_each_series_with_its_last_value(tmp_path: Path) -> None:
    metrics = store(tmp_path)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "b"}, T0)
    metrics.emit("AlphaEngine", "Heartbeat", 1, {"Process": "a"}, T0)
    metrics.emit("AlphaEngine", "Heartbeat", 0, {"Process": "a"}, T0 + timedelta(days=7), unit="Count")
    listed = metrics.metrics()
    assert [(m.dimensions, m.count, m.last_value, m.last_timestamp, m.unit) for m in listed] == [
        ((("Process", "a"),), 2, 0.0, T0 + timedelta(days=7), "Count"),
        ((("Process", "b"),), 1, 1.0, T0, "None")]
    assert metrics.metrics(namespace="Other") == []


# -- batching ----------------------------------------------------------------------------------


def test_batches_respect_the_datum_count_and_one_namespace_per_call() -> None:
    points = [Datapoint.of("A", "m", i, None, T0) for i in range(2 * MAX_DATUMS_PER_CALL + 1)]
    points.append(Datapoint.of("B", "m", 1, None, T0))
    calls = list(batches(points))
    assert [(ns, len(b)) for ns, b in calls] == [("A", 1000), ("A", 1000), ("A", 1), ("B", 1)]


def test_batches_respect_the_payload_size() -> None:
    # 30 dimensions of 1 KB values: about 100 KB each on the wire, so 1 MB holds < 1000
    big = {f"d{i:02}": "v" * 1024 for i in range(30)}
    points = [Datapoint.of("A", "m", i, big, T0) for i in range(40)]
    calls = list(batches(points))
    assert len(calls) > 1
    for _, batch in calls:
        assert sum(_datum_bytes(p) for p in batch) + 200 <= MAX_PAYLOAD_BYTES
    assert sum(len(b) for _, b in calls) == 40


# -- CloudWatch against moto ---------------------------------------------------------------------


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def test_cloudwatch_emits_in_batches_and_reads_statistics(cloudwatch) -> None:  # type: ignore[no-untyped-def]
    metrics = CloudWatchMetrics(cloudwatch)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # CloudWatch refuses old data
    points = [Datapoint.of("AlphaEngine", "Heartbeat", 1, {"Process": "data-phase1"}, now)
              for _ in range(MAX_DATUMS_PER_CALL + 5)]
    assert metrics.emit_many(points) == MAX_DATUMS_PER_CALL + 5
    assert metrics.calls == 2
    stats = metrics.statistics("AlphaEngine", "Heartbeat", {"Process": "data-phase1"}, now - timedelta(hours=1),
                               now + timedelta(hours=1), 3600, "SampleCount")
    assert sum(v for _, v in stats) == MAX_DATUMS_PER_CALL + 5
    assert metrics.metrics(namespace="AlphaEngine") == [("AlphaEngine", "Heartbeat", (("Process", "data-phase1"),))]


def test_cloudwatch_read_only_and_bad_data_send_nothing(cloudwatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReadOnlyStoreError):
        CloudWatchMetrics(cloudwatch, read_only=True).emit("A", "m", 1, None, T0)
    metrics = CloudWatchMetrics(cloudwatch)
    with pytest.raises(MetricsError):
        metrics.emit_many([Datapoint.of("A", "m", 1, None, T0), Datapoint("A", "m", (), T0, math.nan)])
    assert metrics.calls == 0
    assert metrics.metrics() == []


def test_a_failing_call_names_how_much_was_sent() -> None:
    class Broken:
        def put_metric_data(self, **kw: object) -> None:
            raise RuntimeError("throttled")

    with pytest.raises(MetricsError, match="failed after 0 of 1 datapoint"):
        CloudWatchMetrics(Broken()).emit("A", "m", 1, None, T0)
