"""Alarms: declared in code as frozen dataclasses, evaluated locally with CloudWatch's semantics, so
the same declarations can deploy as CloudWatch alarms (PutMetricAlarm takes the same fields).

Evaluation at time ``at`` (CloudWatch, "Using Amazon CloudWatch alarms" and "Configuring how
CloudWatch alarms treat missing data", docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/):

* The *evaluation range* is the ``evaluation_periods`` (N) periods that end at ``at``: period i
  (oldest first) is ``(at - (N-i)*period, at - (N-1-i)*period]``, so a datapoint stamped exactly
  ``at`` counts. Each period holds the alarm's ``statistic`` of the datapoints in it, or is
  *missing*.
* Every present period is breaching or not (``comparison`` against ``threshold``). The alarm is
  ALARM when at least ``datapoints_to_alarm`` (M) periods of the range breach ("M out of N"),
  else OK.
* Missing periods follow ``treat_missing_data``: ``breaching`` counts them as breaching,
  ``notBreaching`` as not breaching. Under ``missing`` and ``ignore`` a missing period never
  counts as breaching (CloudWatch fills missing periods as few times as it can), and when *every*
  period of the range is missing, ``missing`` goes to INSUFFICIENT_DATA and ``ignore`` keeps the
  current state.
* A new alarm starts in INSUFFICIENT_DATA.

State changes (never a re-evaluation that keeps the state) are recorded in ``<workspace>/alarms.db``
with the reason and the evaluation time, and :func:`evaluate_all` publishes each change through
a notifier (the NOTIFICATIONS outbox).
"""

from __future__ import annotations

import math
import operator
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from alpha_engine.pipeline import HEARTBEAT_METRIC, HEARTBEAT_NAMESPACE
from alpha_engine.store import STATISTICS, StoreError, aggregate

__all__ = [
    "ALARM",
    "INSUFFICIENT_DATA",
    "OK",
    "SUBSTRATE_AGGREGATE_ALARM",
    "Alarm",
    "AlarmBook",
    "AlarmError",
    "Evaluation",
    "StateChange",
    "default_alarms",
    "evaluate",
    "evaluate_all",
    "heartbeat_alarm",
    "substrate_row_alarm",
]

OK = "OK"
ALARM = "ALARM"
INSUFFICIENT_DATA = "INSUFFICIENT_DATA"

Comparison = Literal["GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
                     "LessThanOrEqualToThreshold"]
MissingData = Literal["missing", "ignore", "breaching", "notBreaching"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge, "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le}
_MISSING = ("missing", "ignore", "breaching", "notBreaching")
# The store's ranges are [start, end); an evaluation range is (start, at]: read to just past ``at``.
_TICK = timedelta(milliseconds=1)


class AlarmError(StoreError):
    """An alarm declaration CloudWatch would refuse, or an alarm history that cannot be read or written."""


class _Series(Protocol):
    """What alarms read: ``(epoch seconds, value)`` pairs of one series over ``[start, end)``
    (:meth:`alpha_engine.store.SqliteMetrics.values`)."""

    def values(self, namespace: str, name: str, dimensions: Mapping[str, str] | None,
               start: datetime | None = None, end: datetime | None = None) -> Sequence[tuple[float, float]]: ...


class _Publisher(Protocol):
    def publish(self, subject: str, message: str) -> None: ...


@dataclass(frozen=True)
class Alarm:
    """One alarm (PutMetricAlarm's fields). ``period`` in seconds (a multiple of 60)."""

    name: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: Comparison
    threshold: float
    treat_missing_data: MissingData = "missing"
    description: str = ""

    def __post_init__(self) -> None:
        where = f"alarm {self.name!r}"
        if self.statistic not in STATISTICS:
            raise AlarmError(f"{where}: statistic {self.statistic!r} is not one of {', '.join(STATISTICS)}")
        if self.period < 60 or self.period % 60:
            raise AlarmError(f"{where}: period {self.period} s must be a multiple of 60")
        if self.evaluation_periods < 1 or self.period * self.evaluation_periods > 7 * 86400:
            raise AlarmError(f"{where}: evaluation_periods x period must cover at most 7 days (CloudWatch's "
                             f"limit for periods of an hour or more), got {self.evaluation_periods} x {self.period} s")
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise AlarmError(f"{where}: datapoints_to_alarm {self.datapoints_to_alarm} must be 1 to "
                             f"evaluation_periods ({self.evaluation_periods})")
        if self.comparison not in _COMPARE:
            raise AlarmError(f"{where}: comparison {self.comparison!r} is not one of {', '.join(_COMPARE)}")
        if self.treat_missing_data not in _MISSING:
            raise AlarmError(f"{where}: treat_missing_data {self.treat_missing_data!r} is not one of "
                             f"{', '.join(_MISSING)}")

    def breaches(self, value: float) -> bool:
        return _COMPARE[self.comparison](value, self.threshold)

    def range_start(self, at: datetime) -> datetime:
        """The (exclusive) start of the evaluation range that ends at ``at``."""
        return at - timedelta(seconds=self.period * self.evaluation_periods)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "metric": self.metric,
                "dimensions": dict(self.dimensions), "statistic": self.statistic, "period": self.period,
                "evaluation_periods": self.evaluation_periods, "datapoints_to_alarm": self.datapoints_to_alarm,
                "comparison": self.comparison, "threshold": self.threshold,
                "treat_missing_data": self.treat_missing_data, "description": self.description}


