"""Check the substrate inventory: for every row a check's cadence covers, is its artifact or metric
there, fresh, and does it say what the row asserts?

**Locating an artifact.** A ``key_pattern`` has ``{date}``: the check tries the run date, then each
day before it, up to ``max_age_days`` (default 8) back, and uses the first key the store has. A
fixed ``key`` is aged from the artifact's own date: for a JSON artifact the first of ``run_date``,
``date``, ``as_of``, ``generated_at`` it carries (older than ``max_age_days`` before the run date is
stale); a fixed CSV, parquet or SQLite artifact, or a JSON one without such a field, is checked for
presence only (the artifact store exposes no modification time, and a file's mtime would make the
check depend on when files were copied, not on what they say).

**Source kinds.** ``json`` (``assert_keys_present`` as dot paths, ``assert`` ``[{path, op, value}]``,
``non_fatal_statuses``: a payload ``status`` among them makes the row degraded, ``treat_absent_as:
ok_if_companion_present`` with ``companion_key_pattern``); ``csv`` and ``parquet``
(``assert_columns_present``, ``assert_column_non_null``, ``assert_value_on_latest_row``); ``sqlite``
(``table`` and ``assert_columns_present`` through ``PRAGMA table_info``, on a workspace-relative
``file`` or an artifact); ``metric`` (``namespace``, ``dimensions``, ``window_days`` default 7, and
``assert`` ``success_rate_pct_gte`` over ``succeeded_metric``/``failed_metric`` sums, or
``datapoints_gte`` over ``metric``), read through the metrics store.

**Row status.** ``not_yet_effective`` before the row's ``effective_date``. Otherwise the sources are
tried in order and the first that passes makes the row ``ok`` (OR semantics). When none passes: a
source that reported a non-fatal status makes it ``degraded``; else a source that raised makes it
``error`` (isolated: the other rows are still checked); else ``fail``, which a ``non_fatal`` row
reports as ``degraded``.
"""

from __future__ import annotations

import io
import operator
import sqlite3
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from alpha_engine.store import ArtifactStore, Datapoint

from ._inventory import DEFAULT_WINDOW_DAYS, Inventory, Source, SubstrateRow

__all__ = ["ROW_STATUSES", "SUBSTRATE_NAMESPACE", "RowResult", "SubstrateReport", "check_substrate",
           "substrate_datapoints"]

SUBSTRATE_NAMESPACE = "AlphaEngine/Substrate"
ROW_STATUSES = ("ok", "fail", "degraded", "not_yet_effective", "error")
_UP = frozenset({"ok", "degraded", "not_yet_effective"})  # SubstrateRowOK = 1
_OPS: dict[str, Callable[[Any, Any], bool]] = {"gte": operator.ge, "gt": operator.gt, "lte": operator.le,
                                                "lt": operator.lt, "eq": operator.eq}
_SYMBOL = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=="}
_DATE_FIELDS = ("run_date", "date", "as_of", "generated_at")


class _Statistics(Protocol):
    def statistics(self, namespace: str, name: str, dimensions: Mapping[str, str] | None, start: datetime,
                   end: datetime, period: int, statistic: str) -> list[tuple[datetime, float]]: ...


@dataclass(frozen=True)
class RowResult:
    """One row's verdict; ``source`` is the key, file or metric that decided it."""

    id: str
    status: str
    reason: str
    source: str | None
    non_fatal: bool
    cadence: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "reason": self.reason, "source": self.source,
                "non_fatal": self.non_fatal, "cadence": self.cadence}


