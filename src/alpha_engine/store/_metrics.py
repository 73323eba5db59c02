"""The metrics store: CloudWatch-shaped time series (namespace, metric name, dimensions).

One API, two back-ends:

* :class:`SqliteMetrics`: a table in ``<workspace>/metrics.db`` (WAL; one transaction per batch).
* :class:`CloudWatchMetrics`: ``PutMetricData`` through a boto3 CloudWatch client, batched within
  the API's limits (:data:`MAX_DATUMS_PER_CALL`, :data:`MAX_PAYLOAD_BYTES`, :data:`MAX_DIMENSIONS`).

Every datapoint carries the timestamp its caller gives (the run's clock): the store never reads
the wall clock. Both back-ends check a datapoint the way CloudWatch does before anything is
written, so a datapoint the local store accepts is one CloudWatch would accept too.

Statistics follow CloudWatch's: ``SampleCount``, ``Average``, ``Sum``, ``Minimum``, ``Maximum``
per period, periods aligned to multiples of the period since the Unix epoch (UTC), a period with
no datapoint absent from the answer.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import MetricsError, ReadOnlyStoreError

if TYPE_CHECKING:
    from ._fence import WriteFence

__all__ = [
    "MAX_DATUMS_PER_CALL",
    "MAX_DIMENSIONS",
    "MAX_PAYLOAD_BYTES",
    "STATISTICS",
    "CloudWatchMetrics",
    "Datapoint",
    "MetricSummary",
    "MetricsStore",
    "SqliteMetrics",
    "Statistic",
    "aggregate",
]

# PutMetricData limits, from the API reference (docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
# API_PutMetricData.html, read 2026-12): "Each PutMetricData request is limited to 1 MB in size for HTTP
# POST requests ... no more than 1000 different metrics"; "up to 30 dimensions per metric". The
# dimension name and value lengths (1..255, 1..1024) are the Dimension type's constraints.
MAX_DATUMS_PER_CALL = 1000
MAX_PAYLOAD_BYTES = 1_000_000
MAX_DIMENSIONS = 30
MAX_DIMENSION_NAME = 255
MAX_DIMENSION_VALUE = 1024
MAX_METRIC_NAME = 255
MAX_NAMESPACE = 255
# CloudWatch rejects values outside -2^360..2^360 and NaN/Infinity.
_VALUE_LIMIT = 2.0 ** 360

Statistic = str  # one of STATISTICS
STATISTICS: tuple[str, ...] = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

# StandardUnit values accepted by PutMetricData.
UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"})

Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True, order=True)
class Datapoint:
    """One value of one metric at one time; ``dimensions`` sorted by name."""

    namespace: str
    name: str
    dimensions: Dimensions
    timestamp: datetime
    value: float
    unit: str = "None"

    @classmethod
    def of(cls, namespace: str, name: str, value: float, dimensions: Mapping[str, str] | None,
           timestamp: datetime, unit: str = "None") -> Datapoint:
        """A checked datapoint (MetricsError naming what CloudWatch would refuse)."""
        point = cls(namespace, name, _dims(dimensions), _utc(timestamp, f"{namespace}/{name}"), float(value), unit)
        _check(point)
        return point

    @property
    def dimension_map(self) -> dict[str, str]:
        return dict(self.dimensions)

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "dimensions": self.dimension_map,
                "timestamp": _iso(self.timestamp), "value": self.value, "unit": self.unit}


@dataclass(frozen=True)
class MetricSummary:
    """One stored series (``metrics list``): how many datapoints, and the last one."""

    namespace: str
    name: str
    dimensions: Dimensions
    count: int
    last_value: float
    last_timestamp: datetime
    unit: str = "None"

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "dimensions": dict(self.dimensions),
                "count": self.count, "last_value": self.last_value, "last_timestamp": _iso(self.last_timestamp),
                "unit": self.unit}


class MetricsStore(Protocol):
    """What the pipeline and the CLI use; both back-ends implement it."""

    def emit(self, namespace: str, name: str, value: float, dimensions: Mapping[str, str] | None,
             timestamp: datetime, unit: str = "None") -> None: ...

    def emit_many(self, datapoints: Iterable[Datapoint]) -> int: ...

    def statistics(self, namespace: str, name: str, dimensions: Mapping[str, str] | None, start: datetime,
                   end: datetime, period: int, statistic: Statistic) -> list[tuple[datetime, float]]: ...


# -- checks ------------------------------------------------------------------------------------


def _dims(dimensions: Mapping[str, str] | Dimensions | None) -> Dimensions:
    items = dimensions.items() if isinstance(dimensions, Mapping) else (dimensions or ())
    return tuple(sorted((str(k), str(v)) for k, v in items))


def _utc(when: datetime, where: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise MetricsError(f"metric {where}: timestamp {when.isoformat()} has no time zone; pass an aware "
                           "datetime (the run's clock, UTC)", key=where)
    return when.astimezone(UTC)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _check(point: Datapoint) -> None:
    where = f"{point.namespace}/{point.name}"
    if not 1 <= len(point.namespace) <= MAX_NAMESPACE or point.namespace.startswith("AWS/"):
        raise MetricsError(f"metric {where}: namespace must be 1 to {MAX_NAMESPACE} characters and not start "
                           "with 'AWS/' (reserved for AWS)", key=where)
    if not 1 <= len(point.name) <= MAX_METRIC_NAME:
        raise MetricsError(f"metric {where}: the metric name must be 1 to {MAX_METRIC_NAME} characters", key=where)
    if len(point.dimensions) > MAX_DIMENSIONS:
        raise MetricsError(f"metric {where}: {len(point.dimensions)} dimensions; CloudWatch allows at most "
                           f"{MAX_DIMENSIONS}", key=where)
    names = [k for k, _ in point.dimensions]
    if len(set(names)) != len(names):
        raise MetricsError(f"metric {where}: a dimension name repeats: {names}", key=where)
    for key, value in point.dimensions:
        if not 1 <= len(key) <= MAX_DIMENSION_NAME or not 1 <= len(value) <= MAX_DIMENSION_VALUE:
            raise MetricsError(f"metric {where}: dimension {key!r}={value[:40]!r}: names must be 1 to "
                               f"{MAX_DIMENSION_NAME} characters and values 1 to {MAX_DIMENSION_VALUE}", key=where)
    if not math.isfinite(point.value) or abs(point.value) > _VALUE_LIMIT:
        raise MetricsError(f"metric {where}: value {point.value!r} is not a finite number within "
                           "-2^360..2^360 (CloudWatch refuses it)", key=where)
    if point.unit not in UNITS:
        raise MetricsError(f"metric {where}: unit {point.unit!r} is not a CloudWatch StandardUnit "
                           f"(one of: {', '.join(sorted(UNITS))})", key=where)


def _check_query(where: str, start: datetime, end: datetime, period: int, statistic: str) -> None:
    if statistic not in STATISTICS:
        raise MetricsError(f"metric {where}: statistic {statistic!r} is not one of {', '.join(STATISTICS)}",
                           key=where)
    if period <= 0 or (period >= 60 and period % 60) or (period < 60 and period not in (1, 5, 10, 30)):
        raise MetricsError(f"metric {where}: period {period} s: CloudWatch takes 1, 5, 10, 30 or a multiple "
                           "of 60 seconds", key=where)
    if end <= start:
        raise MetricsError(f"metric {where}: the query's end {_iso(end)} is not after its start {_iso(start)}",
                           key=where)


def aggregate(values: Sequence[float], statistic: Statistic) -> float:
    """One CloudWatch statistic of a non-empty list of values."""
    if statistic == "SampleCount":
        return float(len(values))
    if statistic == "Sum":
        return math.fsum(values)
    if statistic == "Average":
        return math.fsum(values) / len(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Maximum":
        return max(values)
    raise MetricsError(f"statistic {statistic!r} is not one of {', '.join(STATISTICS)}")


def bucket_start(when: datetime, period: int) -> datetime:
    """The start of the period holding ``when`` (periods aligned to the Unix epoch, UTC)."""
    seconds = math.floor(when.timestamp())
    return datetime.fromtimestamp(seconds - seconds % period, UTC)


# -- SQLite ------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datapoints (
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS datapoints_series ON datapoints (namespace, name, dimensions, ts_ms);
"""