@dataclass(frozen=True)
class Evaluation:
    """An alarm's state at one time, and why; ``values`` per period of the range (None: missing)."""

    alarm: str
    state: str
    reason: str
    at: datetime
    values: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class StateChange:
    alarm: str
    old: str
    new: str
    reason: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"alarm": self.alarm, "from": self.old, "to": self.new, "reason": self.reason,
                "at": self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}


def period_values(alarm: Alarm, points: Iterable[tuple[float, float]], at: datetime) -> tuple[float | None, ...]:
    """The statistic of each period of the evaluation range, oldest first (None: no datapoint)."""
    end = at.timestamp()
    start = end - alarm.period * alarm.evaluation_periods
    buckets: list[list[float]] = [[] for _ in range(alarm.evaluation_periods)]
    period = alarm.period
    for ts, value in points:
        if start < ts <= end:
            buckets[math.ceil((ts - start) / period) - 1].append(value)
    return tuple(aggregate(b, alarm.statistic) if b else None for b in buckets)


def decide(alarm: Alarm, values: Sequence[float | None], current: str, at: datetime) -> Evaluation:
    """The state the values of one evaluation range give (module docstring), with its reason."""
    missing = sum(v is None for v in values)
    shown = "[" + ", ".join("-" if v is None else f"{v:g}" for v in values) + "]"
    if missing == len(values) and alarm.treat_missing_data in ("missing", "ignore"):
        if alarm.treat_missing_data == "ignore":
            return Evaluation(alarm.name, current, f"no datapoints in the last {len(values)} period(s); "
                              "treat_missing_data=ignore keeps the state", at, tuple(values))
        return Evaluation(alarm.name, INSUFFICIENT_DATA, f"no datapoints in the last {len(values)} period(s) "
                          "(treat_missing_data=missing)", at, tuple(values))
    breaching = sum(1 for v in values if v is not None and alarm.breaches(v))
    if alarm.treat_missing_data == "breaching":
        breaching += missing
    state = ALARM if breaching >= alarm.datapoints_to_alarm else OK
    op = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
          "LessThanOrEqualToThreshold": "<="}[alarm.comparison]
    reason = (f"{breaching} of {len(values)} period(s) breaching {alarm.statistic} {op} {alarm.threshold:g} "
              f"(alarm at {alarm.datapoints_to_alarm}; {missing} missing, treated as "
              f"{'breaching' if alarm.treat_missing_data == 'breaching' else 'not breaching'}): {shown}")
    return Evaluation(alarm.name, state, reason, at, tuple(values))


def evaluate(alarm: Alarm, metrics: _Series, at: datetime, current: str = INSUFFICIENT_DATA) -> Evaluation:
    """One alarm at ``at`` against the metrics store."""
    points = metrics.values(alarm.namespace, alarm.metric, dict(alarm.dimensions), alarm.range_start(at),
                                at + _TICK)
    return decide(alarm, period_values(alarm, points, at), current, at)


