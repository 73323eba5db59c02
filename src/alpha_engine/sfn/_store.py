"""Durable execution store (SQLite, WAL).

Tables:

- ``executions``: one row per execution (definition, input, status, output, error, redrive count);
- ``events``: the AWS-shaped history, append-only;
- ``steps``: the checkpoint of every completed state: its next state, output and the variables
  it assigned, keyed by its position in the run (``/Par#0/b1/Work#2``). Resume and redrive
  replay these instead of executing the state again;
- ``timers``: the deadline a Wait computed, so a restarted engine waits for the same moment;
- ``task_tokens``: callback tokens and their completion (sent by another process, maybe);
- ``task_leases``: one lease per Task attempt (see :mod:`._leases`): which attempt of a state is
  current, and the process it runs in. Starting an attempt supersedes the older ones of the same
  state position; ending an attempt or its execution ends its lease.

Each transition commits one transaction (``synchronous=NORMAL`` in WAL mode: a committed
transition survives the process being killed; only an OS crash can lose the last ones).
:class:`MemoryStore` keeps the same interface in dicts, for runs that need no durability.
All ``sqlite3`` errors surface as :class:`StoreError` (see ``_SQLITE_ERRORS``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ._errors import ExecutionAlreadyExists, ExecutionNotFound, StoreError
from ._json import compact_json
from ._leases import LEASE_ACTIVE, LEASE_ENDED, LEASE_SUPERSEDED, TaskLease

__all__ = ["ExecutionRecord", "ExecutionStore", "MemoryStore", "SqliteStore"]

# The foreign exceptions this module translates, one boundary (checked by a test).
_SQLITE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error,)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    state_machine_name TEXT NOT NULL,
    definition TEXT NOT NULL,
    input TEXT NOT NULL,
    status TEXT NOT NULL,
    start_date REAL NOT NULL,
    stop_date REAL,
    output TEXT,
    error TEXT,
    cause TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL,
    abort_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS executions_by_start ON executions(start_date);
CREATE TABLE IF NOT EXISTS events (
    arn TEXT NOT NULL, id INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS steps (
    arn TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (arn, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    arn TEXT NOT NULL, key TEXT NOT NULL, deadline REAL NOT NULL, PRIMARY KEY (arn, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_tokens (
    token TEXT PRIMARY KEY, arn TEXT NOT NULL, status TEXT NOT NULL,
    output TEXT, error TEXT, cause TEXT, heartbeat REAL
);
CREATE TABLE IF NOT EXISTS task_leases (
    token TEXT PRIMARY KEY, arn TEXT NOT NULL, state_key TEXT NOT NULL, state_name TEXT NOT NULL,
    attempt INTEGER NOT NULL, status TEXT NOT NULL, started REAL NOT NULL,
    pid INTEGER, process_start INTEGER, ended REAL, reason TEXT
);
CREATE INDEX IF NOT EXISTS task_leases_by_state ON task_leases(arn, state_key);
"""


@dataclass(frozen=True)
class ExecutionRecord:
    """What ``DescribeExecution`` reports, plus the definition to resume with."""

    arn: str
    name: str
    state_machine_arn: str
    state_machine_name: str
    definition: str
    input: str
    status: str
    start_date: float
    stop_date: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    redrive_count: int = 0
    redrive_date: float | None = None


_LEASE_COLUMNS = "token, arn, state_key, state_name, attempt, status, started, pid, process_start, ended, reason"


def _superseded(attempt: int, state_name: str) -> str:
    return f"superseded by attempt {attempt} of {state_name}"


# Read and written by name: a database made before the ``options`` column was dropped (it still
# has it, NOT NULL DEFAULT '{}') keeps working, since inserts leave it to its default.
_COLUMNS = (
    "arn, name, state_machine_arn, state_machine_name, definition, input, status, start_date, "
    "stop_date, output, error, cause, redrive_count, redrive_date"
)


