"""Task leases (fencing tokens): one per Task attempt, superseded by a newer attempt of the same state,
ended with the attempt and with the execution, revoked by a forced stop; ``lease_status`` answers
"may this attempt still act?" from the store, read-only."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn import (
    EXECUTION_STORE_ENV,
    TASK_LEASE_ENV,
    Engine,
    ExecutionAlreadyExists,
    ExecutionRecord,
    ExecutionStore,
    FakeClock,
    LeaseStatus,
    LocalRuntime,
    MemoryStore,
    RuntimeConfig,
    SqliteStore,
    StatesError,
    lease_status,
)
from alpha_engine.sfn.services import MockBinding, TaskRequest

ARN = "arn:aws:states:us-east-1:111111111111:execution:StateMachine:run-1"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ExecutionStore:
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(tmp_path / "executions.sqlite3")


def _record(arn: str = ARN, name: str = "run-1") -> ExecutionRecord:
    return ExecutionRecord(arn=arn, name=name, state_machine_arn="sm", state_machine_name="StateMachine",
                           definition="{}", input="{}", status="RUNNING", start_date=0.0)


def _by_token(store: ExecutionStore, arn: str = ARN) -> dict[str, Any]:
    return {lease.token: lease for lease in store.leases(arn)}


def test_a_new_attempt_supersedes_the_active_lease_of_the_same_state(store: ExecutionStore) -> None:
    store.create(_record())
    first = store.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    second = store.begin_lease("t2", ARN, "/Train#0", "Train", 2.0)
    leases = _by_token(store)
    assert (first.attempt, second.attempt) == (1, 2)
    assert leases["t1"].status == "SUPERSEDED" and leases["t1"].reason == "superseded by attempt 2 of Train"
    assert leases["t2"].status == "ACTIVE"


def test_attempts_at_different_state_positions_do_not_supersede_each_other(store: ExecutionStore) -> None:
    store.create(_record())
    store.begin_lease("i0", ARN, "/Each#0/i0/Item#0", "Item", 1.0)  # two Map iterations of one state
    store.begin_lease("i1", ARN, "/Each#0/i1/Item#0", "Item", 1.0)
    assert {lease.status for lease in store.leases(ARN)} == {"ACTIVE"}


def test_end_lease_ends_only_an_active_lease(store: ExecutionStore) -> None:
    store.create(_record())
    store.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    store.begin_lease("t2", ARN, "/Train#0", "Train", 2.0)
    assert store.end_lease("t1", 3.0) is False  # already superseded: keeps its reason
    assert store.end_lease("t2", 3.0, status="REVOKED", reason="stopped") is True
    leases = _by_token(store)
    assert (leases["t1"].status, leases["t2"].status, leases["t2"].reason) == ("SUPERSEDED", "REVOKED", "stopped")


def test_end_leases_ends_every_active_lease_of_that_execution_only(store: ExecutionStore) -> None:
    other = ARN.replace("run-1", "run-2")
    store.create(_record())
    store.create(_record(other, "run-2"))
    store.begin_lease("a", ARN, "/A#0", "A", 1.0)
    store.begin_lease("b", ARN, "/B#0", "B", 1.0)
    store.begin_lease("c", other, "/A#0", "A", 1.0)
    assert store.end_leases(ARN, 2.0, reason="execution run-1 is FAILED") == 2
    assert {lease.status for lease in store.leases(ARN)} == {"ENDED"}
    assert [lease.status for lease in store.leases(other)] == ["ACTIVE"]


def test_the_leases_process_is_recorded(store: ExecutionStore) -> None:
    store.create(_record())
    store.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    store.record_lease_process("t1", 4242, 987654)
    (lease,) = store.leases(ARN)
    assert (lease.pid, lease.process_start) == (4242, 987654)


def test_a_duplicate_execution_name_is_execution_already_exists(store: ExecutionStore) -> None:
    store.create(_record())
    with pytest.raises(ExecutionAlreadyExists, match=rf"^Execution Already Exists: '{ARN}'$"):
        store.create(_record())
    assert store.get(ARN).status == "RUNNING"


def test_engine_start_with_a_used_name_is_refused_before_anything_runs() -> None:
    engine = Engine(task_invoker=lambda call: {})
    machine = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    asyncio.run(engine.start(machine, {}, name="same"))
    with pytest.raises(ExecutionAlreadyExists):
        asyncio.run(engine.start(machine, {}, name="same"))
    assert len(engine.store.list_executions()) == 1


# -- lease_status ------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "executions.sqlite3")
    store.create(_record())
    return store


def test_an_active_lease_of_a_running_execution_is_current(db: SqliteStore) -> None:
    db.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    assert lease_status(db.path, "t1").current


@pytest.mark.parametrize(("change", "reason"), [
    (lambda s: s.begin_lease("t2", ARN, "/Train#0", "Train", 2.0), "superseded by attempt 2 of Train"),
    (lambda s: s.end_lease("t1", 2.0, reason="attempt 1 of Train ended"), "attempt 1 of Train ended"),
    (lambda s: s.end_lease("t1", 2.0, status="REVOKED", reason="revoked by hand"), "revoked by hand"),
    (lambda s: s.update(ARN, status="FAILED"), "execution run-1 is FAILED"),
], ids=["superseded", "ended", "revoked", "execution-failed"])
def test_a_lease_stops_being_current_with_the_reason(
        db: SqliteStore, change: Callable[[SqliteStore], Any], reason: str) -> None:
    db.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    change(db)
    assert lease_status(db.path, "t1") == LeaseStatus(False, reason)


def test_an_unknown_token_or_a_missing_store_is_not_current(db: SqliteStore, tmp_path: Path) -> None:
    unknown = lease_status(db.path, "nope")
    assert not unknown.current and "not recorded" in (unknown.reason or "")
    missing = tmp_path / "no-such" / "executions.sqlite3"
    status = lease_status(missing, "t1")
    assert not status.current and "cannot be read" in (status.reason or "")
    assert not missing.exists() and not missing.parent.exists()  # read-only: never creates the store


# -- the runtime: one lease per attempt -----------------------------------------------------------

RETRYING = {"StartAt": "Work", "States": {"Work": {
    "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}], "End": True}}}


def _runtime(tmp_path: Path, handler: Callable[[TaskRequest], Any]) -> LocalRuntime:
    return LocalRuntime(RuntimeConfig(workspace=tmp_path / "ws"), clock=FakeClock(),
                        extra_bindings=[MockBinding(handler)])


def test_each_task_attempt_gets_a_lease_current_while_it_runs_and_ended_after(tmp_path: Path) -> None:
    seen: list[tuple[int, bool, str | None]] = []

    def handler(request: TaskRequest) -> Any:
        assert request.lease is not None
        token, database = request.lease.env[TASK_LEASE_ENV], request.lease.env[EXECUTION_STORE_ENV]
        status = lease_status(database, token)
        seen.append((len(seen) + 1, status.current, status.reason))
        if len(seen) == 1:
            raise StatesError("Flaky", "first attempt fails", in_state=False)
        return {"ok": True}

    runtime = _runtime(tmp_path, handler)
    result = runtime.start(RETRYING, {})
    assert result.status == "SUCCEEDED", result.cause
    assert seen == [(1, True, None), (2, True, None)]
    leases = runtime.store.leases(result.arn)
    assert [(lease.attempt, lease.status) for lease in leases] == [(1, "ENDED"), (2, "ENDED")]
    assert [lease.reason for lease in leases] == ["attempt 1 of Work failed (Flaky)", "attempt 2 of Work ended"]


def test_ending_an_execution_ends_the_leases_still_active(tmp_path: Path) -> None:
    holder: dict[str, LocalRuntime] = {}

    def handler(request: TaskRequest) -> Any:
        # A second lease of the same execution, which nothing but the execution's end ends.
        holder["runtime"].store.begin_lease("stray", request.execution_arn, "/Other#0", "Other", 0.0)
        return {}

    runtime = holder["runtime"] = _runtime(tmp_path, handler)
    machine = {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
        "Next": "Boom"}, "Boom": {"Type": "Fail", "Error": "Boom"}}}
    result = runtime.start(machine, {})
    assert result.status == "FAILED"
    leases = {lease.token: lease for lease in runtime.store.leases(result.arn)}
    assert leases["stray"].status == "ENDED"
    assert leases["stray"].reason == f"execution {result.name} is FAILED"
    assert lease_status(runtime.config.database, "stray").reason == f"execution {result.name} is FAILED"


def test_a_forced_stop_revokes_the_executions_leases(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "executions.sqlite3")
    engine = Engine(store=store)
    record = engine.create_execution({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {},
                                     name="orphaned")
    store.begin_lease("t1", record.arn, "/Work#0", "Work", 0.0)
    engine.stop_orphan(record.arn)
    (lease,) = store.leases(record.arn)
    assert lease.status == "REVOKED" and lease.reason == "execution orphaned was stopped (ABORTED)"
    assert lease_status(store.path, "t1").reason == "execution orphaned is ABORTED"


def test_the_leases_table_is_in_the_database_file(db: SqliteStore) -> None:
    db.begin_lease("t1", ARN, "/Train#0", "Train", 1.0)
    rows = sqlite3.connect(db.path).execute("SELECT token, state_name, attempt, status FROM task_leases").fetchall()
    assert rows == [("t1", "Train", 1, "ACTIVE")]


def test_stopping_the_engine_aborts_a_nested_execution_and_its_parent(tmp_path: Path) -> None:
    child = {"StartAt": "Hang", "States": {"Hang": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
        "End": True}}}
    holder: dict[str, LocalRuntime] = {}

    async def hang(request: TaskRequest) -> Any:
        holder["runtime"].engine.stop_running("SIGTERM", lambda states: f"stopped while {states} ran")
        await asyncio.sleep(3600)

    runtime = holder["runtime"] = LocalRuntime(
        RuntimeConfig(workspace=tmp_path / "ws", state_machines={"Child": child}), clock=FakeClock(),
        extra_bindings=[MockBinding(hang, "arn:aws:states:::lambda:*")])
    parent = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:Child"},
        "End": True}}}
    result = runtime.start(parent, {})
    assert (result.status, result.error, result.cause) == ("ABORTED", "SIGTERM", "stopped while ['Call'] ran")
    statuses = {record.name == result.name: (record.status, record.cause) for record in runtime.store.list_executions()}
    assert statuses[False] == ("ABORTED", "stopped while ['Hang'] ran")
    assert not any(lease.active for record in runtime.store.list_executions() for lease in runtime.store.leases(record.arn))
