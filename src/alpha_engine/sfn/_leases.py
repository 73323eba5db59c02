"""Task leases: which attempt of a Task may still act for its execution (fencing tokens).

Every Task attempt the local runtime starts gets a lease, recorded in the execution store
(table ``task_leases``): its token, the execution, the state (name and position key), the
attempt number (1, 2, ... per execution and state position, across retries, resumes and
redrives), the process the binding started for it (pid and start time) and a status:

========== ==================================================================================
ACTIVE     the attempt is running
ENDED      the attempt ended (succeeded, failed, timed out, cancelled) or its execution ended
SUPERSEDED a newer attempt of the same state started (``superseded by attempt 2 of X``)
REVOKED    the attempt was stopped from outside: ``sfn executions stop --force``, or a resume
           or redrive that stopped it before driving the execution again
========== ==================================================================================

Bindings that start a process hand it the token and the store's path in the environment
(:data:`TASK_LEASE_ENV`, :data:`EXECUTION_STORE_ENV`); whoever the process writes to can then
ask :func:`lease_status` before publishing a write, and refuse it when the attempt is no longer
current. A lease is current only while it is ACTIVE *and* its execution is RUNNING.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EXECUTION_STORE_ENV",
    "LEASE_ACTIVE",
    "LEASE_ENDED",
    "LEASE_REVOKED",
    "LEASE_SUPERSEDED",
    "TASK_LEASE_ENV",
    "LeaseStatus",
    "TaskLease",
    "lease_status",
]

#: The environment variable that carries a Task attempt's lease token to its process.
TASK_LEASE_ENV = "SFN_TASK_LEASE"
#: The environment variable that carries the path of the execution store holding that lease.
EXECUTION_STORE_ENV = "SFN_EXECUTION_STORE"

LEASE_ACTIVE = "ACTIVE"
LEASE_ENDED = "ENDED"
LEASE_SUPERSEDED = "SUPERSEDED"
LEASE_REVOKED = "REVOKED"

# How long a reader waits for the database (WAL readers never wait for a writer; this covers
# a checkpoint or the first open of a fresh file).
_READ_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class TaskLease:
    """One Task attempt's lease, as the store records it."""

    token: str
    execution_arn: str
    state_key: str  # the state's position in the run (``/Par#0/b1/Work#0``)
    state_name: str
    attempt: int
    status: str  # ACTIVE | ENDED | SUPERSEDED | REVOKED
    started: float
    pid: int | None = None  # the process the binding started for this attempt (a group leader)
    process_start: int | None = None  # its start time (clock ticks since boot): no pid-reuse mistakes
    ended: float | None = None
    reason: str | None = None  # why it is no longer ACTIVE

    @property
    def active(self) -> bool:
        return self.status == LEASE_ACTIVE

    def describe(self) -> str:
        """``attempt 2 of PredictorTraining``."""
        return f"attempt {self.attempt} of {self.state_name}"


@dataclass(frozen=True)
class LeaseStatus:
    """Whether a lease is current; ``reason`` says why not when it is not."""

    current: bool
    reason: str | None = None


def lease_status(database: str | Path, token: str) -> LeaseStatus:
    """Is the lease ``token`` in the execution store at ``database`` current?

    Opens the SQLite file read-only (never creating or changing it) for one query, so it is
    cheap enough to ask before every write. Anything that prevents a yes is a no with a reason:
    an unknown token, an unreadable store, an execution that is not RUNNING
    (``execution NAME is FAILED``), a lease that is not ACTIVE (``superseded by attempt 2 of
    PredictorTraining``, ``attempt 1 of PredictorTraining ended``...).
    """
    path = Path(database)
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=_READ_TIMEOUT_SECONDS)
    except sqlite3.Error as exc:
        return LeaseStatus(False, f"the execution store {path} cannot be read: {exc}")
    try:
        row = db.execute(
            "SELECT l.status, l.reason, l.state_name, l.attempt, e.name, e.status "
            "FROM task_leases l JOIN executions e ON e.arn = l.arn WHERE l.token = ?",
            (token,),
        ).fetchone()
    except sqlite3.Error as exc:
        return LeaseStatus(False, f"the execution store {path} cannot be read: {exc}")
    finally:
        db.close()
    if row is None:
        return LeaseStatus(False, f"lease {token!r} is not recorded in the execution store {path}")
    status, reason, state_name, attempt, execution, execution_status = row
    if execution_status != "RUNNING":
        return LeaseStatus(False, f"execution {execution} is {execution_status}")
    if status != LEASE_ACTIVE:
        return LeaseStatus(False, reason or f"attempt {attempt} of {state_name} is {status}")
    return LeaseStatus(True)