def evaluate_many(alarms: Sequence[Alarm], metrics: _Series, at: datetime,
                  current: Mapping[str, str]) -> list[Evaluation]:
    """Every alarm at ``at``, reading each series once (over the widest range its alarms need) and
    bucketing it once per (period, statistic, range)."""
    by_series: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[Alarm]] = {}
    for alarm in alarms:
        by_series.setdefault((alarm.namespace, alarm.metric, alarm.dimensions), []).append(alarm)
    out: dict[str, Evaluation] = {}
    for (namespace, metric, dims), group in by_series.items():
        start = min(a.range_start(at) for a in group)
        points = metrics.values(namespace, metric, dict(dims), start, at + _TICK)
        cache: dict[tuple[int, str, int], tuple[float | None, ...]] = {}
        for alarm in group:
            key = (alarm.period, alarm.statistic, alarm.evaluation_periods)
            if key not in cache:
                cache[key] = period_values(alarm, points, at)
            out[alarm.name] = decide(alarm, cache[key], current.get(alarm.name, INSUFFICIENT_DATA), at)
    return [out[a.name] for a in alarms]


# -- state and history -------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_state (alarm TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL,
                                        at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alarm_history (seq INTEGER PRIMARY KEY AUTOINCREMENT, alarm TEXT NOT NULL,
                                          old TEXT NOT NULL, new TEXT NOT NULL, reason TEXT NOT NULL,
                                          at TEXT NOT NULL);
"""


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class AlarmBook:
    """Alarm states and their change history in one SQLite file (``<workspace>/alarms.db``, WAL)."""

    path: Path
    read_only: bool = False
    _ready: bool = field(default=False, init=False, repr=False)

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                return sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, isolation_level=None)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            if not self._ready:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                self._ready = True
            return db
        except (sqlite3.Error, OSError) as exc:
            raise AlarmError(f"alarm history {self.path}: cannot open it ({exc}); check the path", uri=str(self.path)) \
                from exc

    def states(self) -> dict[str, tuple[str, str, str]]:
        """alarm -> (state, reason, at) as last recorded."""
        if not self.path.exists():
            return {}
        with closing(self._connect()) as db:
            return {a: (s, r, t) for a, s, r, t in db.execute("SELECT alarm, state, reason, at FROM alarm_state")}

    def history(self) -> list[StateChange]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as db:
            rows = list(db.execute("SELECT alarm, old, new, reason, at FROM alarm_history ORDER BY seq"))
        return [StateChange(a, o, n, r, datetime.fromisoformat(t.replace("Z", "+00:00"))) for a, o, n, r, t in rows]

    def record(self, evaluations: Sequence[Evaluation]) -> list[StateChange]:
        """Store every evaluation's state (one transaction); returns the state changes."""
        if self.read_only:
            raise AlarmError(f"alarm history {self.path}: read-only; refused to record evaluations",
                             uri=str(self.path))
        before = {name: s for name, (s, _, _) in self.states().items()}
        changes = []
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for ev in evaluations:
                    old = before.get(ev.alarm, INSUFFICIENT_DATA)
                    db.execute("INSERT OR REPLACE INTO alarm_state VALUES (?, ?, ?, ?)",
                               (ev.alarm, ev.state, ev.reason, _iso(ev.at)))
                    if ev.state != old:
                        db.execute("INSERT INTO alarm_history (alarm, old, new, reason, at) VALUES (?, ?, ?, ?, ?)",
                                   (ev.alarm, old, ev.state, ev.reason, _iso(ev.at)))
                        changes.append(StateChange(ev.alarm, old, ev.state, ev.reason, ev.at))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return changes


def evaluate_all(alarms: Sequence[Alarm], metrics: _Series, book: AlarmBook, at: datetime,
                 notifier: _Publisher | None = None) -> tuple[list[Evaluation], list[StateChange]]:
    """Evaluate every alarm at ``at``, record the states, and publish each change into or out of
    ALARM through ``notifier`` (subject ``ALARM: "<name>"`` or ``OK: "<name>"`` as CloudWatch's SNS
    messages, the reason as the message). A change between INSUFFICIENT_DATA and OK is recorded
    but not sent: a new alarm's first evaluation is such a change, and the first tick of a new
    workspace would otherwise send one "OK" per declared alarm."""
    current = {name: s for name, (s, _, _) in book.states().items()}
    evaluations = evaluate_many(alarms, metrics, at, current)
    changes = book.record(evaluations)
    if notifier is not None:
        for change in changes:
            if ALARM not in (change.old, change.new):
                continue
            notifier.publish(f'{change.new}: "{change.alarm}"'[:100],
                             f"Alarm {change.alarm} changed from {change.old} to {change.new} at {_iso(change.at)}.\n"
                             f"Reason: {change.reason}")
    return evaluations, changes