@dataclass(frozen=True)
class SubstrateReport:
    run_date: date
    cadence: str
    checked_at: datetime
    rows: tuple[RowResult, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {status: sum(1 for r in self.rows if r.status == status) for status in ROW_STATUSES}

    @property
    def pct_ok(self) -> float | None:
        """ok / (total - pending - degraded) in percent (upstream's figure); None when nothing counts."""
        counts = self.counts
        judged = len(self.rows) - counts["not_yet_effective"] - counts["degraded"]
        return round(100.0 * counts["ok"] / judged, 2) if judged else None

    @property
    def failed(self) -> tuple[RowResult, ...]:
        return tuple(r for r in self.rows if r.status in ("fail", "error"))

    def to_json(self) -> dict[str, Any]:
        return {"run_date": self.run_date.isoformat(), "cadence": self.cadence,
                "checked_at": self.checked_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                "rows": [r.to_json() for r in self.rows], "counts": self.counts, "pct_ok": self.pct_ok}


@dataclass(frozen=True)
class _Outcome:
    passed: bool
    reason: str
    source: str
    degraded: bool = False


class _Flaw(Exception):
    """A source that does not pass (not an error of the check itself)."""


def _dig(payload: Any, path: str) -> Any:
    here = payload
    for part in path.split("."):
        if isinstance(here, Mapping) and part in here:
            here = here[part]
        elif isinstance(here, list) and part.lstrip("-").isdigit() and -len(here) <= int(part) < len(here):
            here = here[int(part)]
        else:
            raise _Flaw(f"{path} is absent")
    return here


def _compare(what: str, actual: Any, op: str, expected: Any) -> None:
    try:
        holds = _OPS[op](actual, expected)
    except TypeError:
        raise _Flaw(f"{what} is {actual!r}, which cannot be compared with {expected!r}") from None
    if not holds:
        raise _Flaw(f"{what} is {actual!r}, expected {_SYMBOL[op]} {expected!r}")


class _Checker:
    def __init__(self, artifacts: ArtifactStore, metrics: _Statistics | None, workspace: Path | None,
                 run_date: date, now: datetime) -> None:
        self.artifacts = artifacts
        self.metrics = metrics
        self.workspace = workspace
        self.run_date = run_date
        self.now = now

    # -- locating ----------------------------------------------------------------------------

    def _walk_back(self, pattern: str, max_age: int) -> str | None:
        for back in range(max_age + 1):
            key = pattern.replace("{date}", (self.run_date - timedelta(days=back)).isoformat())
            if self.artifacts.exists(key):
                return key
        return None

    def _locate(self, spec: Mapping[str, Any], max_age: int) -> str:
        if "key" in spec:
            if not self.artifacts.exists(spec["key"]):
                raise _Flaw(f"{spec['key']} is absent")
            return str(spec["key"])
        found = self._walk_back(spec["key_pattern"], max_age)
        if found is None:
            raise _Flaw(f"no {spec['key_pattern']} from {self.run_date - timedelta(days=max_age)} to "
                        f"{self.run_date} ({max_age} days back)")
        return found

    def _age_check(self, key: str, payload: Any, max_age: int) -> str:
        stamp = next((payload[f] for f in _DATE_FIELDS if isinstance(payload, Mapping)
                      and isinstance(payload.get(f), str)), None)
        if stamp is None:
            return "; age not checked (no run_date/date field)"
        try:
            day = date.fromisoformat(stamp[:10])
        except ValueError:
            return f"; age not checked ({stamp!r} is not a date)"
        age = (self.run_date - day).days
        if age > max_age:
            raise _Flaw(f"{key} is stale: it is for {day}, {age} days before {self.run_date} (max {max_age})")
        return ""

    # -- kinds ---------------------------------------------------------------------------------

    def check(self, source: Source) -> _Outcome:
        spec = source.spec
        label = source.label
        try:
            return getattr(self, f"_{source.kind}")(spec, source.max_age_days)  # type: ignore[no-any-return]
        except _Flaw as flaw:
            return _Outcome(False, str(flaw), label)

    def _json(self, spec: Mapping[str, Any], max_age: int) -> _Outcome:
        try:
            key = self._locate(spec, max_age)
        except _Flaw:
            companion = spec.get("companion_key_pattern")
            if companion is not None:
                found = self._walk_back(companion, max_age)
                if found is not None:
                    return _Outcome(True, f"absent, but its companion {found} is present", found)
            raise
        payload = self.artifacts.read_json(key)
        note = self._age_check(key, payload, max_age) if "key" in spec else ""
        for path in spec.get("assert_keys_present", ()):
            try:
                _dig(payload, path)
            except _Flaw:
                raise _Flaw(f"{key}: key {path} is absent") from None
        for check in spec.get("assert", ()):
            try:
                _compare(f"{key}: {check['path']}", _dig(payload, check["path"]), check["op"], check["value"])
            except _Flaw as flaw:
                raise _Flaw(str(flaw) if str(flaw).startswith(key) else f"{key}: {flaw}") from None
        status = payload.get("status") if isinstance(payload, Mapping) else None
        if status is not None and status in spec.get("non_fatal_statuses", ()):
            return _Outcome(False, f"{key}: status is {status!r}", key, degraded=True)
        return _Outcome(True, f"{key} passes" + note, key)

    def _frame(self, spec: Mapping[str, Any], max_age: int, kind: str) -> tuple[str, Any]:
        import pandas as pd

        key = self._locate(spec, max_age)
        data = io.BytesIO(self.artifacts.read_bytes(key))
        return key, pd.read_csv(data) if kind == "csv" else pd.read_parquet(data)

    def _table(self, spec: Mapping[str, Any], max_age: int, kind: str) -> _Outcome:
        key, frame = self._frame(spec, max_age, kind)
        missing = [c for c in spec.get("assert_columns_present", ()) if c not in frame.columns]
        if missing:
            raise _Flaw(f"{key}: column(s) {', '.join(missing)} absent")
        for column in spec.get("assert_column_non_null", ()):
            if column not in frame.columns:
                raise _Flaw(f"{key}: column {column} absent")
            nulls = int(frame[column].isna().sum())
            if nulls:
                raise _Flaw(f"{key}: column {column} has {nulls} null value(s) of {len(frame)}")
        latest = spec.get("assert_value_on_latest_row")
        if latest is not None:
            if latest["column"] not in frame.columns or frame.empty:
                raise _Flaw(f"{key}: no latest row with column {latest['column']}")
            value = frame[latest["column"]].iloc[-1]
            _compare(f"{key}: {latest['column']} on the latest row", value.item() if hasattr(value, "item")
                     else value, latest["op"], latest["value"])
        return _Outcome(True, f"{key} passes ({len(frame)} rows)", key)

    def _csv(self, spec: Mapping[str, Any], max_age: int) -> _Outcome:
        return self._table(spec, max_age, "csv")

    def _parquet(self, spec: Mapping[str, Any], max_age: int) -> _Outcome:
        return self._table(spec, max_age, "parquet")

    def _sqlite(self, spec: Mapping[str, Any], max_age: int) -> _Outcome:
        if "file" in spec:
            if self.workspace is None:
                raise _Flaw(f"{spec['file']}: no workspace to resolve it against")
            where = str(spec["file"])
            path = self.workspace / where
            if not path.is_file():
                raise _Flaw(f"{where} is absent from the workspace {self.workspace}")
            return self._columns(path, spec, where)
        key = self._locate(spec, max_age)
        local = self.artifacts.local_path(key)
        if local is not None:
            return self._columns(local, spec, key)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "copy.sqlite"
            copy.write_bytes(self.artifacts.read_bytes(key))
            return self._columns(copy, spec, key)

    @staticmethod
    def _columns(path: Path, spec: Mapping[str, Any], where: str) -> _Outcome:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            present = {row[1] for row in db.execute(f"PRAGMA table_info({_quoted(spec['table'])})")}
        if not present:
            raise _Flaw(f"{where}: table {spec['table']} is absent")
        missing = [c for c in spec["assert_columns_present"] if c not in present]
        if missing:
            raise _Flaw(f"{where}: table {spec['table']} lacks column(s) {', '.join(missing)}")
        return _Outcome(True, f"{where}: table {spec['table']} has every column", where)

    def _sum(self, spec: Mapping[str, Any], metric: str, statistic: str) -> float:
        assert self.metrics is not None
        days = int(spec.get("window_days", DEFAULT_WINDOW_DAYS))
        start = self.now - timedelta(days=days)
        points = self.metrics.statistics(spec["namespace"], metric, spec.get("dimensions") or None, start,
                                         self.now + timedelta(seconds=1), 86400, statistic)
        return sum(value for _, value in points)

    def _metric(self, spec: Mapping[str, Any], max_age: int) -> _Outcome:
        label = Source("metric", dict(spec)).label
        if self.metrics is None:
            raise _Flaw(f"{label}: no metrics store is wired")
        days = int(spec.get("window_days", DEFAULT_WINDOW_DAYS))
        check = spec["assert"]
        if check["op"] == "datapoints_gte":
            count = self._sum(spec, spec["metric"], "SampleCount")
            if count < check["value"]:
                raise _Flaw(f"{label}: {count:g} datapoint(s) in the last {days} days, expected >= {check['value']:g}")
            return _Outcome(True, f"{label}: {count:g} datapoint(s) in the last {days} days", label)
        succeeded = self._sum(spec, spec["succeeded_metric"], "Sum")
        failed = self._sum(spec, spec["failed_metric"], "Sum")
        if succeeded + failed == 0:
            raise _Flaw(f"{label}: no execution recorded in the last {days} days")
        rate = 100.0 * succeeded / (succeeded + failed)
        text = f"{label}: {rate:.1f}% succeeded ({succeeded:g} of {succeeded + failed:g}) in the last {days} days"
        if rate < check["value"]:
            raise _Flaw(f"{text}, expected >= {check['value']:g}%")
        return _Outcome(True, text, label)

    # -- rows ----------------------------------------------------------------------------------

    def row(self, row: SubstrateRow) -> RowResult:
        def result(status: str, reason: str, source: str | None) -> RowResult:
            return RowResult(row.id, status, reason, source, row.non_fatal, row.cadence)

        if self.run_date < row.effective_date:
            return result("not_yet_effective", f"effective from {row.effective_date}", None)
        outcomes: list[_Outcome] = []
        errors: list[tuple[str, str]] = []
        for source in row.sources:
            try:
                outcome = self.check(source)
            except Exception as exc:  # noqa: BLE001 - a source that raises is this row's error, never the check's
                errors.append((source.label, f"{source.label}: {type(exc).__name__}: {exc}"))
                continue
            if outcome.passed:
                return result("ok", outcome.reason, outcome.source)
            outcomes.append(outcome)
        degraded = [o for o in outcomes if o.degraded]
        if degraded:
            return result("degraded", degraded[0].reason, degraded[0].source)
        if errors:
            reasons = [text for _, text in errors] + [o.reason for o in outcomes]
            return result("error", "; ".join(reasons), errors[0][0])
        reason = "; ".join(o.reason for o in outcomes)
        if row.non_fatal:
            return result("degraded", f"{reason} (non_fatal row)", outcomes[0].source)
        return result("fail", reason, outcomes[0].source)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_substrate(inventory: Inventory, cadence: str, *, run_date: date, artifacts: ArtifactStore,
                    metrics: _Statistics | None, workspace: Path | None, now: datetime) -> SubstrateReport:
    """Check every row ``cadence`` covers (module docstring); never raises for a row's source."""
    rows = inventory.for_cadence(cadence)
    checker = _Checker(artifacts, metrics, workspace, run_date, now)
    return SubstrateReport(run_date=run_date, cadence=cadence, checked_at=now,
                           rows=tuple(checker.row(row) for row in rows))


def substrate_datapoints(report: SubstrateReport, timestamp: datetime) -> Sequence[Datapoint]:
    """``SubstrateRowOK{RowID}`` per row (1 for ok, degraded, not_yet_effective; 0 for fail, error)
    and the aggregates ``SubstrateChecksOK``, ``...Failed`` (fail + error), ``...Degraded`` and
    ``...Pending`` (not_yet_effective), all in ``AlphaEngine/Substrate``."""
    counts = report.counts
    points = [Datapoint.of(SUBSTRATE_NAMESPACE, "SubstrateRowOK", 1.0 if r.status in _UP else 0.0,
                           {"RowID": r.id}, timestamp, unit="Count") for r in report.rows]
    for name, value in (("SubstrateChecksOK", counts["ok"]),
                        ("SubstrateChecksFailed", counts["fail"] + counts["error"]),
                        ("SubstrateChecksDegraded", counts["degraded"]),
                        ("SubstrateChecksPending", counts["not_yet_effective"])):
        points.append(Datapoint.of(SUBSTRATE_NAMESPACE, name, float(value), None, timestamp, unit="Count"))
    return points