class ExecutionStore:
    """Interface shared by :class:`SqliteStore` and :class:`MemoryStore`."""

    def create(self, record: ExecutionRecord) -> None:
        raise NotImplementedError

    def get(self, arn: str) -> ExecutionRecord:
        raise NotImplementedError

    def list_executions(self, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        raise NotImplementedError

    def update(self, arn: str, **fields: Any) -> None:
        raise NotImplementedError

    def append(self, arn: str, events: list[dict[str, Any]], step: tuple[str, Any] | None = None) -> None:
        """Append events and, atomically with them, checkpoint a completed step."""
        raise NotImplementedError

    def events(self, arn: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def steps(self, arn: str) -> dict[str, Any]:
        raise NotImplementedError

    def drop_steps(self, arn: str, keys: list[str]) -> None:
        raise NotImplementedError

    def timer(self, arn: str, key: str, deadline: float) -> float:
        """Record a Wait's deadline once; return the deadline recorded first."""
        raise NotImplementedError

    def put_token(self, token: str, arn: str) -> None:
        raise NotImplementedError

    def complete_token(self, token: str, status: str, output: str | None = None,
                       error: str | None = None, cause: str | None = None) -> None:
        raise NotImplementedError

    def heartbeat_token(self, token: str, at: float) -> None:
        raise NotImplementedError

    def token(self, token: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def abort_requested(self, arn: str) -> bool:
        raise NotImplementedError

    # -- task leases (see _leases) ------------------------------------------------------------------
    def begin_lease(self, token: str, arn: str, state_key: str, state_name: str, at: float) -> TaskLease:
        """Record a new ACTIVE lease for the next attempt of the state at ``state_key``; every
        older ACTIVE lease of that state becomes SUPERSEDED (all in one transaction)."""
        raise NotImplementedError

    def record_lease_process(self, token: str, pid: int, process_start: int | None) -> None:
        """The process the binding started for this attempt."""
        raise NotImplementedError

    def end_lease(self, token: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> bool:
        """End the lease if it is still ACTIVE (``status`` ENDED or REVOKED); True if it was."""
        raise NotImplementedError

    def end_leases(self, arn: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> int:
        """End every ACTIVE lease of the execution; how many there were."""
        raise NotImplementedError

    def leases(self, arn: str) -> list[TaskLease]:
        """Every lease of the execution, oldest first."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class MemoryStore(ExecutionStore):
    """The store in dicts: same behaviour, nothing survives the process."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._steps: dict[str, dict[str, Any]] = {}
        self._timers: dict[tuple[str, str], float] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._aborts: set[str] = set()
        self._leases: dict[str, TaskLease] = {}

    def create(self, record: ExecutionRecord) -> None:
        if record.arn in self._records:
            raise ExecutionAlreadyExists(record.arn)
        self._records[record.arn] = record
        self._events[record.arn] = []
        self._steps[record.arn] = {}

    def get(self, arn: str) -> ExecutionRecord:
        try:
            return self._records[arn]
        except KeyError:
            raise ExecutionNotFound(f"execution does not exist: {arn}") from None

    def list_executions(self, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        rows = [r for r in self._records.values() if status is None or r.status == status]
        rows.sort(key=lambda r: r.start_date, reverse=True)
        return rows[:limit]

    def update(self, arn: str, **fields: Any) -> None:
        if fields.pop("abort_requested", None):
            self._aborts.add(arn)
        if fields:
            self._records[arn] = replace(self.get(arn), **fields)

    def append(self, arn: str, events: list[dict[str, Any]], step: tuple[str, Any] | None = None) -> None:
        self._events[arn].extend(events)
        if step is not None:
            self._steps[arn][step[0]] = step[1]

    def events(self, arn: str) -> list[dict[str, Any]]:
        self.get(arn)
        return list(self._events[arn])

    def steps(self, arn: str) -> dict[str, Any]:
        return dict(self._steps.get(arn, {}))

    def drop_steps(self, arn: str, keys: list[str]) -> None:
        for key in keys:
            self._steps[arn].pop(key, None)

    def timer(self, arn: str, key: str, deadline: float) -> float:
        return self._timers.setdefault((arn, key), deadline)

    def put_token(self, token: str, arn: str) -> None:
        self._tokens[token] = {"token": token, "arn": arn, "status": "PENDING"}

    def complete_token(self, token: str, status: str, output: str | None = None,
                       error: str | None = None, cause: str | None = None) -> None:
        row = self._tokens.get(token)
        if row is None or row["status"] != "PENDING":
            raise ExecutionNotFound(f"task token is invalid or already completed: {token[:16]}...")
        row.update(status=status, output=output, error=error, cause=cause)

    def heartbeat_token(self, token: str, at: float) -> None:
        row = self._tokens.get(token)
        if row is None or row["status"] != "PENDING":
            raise ExecutionNotFound(f"task token is invalid or already completed: {token[:16]}...")
        row["heartbeat"] = at

    def token(self, token: str) -> dict[str, Any] | None:
        row = self._tokens.get(token)
        return dict(row) if row else None

    def abort_requested(self, arn: str) -> bool:
        return arn in self._aborts

    def begin_lease(self, token: str, arn: str, state_key: str, state_name: str, at: float) -> TaskLease:
        same = [lease for lease in self._leases.values() if (lease.execution_arn, lease.state_key) == (arn, state_key)]
        lease = TaskLease(token, arn, state_key, state_name, len(same) + 1, LEASE_ACTIVE, at)
        for old in same:
            if old.active:
                self._leases[old.token] = replace(old, status=LEASE_SUPERSEDED, ended=at,
                                                  reason=_superseded(lease.attempt, state_name))
        self._leases[token] = lease
        return lease

    def record_lease_process(self, token: str, pid: int, process_start: int | None) -> None:
        if token in self._leases:
            self._leases[token] = replace(self._leases[token], pid=pid, process_start=process_start)

    def end_lease(self, token: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> bool:
        lease = self._leases.get(token)
        if lease is None or not lease.active:
            return False
        self._leases[token] = replace(lease, status=status, ended=at, reason=reason)
        return True

    def end_leases(self, arn: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> int:
        active = [lease for lease in self._leases.values() if lease.execution_arn == arn and lease.active]
        for lease in active:
            self._leases[lease.token] = replace(lease, status=status, ended=at, reason=reason)
        return len(active)

    def leases(self, arn: str) -> list[TaskLease]:
        return [lease for lease in self._leases.values() if lease.execution_arn == arn]


class SqliteStore(ExecutionStore):
    """The durable store: one SQLite file in WAL mode, safe to share between processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._translate(f"open {self.path}"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except _SQLITE_ERRORS as exc:
            raise StoreError(f"execution store {self.path}: {what} failed: {exc}") from exc

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translate(what):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(self, record: ExecutionRecord) -> None:
        with self._tx(f"create execution {record.arn}") as db:
            if db.execute("SELECT 1 FROM executions WHERE arn = ?", (record.arn,)).fetchone():
                raise ExecutionAlreadyExists(record.arn)
            db.execute(
                f"INSERT INTO executions ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (record.arn, record.name, record.state_machine_arn, record.state_machine_name,
                 record.definition, record.input, record.status, record.start_date, record.stop_date,
                 record.output, record.error, record.cause, record.redrive_count, record.redrive_date),
            )

    def get(self, arn: str) -> ExecutionRecord:
        with self._lock, self._translate(f"read execution {arn}"):
            row = self._db.execute(f"SELECT {_COLUMNS} FROM executions WHERE arn = ?", (arn,)).fetchone()
        if row is None:
            raise ExecutionNotFound(f"execution does not exist: {arn}")
        return ExecutionRecord(*row)

    def list_executions(self, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        sql = f"SELECT {_COLUMNS} FROM executions"
        args: tuple[Any, ...] = ()
        if status:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY start_date DESC, arn LIMIT ?"
        with self._lock, self._translate("list executions"):
            rows = self._db.execute(sql, (*args, limit)).fetchall()
        return [ExecutionRecord(*r) for r in rows]

    def update(self, arn: str, **fields: Any) -> None:
        if not fields:
            return
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx(f"update execution {arn}") as db:
            db.execute(f"UPDATE executions SET {sets} WHERE arn = ?", (*fields.values(), arn))

    def append(self, arn: str, events: list[dict[str, Any]], step: tuple[str, Any] | None = None) -> None:
        with self._tx(f"checkpoint {arn}") as db:
            if events:
                db.executemany(
                    "INSERT INTO events (arn, id, body) VALUES (?,?,?)",
                    [(arn, e["id"], compact_json(e)) for e in events],
                )
            if step is not None:
                db.execute(
                    "INSERT OR REPLACE INTO steps (arn, key, body) VALUES (?,?,?)",
                    (arn, step[0], compact_json(step[1])),
                )

    def events(self, arn: str) -> list[dict[str, Any]]:
        self.get(arn)
        with self._lock, self._translate(f"read history of {arn}"):
            rows = self._db.execute("SELECT body FROM events WHERE arn = ? ORDER BY id", (arn,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def steps(self, arn: str) -> dict[str, Any]:
        with self._lock, self._translate(f"read checkpoints of {arn}"):
            rows = self._db.execute("SELECT key, body FROM steps WHERE arn = ?", (arn,)).fetchall()
        return {k: json.loads(b) for k, b in rows}

    def drop_steps(self, arn: str, keys: list[str]) -> None:
        with self._tx(f"drop checkpoints of {arn}") as db:
            db.executemany("DELETE FROM steps WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    def timer(self, arn: str, key: str, deadline: float) -> float:
        with self._tx(f"timer {key}") as db:
            db.execute("INSERT OR IGNORE INTO timers (arn, key, deadline) VALUES (?,?,?)", (arn, key, deadline))
            row = db.execute("SELECT deadline FROM timers WHERE arn = ? AND key = ?", (arn, key)).fetchone()
        return float(row[0])

    def put_token(self, token: str, arn: str) -> None:
        with self._tx("register task token") as db:
            db.execute("INSERT OR IGNORE INTO task_tokens (token, arn, status) VALUES (?,?,'PENDING')", (token, arn))

    def complete_token(self, token: str, status: str, output: str | None = None,
                       error: str | None = None, cause: str | None = None) -> None:
        with self._tx("complete task token") as db:
            cur = db.execute(
                "UPDATE task_tokens SET status = ?, output = ?, error = ?, cause = ? "
                "WHERE token = ? AND status = 'PENDING'",
                (status, output, error, cause, token),
            )
            if cur.rowcount != 1:
                raise ExecutionNotFound(f"task token is invalid or already completed: {token[:16]}...")

    def heartbeat_token(self, token: str, at: float) -> None:
        with self._tx("heartbeat task token") as db:
            cur = db.execute(
                "UPDATE task_tokens SET heartbeat = ? WHERE token = ? AND status = 'PENDING'", (at, token)
            )
            if cur.rowcount != 1:
                raise ExecutionNotFound(f"task token is invalid or already completed: {token[:16]}...")

    def token(self, token: str) -> dict[str, Any] | None:
        with self._lock, self._translate("read task token"):
            row = self._db.execute(
                "SELECT token, arn, status, output, error, cause, heartbeat FROM task_tokens WHERE token = ?",
                (token,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("token", "arn", "status", "output", "error", "cause", "heartbeat"), row, strict=True))

    def abort_requested(self, arn: str) -> bool:
        with self._lock, self._translate(f"read execution {arn}"):
            row = self._db.execute("SELECT abort_requested FROM executions WHERE arn = ?", (arn,)).fetchone()
        return bool(row and row[0])

    def begin_lease(self, token: str, arn: str, state_key: str, state_name: str, at: float) -> TaskLease:
        with self._tx(f"begin a lease for {state_name} of {arn}") as db:
            (count,) = db.execute("SELECT COUNT(*) FROM task_leases WHERE arn = ? AND state_key = ?",
                                  (arn, state_key)).fetchone()
            lease = TaskLease(token, arn, state_key, state_name, int(count) + 1, LEASE_ACTIVE, at)
            db.execute(
                "UPDATE task_leases SET status = ?, ended = ?, reason = ? "
                "WHERE arn = ? AND state_key = ? AND status = ?",
                (LEASE_SUPERSEDED, at, _superseded(lease.attempt, state_name), arn, state_key, LEASE_ACTIVE),
            )
            db.execute(f"INSERT INTO task_leases ({_LEASE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (token, arn, state_key, state_name, lease.attempt, LEASE_ACTIVE, at, None, None, None, None))
        return lease

    def record_lease_process(self, token: str, pid: int, process_start: int | None) -> None:
        with self._tx("record a lease's process") as db:
            db.execute("UPDATE task_leases SET pid = ?, process_start = ? WHERE token = ?",
                       (pid, process_start, token))

    def end_lease(self, token: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> bool:
        with self._tx("end a lease") as db:
            cur = db.execute("UPDATE task_leases SET status = ?, ended = ?, reason = ? WHERE token = ? AND status = ?",
                             (status, at, reason, token, LEASE_ACTIVE))
        return cur.rowcount == 1

    def end_leases(self, arn: str, at: float, *, status: str = LEASE_ENDED, reason: str | None = None) -> int:
        with self._tx(f"end the leases of {arn}") as db:
            cur = db.execute("UPDATE task_leases SET status = ?, ended = ?, reason = ? WHERE arn = ? AND status = ?",
                             (status, at, reason, arn, LEASE_ACTIVE))
        return int(cur.rowcount)

    def leases(self, arn: str) -> list[TaskLease]:
        with self._lock, self._translate(f"read the leases of {arn}"):
            rows = self._db.execute(f"SELECT {_LEASE_COLUMNS} FROM task_leases WHERE arn = ? ORDER BY started, rowid",
                                    (arn,)).fetchall()
        return [TaskLease(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