# -- the declarations that apply today -------------------------------------------------------------

WEEK = 604800


def heartbeat_alarm(process: str) -> Alarm:
    """Upstream's weekly heartbeat alarm for one stage: no ``AlphaEngine/Heartbeat{Process}`` in a
    week is an alarm (period 604800 s, missing = breaching)."""
    return Alarm(name=f"alpha-engine-heartbeat-{process}", namespace=HEARTBEAT_NAMESPACE, metric=HEARTBEAT_METRIC,
                 dimensions=(("Process", process),), statistic="SampleCount", period=WEEK, evaluation_periods=1,
                 datapoints_to_alarm=1, comparison="LessThanThreshold", threshold=1,
                 treat_missing_data="breaching", description=f"{process} did not complete in the last week")


HEALTH_CHECK_ALARM = Alarm(
    name="AlphaEngine-HealthCheckFailures", namespace="AlphaEngine", metric="HealthChecksFailed", dimensions=(),
    statistic="Maximum", period=6 * 3600, evaluation_periods=1, datapoints_to_alarm=1,
    comparison="GreaterThanOrEqualToThreshold", threshold=1, treat_missing_data="notBreaching",
    description="a health check failed in the last 6 hours")


EVAL_QUALITY_ALARM = Alarm(
    name="alpha-engine-eval-quality-regression", namespace="AlphaEngine/Eval",
    metric="agent_quality_score_4w_mean_min", dimensions=(), statistic="Minimum", period=WEEK,
    evaluation_periods=1, datapoints_to_alarm=1, comparison="LessThanThreshold", threshold=3.0,
    treat_missing_data="notBreaching",
    description="the weakest agent's 4-week mean judge score fell below the floor of 3.0 (of 5)")


# Substrate alarms (upstream's setup_substrate_alarms.sh): hourly periods over a day, one bad
# datapoint alarms, and no data is not breaching (a check that did not run is the heartbeat's alarm).
_SUBSTRATE_NAMESPACE = "AlphaEngine/Substrate"
_SUBSTRATE_WINDOW = {"period": 3600, "evaluation_periods": 24, "datapoints_to_alarm": 1}


def substrate_row_alarm(row_id: str) -> Alarm:
    """``alpha-engine-substrate-<row_id>``: ``SubstrateRowOK{RowID}`` Minimum < 1 in any hour of the
    last 24 (the row reported fail or error), notBreaching."""
    return Alarm(name=f"alpha-engine-substrate-{row_id}", namespace=_SUBSTRATE_NAMESPACE, metric="SubstrateRowOK",
                 dimensions=(("RowID", row_id),), statistic="Minimum", comparison="LessThanThreshold", threshold=1,
                 treat_missing_data="notBreaching", **_SUBSTRATE_WINDOW,
                 description=f"substrate row {row_id} failed in the last 24 hours")


SUBSTRATE_AGGREGATE_ALARM = Alarm(
    name="alpha-engine-substrate-aggregate-failures", namespace=_SUBSTRATE_NAMESPACE, metric="SubstrateChecksFailed",
    dimensions=(), statistic="Maximum", comparison="GreaterThanThreshold", threshold=0,
    treat_missing_data="notBreaching", **_SUBSTRATE_WINDOW,
    description="a substrate check reported failed rows in the last 24 hours")


def default_alarms(processes: Iterable[str], *, substrate_rows: Iterable[str] = ()) -> list[Alarm]:
    """The alarms that apply today: a weekly heartbeat alarm per stage slug, the health-check
    failure alarm, the eval-quality floor, one substrate alarm per substrate row id and the
    aggregate substrate alarm."""
    return [*(heartbeat_alarm(p) for p in processes), HEALTH_CHECK_ALARM, EVAL_QUALITY_ALARM,
            *(substrate_row_alarm(r) for r in substrate_rows), SUBSTRATE_AGGREGATE_ALARM]


