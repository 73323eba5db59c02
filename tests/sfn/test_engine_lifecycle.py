"""Resume, redrive, durable waits, stop and callbacks on the engine."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn import Engine, TaskCall
from alpha_engine.sfn._clock import FakeClock, IdSource
from alpha_engine.sfn._errors import ExecutionStateError, StatesError
from alpha_engine.sfn._store import MemoryStore, SqliteStore
from alpha_engine.sfn.testing import SfnTestEnvironment

TASK = "arn:aws:states:::lambda:invoke"


class Calls:
    """A Task invoker that counts calls per state and can be told to fail a state."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.failing: set[str] = set()

    async def __call__(self, call: TaskCall) -> Any:
        self.count[call.state_name] = self.count.get(call.state_name, 0) + 1
        if call.state_name in self.failing:
            raise StatesError("Boom", f"{call.state_name} failed", in_state=False)
        return {"state": call.state_name, "params": call.parameters}


def _task(next_: str | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Task", "Resource": TASK, **extra}
    state.update({"Next": next_} if next_ else {"End": True})
    return state


def test_redrive_reruns_only_the_failed_parallel_branch(tmp_path: Path) -> None:
    definition = {
        "StartAt": "Before",
        "States": {
            "Before": _task("Fan", Parameters={"x": 1}, ResultPath="$.before"),
            "Fan": {"Type": "Parallel", "Next": "After", "ResultPath": "$.fan", "Branches": [
                {"StartAt": "Good", "States": {"Good": _task()}},
                {"StartAt": "Flaky", "States": {"Flaky": _task("FlakyTail"), "FlakyTail": _task()}},
            ]},
            "After": _task(Parameters={"redrives.$": "$$.Execution.RedriveCount"}),
        },
    }
    calls = Calls()
    calls.failing.add("Flaky")
    engine = Engine(store=SqliteStore(tmp_path / "db.sqlite3"), clock=FakeClock(), ids=IdSource(1),
                    task_invoker=calls)
    first = asyncio.run(engine.start(definition, {}))
    assert first.status == "FAILED" and first.error == "Boom"
    calls.failing.clear()
    again = asyncio.run(engine.redrive(first.arn))
    assert again.status == "SUCCEEDED"
    assert calls.count == {"Before": 1, "Good": 1, "Flaky": 2, "FlakyTail": 1, "After": 1}
    assert again.output == {"state": "After", "params": {"redrives": 1}}
    types = [e["type"] for e in engine.store.events(first.arn)]
    assert types.count("ExecutionRedriven") == 1
    assert types.index("ExecutionFailed") < types.index("ExecutionRedriven")
    assert engine.store.get(first.arn).redrive_count == 1


def test_redrive_reruns_only_failed_map_iterations() -> None:
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "End": True, "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "Work", "States": {"Work": _task(Parameters={"v.$": "$"})}},
    }}}
    seen: list[Any] = []
    broken = {3}

    async def invoke(call: TaskCall) -> Any:
        seen.append(call.parameters["v"])
        if call.parameters["v"] in broken:
            raise StatesError("Boom", "item 3", in_state=False)
        return call.parameters["v"] * 10

    engine = Engine(clock=FakeClock(), ids=IdSource(2), task_invoker=invoke)
    first = asyncio.run(engine.start(definition, [1, 2, 3, 4]))
    assert first.status == "FAILED"
    broken.clear()
    seen.clear()
    again = asyncio.run(engine.redrive(first.arn))
    assert again.output == [10, 20, 30, 40]
    assert seen == [3, 4]  # iterations 1 and 2 had succeeded; 4 never ran (fail-fast)


def test_redrive_refuses_a_succeeded_execution() -> None:
    env = SfnTestEnvironment()
    result = env.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    with pytest.raises(ExecutionStateError, match="only FAILED, TIMED_OUT or ABORTED"):
        asyncio.run(env.engine.redrive(result.arn))


def test_one_week_wait_completes_instantly_on_the_fake_clock() -> None:
    env = SfnTestEnvironment()
    start = env.now()
    result = env.run({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 7 * 86400, "End": True}}})
    assert result.status == "SUCCEEDED"
    assert env.now() - start == timedelta(days=7)