def _dims_key(dimensions: Dimensions) -> str:
    return json.dumps(dict(dimensions), sort_keys=True, separators=(",", ":"))


def _ms(when: datetime) -> int:
    return round(when.timestamp() * 1000)


def _from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class SqliteMetrics:
    """The metrics store in one SQLite file (``<workspace>/metrics.db``).

    ``read_only``: every emit raises :class:`ReadOnlyStoreError` and the file is never created
    (a missing file reads as empty). ``fence``: asked right before each batch is committed.
    """

    path: Path
    read_only: bool = False
    fence: WriteFence | None = None
    _created: bool = field(default=False, init=False, repr=False)

    @property
    def uri(self) -> str:
        return str(self.path)

    def emit(self, namespace: str, name: str, value: float, dimensions: Mapping[str, str] | None,
             timestamp: datetime, unit: str = "None") -> None:
        """Store one datapoint (checked as CloudWatch checks it)."""
        self.emit_many([Datapoint.of(namespace, name, value, dimensions, timestamp, unit)])

    def emit_many(self, datapoints: Iterable[Datapoint]) -> int:
        """Store a batch in one transaction (all or nothing); returns how many were stored."""
        points = list(datapoints)
        for point in points:
            _check(point)
            _utc(point.timestamp, f"{point.namespace}/{point.name}")
        if self.read_only:
            raise ReadOnlyStoreError(
                f"metrics store {self.path}: refused to emit {len(points)} datapoint(s): the store is read-only "
                "(a preflight-only run emits no metrics)", key="datapoints", uri=self.uri)
        if not points:
            return 0
        rows = [(p.namespace, p.name, _dims_key(p.dimensions), _ms(p.timestamp), p.value, p.unit) for p in points]
        with closing(self._connect(write=True)) as db:
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO datapoints VALUES (?, ?, ?, ?, ?, ?)", rows)
                if self.fence is not None:
                    self.fence.check(self.uri, f"{len(points)} datapoint(s)")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(points)

    def _connect(self, *, write: bool) -> sqlite3.Connection:
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
                if not self._created:
                    db.execute("PRAGMA journal_mode=WAL")
                    db.executescript(_SCHEMA)
                    self._created = True
                return db
            return sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30)
        except (sqlite3.Error, OSError) as exc:
            raise MetricsError(f"metrics store {self.path}: cannot open it ({exc}); check the path and its "
                               "permissions", uri=self.uri) from exc

    def _rows(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with closing(self._connect(write=False)) as db:
            try:
                return list(db.execute(sql, args))
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise MetricsError(f"metrics store {self.path}: query failed ({exc})", uri=self.uri) from exc

    def datapoints(self, namespace: str, name: str, dimensions: Mapping[str, str] | None,
                   start: datetime | None = None, end: datetime | None = None) -> list[Datapoint]:
        """The series' datapoints with ``start <= timestamp < end`` (either bound optional), oldest first."""
        dims = _dims(dimensions)
        rows = self._rows(
            "SELECT ts_ms, value, unit FROM datapoints WHERE namespace = ? AND name = ? AND dimensions = ? "
            "AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, rowid",
            (namespace, name, _dims_key(dims), _bound(start, -(2 ** 62)), _bound(end, 2 ** 62)))
        return [Datapoint(namespace, name, dims, _from_ms(ts), value, unit) for ts, value, unit in rows]

    def values(self, namespace: str, name: str, dimensions: Mapping[str, str] | None,
               start: datetime | None = None, end: datetime | None = None) -> list[tuple[float, float]]:
        """As :meth:`datapoints`, but only ``(epoch seconds, value)`` pairs: the cheap read alarm
        evaluation uses over long series."""
        rows = self._rows(
            "SELECT ts_ms / 1000.0, value FROM datapoints WHERE namespace = ? AND name = ? AND dimensions = ? "
            "AND ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, rowid",
            (namespace, name, _dims_key(_dims(dimensions)), _bound(start, -(2 ** 62)), _bound(end, 2 ** 62)))
        return [(ts, value) for ts, value in rows]

    def statistics(self, namespace: str, name: str, dimensions: Mapping[str, str] | None, start: datetime,
                   end: datetime, period: int, statistic: Statistic) -> list[tuple[datetime, float]]:
        """``statistic`` per period over ``[start, end)``: (period start, value), oldest first; a period
        with no datapoint is absent (as GetMetricStatistics answers)."""
        _check_query(f"{namespace}/{name}", start, end, period, statistic)
        buckets: dict[datetime, list[float]] = {}
        for point in self.datapoints(namespace, name, dimensions, start, end):
            buckets.setdefault(bucket_start(point.timestamp, period), []).append(point.value)
        return [(when, aggregate(values, statistic)) for when, values in sorted(buckets.items())]

    def metrics(self, namespace: str | None = None, name: str | None = None) -> list[MetricSummary]:
        """Every stored series (optionally of one namespace / name), with its last datapoint."""
        where, args = [], []
        if namespace is not None:
            where.append("namespace = ?")
            args.append(namespace)
        if name is not None:
            where.append("name = ?")
            args.append(name)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._rows(
            "SELECT namespace, name, dimensions, COUNT(*), MAX(ts_ms) FROM datapoints "
            f"{clause} GROUP BY namespace, name, dimensions ORDER BY namespace, name, dimensions", args)
        out = []
        for ns, nm, dims, count, last_ms in rows:
            value, unit = self._rows(
                "SELECT value, unit FROM datapoints WHERE namespace = ? AND name = ? AND dimensions = ? "
                "AND ts_ms = ? ORDER BY rowid DESC LIMIT 1", (ns, nm, dims, last_ms))[0]
            out.append(MetricSummary(ns, nm, _dims(json.loads(dims)), count, value, _from_ms(last_ms), unit))
        return out


def _bound(when: datetime | None, default: int) -> int:
    return default if when is None else _ms(_utc(when, "query"))


# -- CloudWatch --------------------------------------------------------------------------------


def _datum(point: Datapoint) -> dict[str, Any]:
    datum: dict[str, Any] = {"MetricName": point.name, "Timestamp": point.timestamp, "Value": point.value,
                             "Unit": point.unit}
    if point.dimensions:
        datum["Dimensions"] = [{"Name": k, "Value": v} for k, v in point.dimensions]
    return datum


def _datum_bytes(point: Datapoint) -> int:
    """An upper bound of the datum's size in the form-encoded POST body (query protocol): every
    character may be percent-encoded three times over, plus the member keys."""
    text = point.name + point.unit + "".join(k + v for k, v in point.dimensions)
    return 3 * len(text.encode("utf-8")) + 160 + 90 * len(point.dimensions)


def batches(points: Sequence[Datapoint]) -> Iterator[tuple[str, list[Datapoint]]]:
    """``(namespace, datapoints)`` calls for PutMetricData: one namespace per call, at most
    :data:`MAX_DATUMS_PER_CALL` datums and :data:`MAX_PAYLOAD_BYTES` (estimated from above) each,
    in the order given within a namespace."""
    by_namespace: dict[str, list[Datapoint]] = {}
    for point in points:
        by_namespace.setdefault(point.namespace, []).append(point)
    for namespace, group in by_namespace.items():
        batch: list[Datapoint] = []
        size = 200 + 3 * len(namespace)
        for point in group:
            cost = _datum_bytes(point)
            if batch and (len(batch) == MAX_DATUMS_PER_CALL or size + cost > MAX_PAYLOAD_BYTES):
                yield namespace, batch
                batch, size = [], 200 + 3 * len(namespace)
            batch.append(point)
            size += cost
        if batch:
            yield namespace, batch


@dataclass
class CloudWatchMetrics:
    """The metrics store on CloudWatch: ``client`` is a boto3 ``cloudwatch`` client.

    CloudWatch keeps aggregates, not raw datapoints: :meth:`statistics` asks GetMetricStatistics
    and :meth:`metrics` ListMetrics (without last values); there is no ``datapoints``.
    """

    client: Any
    read_only: bool = False
    fence: WriteFence | None = None
    calls: int = field(default=0, init=False)

    @property
    def uri(self) -> str:
        return "cloudwatch://" + str(getattr(getattr(self.client, "meta", None), "region_name", ""))

    def emit(self, namespace: str, name: str, value: float, dimensions: Mapping[str, str] | None,
             timestamp: datetime, unit: str = "None") -> None:
        self.emit_many([Datapoint.of(namespace, name, value, dimensions, timestamp, unit)])

    def emit_many(self, datapoints: Iterable[Datapoint]) -> int:
        """PutMetricData in as few calls as the limits allow; every datapoint is checked first, so a
        bad one sends nothing. A failing call raises MetricsError naming how many were already sent."""
        points = list(datapoints)
        for point in points:
            _check(point)
        if self.read_only:
            raise ReadOnlyStoreError(
                f"metrics on {self.uri}: refused to emit {len(points)} datapoint(s): read-only "
                "(a preflight-only run emits no metrics)", key="PutMetricData", uri=self.uri)
        sent = 0
        for namespace, batch in batches(points):
            if self.fence is not None:
                self.fence.check(self.uri, f"PutMetricData {namespace}")
            try:
                self.client.put_metric_data(Namespace=namespace, MetricData=[_datum(p) for p in batch])
            except Exception as exc:
                raise MetricsError(f"metrics on {self.uri}: PutMetricData to {namespace!r} failed after {sent} of "
                                   f"{len(points)} datapoint(s) were sent: {exc}", key=namespace,
                                   uri=self.uri) from exc
            self.calls += 1
            sent += len(batch)
        return sent

    def statistics(self, namespace: str, name: str, dimensions: Mapping[str, str] | None, start: datetime,
                   end: datetime, period: int, statistic: Statistic) -> list[tuple[datetime, float]]:
        _check_query(f"{namespace}/{name}", start, end, period, statistic)
        answer = self.client.get_metric_statistics(
            Namespace=namespace, MetricName=name,
            Dimensions=[{"Name": k, "Value": v} for k, v in _dims(dimensions)],
            StartTime=start, EndTime=end, Period=period, Statistics=[statistic])
        return sorted((p["Timestamp"].astimezone(UTC), float(p[statistic])) for p in answer.get("Datapoints", []))

    def metrics(self, namespace: str | None = None, name: str | None = None) -> list[tuple[str, str, Dimensions]]:
        kwargs: dict[str, Any] = {}
        if namespace is not None:
            kwargs["Namespace"] = namespace
        if name is not None:
            kwargs["MetricName"] = name
        out = []
        for page in self.client.get_paginator("list_metrics").paginate(**kwargs):
            for metric in page.get("Metrics", []):
                out.append((metric["Namespace"], metric["MetricName"],
                            _dims({d["Name"]: d["Value"] for d in metric.get("Dimensions", [])})))
        return sorted(out)