def test_wait_deadline_survives_an_engine_restart(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    definition = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "woke", "End": True}}}
    clock = FakeClock(auto_advance=False)
    engine = Engine(store=SqliteStore(db), clock=clock, ids=IdSource(3))

    async def start_then_die() -> str:
        record = engine.create_execution(definition, {})
        task = asyncio.ensure_future(engine._drive(record, fresh=True))
        for _ in range(20):
            await asyncio.sleep(0)
        assert clock.pending_waits == 1
        task.cancel()  # the engine process "dies" during the Wait
        await asyncio.gather(task, return_exceptions=True)
        return record.arn

    arn = asyncio.run(start_then_die())
    assert SqliteStore(db).get(arn).status == "RUNNING"
    later = FakeClock(clock.now() + timedelta(minutes=59), auto_advance=False)
    restarted = Engine(store=SqliteStore(db), clock=later, ids=IdSource(3))

    async def resume() -> Any:
        task = asyncio.ensure_future(restarted.resume(arn))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()  # still one minute to go: the original deadline holds
        later.advance(60)
        return await task

    result = asyncio.run(resume())
    assert result.status == "SUCCEEDED" and result.output == "woke"


def test_stop_aborts_a_waiting_execution() -> None:
    clock = FakeClock(auto_advance=False)
    engine = Engine(store=MemoryStore(), clock=clock, ids=IdSource(4), abort_check=True)
    definition = {"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 10, "Next": "P"}, "P": {"Type": "Pass", "End": True}}}

    async def scenario() -> Any:
        record = engine.create_execution(definition, {})
        task = asyncio.ensure_future(engine._drive(record, fresh=True))
        for _ in range(20):
            await asyncio.sleep(0)
        engine.request_stop(record.arn)
        clock.advance(10)
        return await task

    result = asyncio.run(scenario())
    assert result.status == "ABORTED"
    types = [e["type"] for e in engine.store.events(result.arn)]
    assert types == ["ExecutionStarted", "WaitStateEntered", "WaitStateExited", "ExecutionAborted"]


def test_wait_for_task_token_completes_on_send_task_success() -> None:
    engine_box: list[Engine] = []

    async def hand_out(call: TaskCall) -> Any:
        assert call.task_token
        asyncio.get_running_loop().call_later(0.01, engine_box[0].send_task_success,
                                              call.task_token, {"approved": True})
        return {}

    engine = Engine(clock=FakeClock(), ids=IdSource(5), task_invoker=hand_out)
    engine_box.append(engine)
    definition = {"StartAt": "Ask", "States": {"Ask": _task(
        Resource="arn:aws:states:::sns:publish.waitForTaskToken",
        Parameters={"Message.$": "$$.Task.Token"})}}
    result = asyncio.run(engine.start(definition, {}))
    assert result.status == "SUCCEEDED" and result.output == {"approved": True}


def test_heartbeat_timeout_is_reported_as_heartbeat_timeout() -> None:
    async def silent(call: TaskCall) -> Any:
        return {}

    engine = Engine(clock=FakeClock(), ids=IdSource(6), task_invoker=silent)
    definition = {"StartAt": "Ask", "States": {"Ask": _task(
        Resource="arn:aws:states:::sns:publish.waitForTaskToken", HeartbeatSeconds=1, TimeoutSeconds=5,
        Parameters={"t.$": "$$.Task.Token"})}}
    result = asyncio.run(engine.start(definition, {}))
    assert result.status == "FAILED" and result.error == "States.HeartbeatTimeout"


def test_retry_then_catch_records_every_attempt() -> None:
    calls = Calls()
    calls.failing.add("Work")
    env = SfnTestEnvironment(task_invoker=calls)
    definition = {"StartAt": "Work", "States": {
        "Work": _task(Retry=[{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 60}],
                      Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}]),
        "Handled": {"Type": "Pass", "End": True}}}
    start = env.now()
    result = env.run(definition, {"a": 1})
    assert result.output == {"a": 1, "error": {"Error": "Boom", "Cause": "Work failed"}}
    assert calls.count == {"Work": 3}
    assert env.now() - start == timedelta(seconds=60 + 120)  # backoff on the virtual clock


def test_task_timeout_raises_states_timeout() -> None:
    async def hang(call: TaskCall) -> Any:
        await asyncio.sleep(30)

    env = SfnTestEnvironment(task_invoker=hang)
    definition = {"StartAt": "Slow", "States": {"Slow": _task(TimeoutSeconds=1)}}
    result = env.run(definition, {})
    assert result.status == "FAILED" and result.error == "States.Timeout"
    assert "TaskTimedOut" in [e["type"] for e in env.history(result.arn)]


def test_payload_over_256_kib_fails_with_data_limit_exceeded() -> None:
    env = SfnTestEnvironment()
    big = "x" * 262_145
    result = env.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": big, "End": True}}})
    assert result.error == "States.DataLimitExceeded"


def test_execution_input_over_256_kib_is_refused_at_start() -> None:
    env = SfnTestEnvironment()
    with pytest.raises(ExecutionStateError, match="the limit is 262,144"):
        env.run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"x": "y" * 262_144})


# --- store compatibility ----------------------------------------------------------------------


def test_a_database_with_the_old_options_column_still_reads_and_writes(tmp_path: Path) -> None:
    # Databases made before ExecutionRecord.options was dropped have an extra NOT NULL column with
    # a default; the store names its columns, so such a file keeps working.
    import sqlite3

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE executions (
            arn TEXT PRIMARY KEY, name TEXT NOT NULL, state_machine_arn TEXT NOT NULL,
            state_machine_name TEXT NOT NULL, definition TEXT NOT NULL, input TEXT NOT NULL,
            status TEXT NOT NULL, start_date REAL NOT NULL, stop_date REAL, output TEXT, error TEXT,
            cause TEXT, redrive_count INTEGER NOT NULL DEFAULT 0, redrive_date REAL,
            abort_requested INTEGER NOT NULL DEFAULT 0, options TEXT NOT NULL DEFAULT '{}'
        );
        INSERT INTO executions (arn, name, state_machine_arn, state_machine_name, definition, input, status,
                                start_date, options)
        VALUES ('arn:old', 'old', 'arn:sm', 'StateMachine', '{}', '{}', 'SUCCEEDED', 1.0, '{"x":1}');
    """)
    db.commit()
    db.close()
    store = SqliteStore(path)
    try:
        assert store.get("arn:old").status == "SUCCEEDED"
        engine = Engine(store=store, clock=FakeClock(), ids=IdSource(1))
        result = asyncio.run(engine.start({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, {"a": 1}))
        assert result.succeeded
        assert {r.arn for r in store.list_executions()} == {"arn:old", result.arn}
    finally:
        store.close()


# --- task invokers: plain functions and coroutine functions ------------------------------------

TASK_MACHINE = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": TASK, "End": True}}}


def test_a_plain_function_invoker_runs_the_task() -> None:
    def invoke(call: TaskCall) -> Any:
        return {"echo": call.parameters, "state": call.state_name}

    result = SfnTestEnvironment(task_invoker=invoke).run(TASK_MACHINE, {"a": 1})
    assert result.succeeded, (result.error, result.cause)
    assert result.output == {"echo": {"a": 1}, "state": "T"}


def test_a_coroutine_function_invoker_runs_the_task() -> None:
    async def invoke(call: TaskCall) -> Any:
        await asyncio.sleep(0)
        return {"echo": call.parameters}

    result = SfnTestEnvironment(task_invoker=invoke).run(TASK_MACHINE, {"a": 1})
    assert result.succeeded, (result.error, result.cause)
    assert result.output == {"echo": {"a": 1}}


def test_a_plain_function_invoker_error_is_the_tasks_error() -> None:
    def invoke(call: TaskCall) -> Any:
        raise StatesError("Boom", "it broke", in_state=False)

    result = SfnTestEnvironment(task_invoker=invoke).run(TASK_MACHINE, {})
    assert (result.status, result.error, result.cause) == ("FAILED", "Boom", "it broke")


def test_a_plain_function_invoker_completes_a_callback_task() -> None:
    engine = Engine(clock=FakeClock(), ids=IdSource(3))

    def invoke(call: TaskCall) -> None:  # hands the token on, like a queue would
        assert call.task_token is not None
        engine.send_task_success(call.task_token, {"done": True})

    engine.task_invoker = invoke
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": TASK + ".waitForTaskToken",
                                                   "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}}
    result = asyncio.run(engine.start(definition, {}))
    assert result.succeeded and result.output == {"done": True}
