"""Executions from the outside: start, resume after a crash, redrive after a failure, stop, and
the callbacks that complete ``.waitForTaskToken`` tasks.

One :class:`Engine` hosts many executions on one store, clock and id source. It compiles
definitions (cached), creates execution records (ARNs from :mod:`._arn`, STANDARD or EXPRESS),
hands each run to :class:`~._run.Run` with the state handlers of :mod:`._states`, and invokes Task
resources through the ``task_invoker`` it was given: a plain function or a coroutine function.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

from ._arn import StateMachineType, execution_arn, is_express_execution_arn, state_machine_arn
from ._clock import Clock, IdSource, SystemClock
from ._errors import BindingError, ExecutionStateError, ExpressionError, StatesError
from ._history import details_key
from ._json import compact_json
from ._leases import LEASE_REVOKED
from ._model import StateMachine, parse_state_machine
from ._run import PAYLOAD_LIMIT_BYTES, ExecutionResult, Run, TaskCall, TaskInvoker
from ._states import STATE_HANDLERS
from ._store import ExecutionRecord, ExecutionStore, MemoryStore

__all__ = ["Engine"]

# A Task without TimeoutSeconds may run this long (AWS's default is a year; this is "unbounded").
DEFAULT_TASK_TIMEOUT = 99_999_999.0


class Engine:
    """Hosts executions: start, resume after a crash, redrive after a failure, stop.

    Parameters
    ----------
    store : ExecutionStore, optional
        Where executions, history and checkpoints live (default: in memory).
    clock : Clock, optional
        Time for Waits, retry backoff and timestamps (default: the system clock).
    ids : IdSource, optional
        Execution names, task tokens, jitter (default: unseeded).
    task_invoker : callable, optional
        ``(TaskCall) -> result`` that runs Task resources (the local service bindings): a plain
        function or a coroutine function. A plain function runs on the event loop thread, so a
        Task's TimeoutSeconds cannot interrupt it; give long work to a coroutine function.
    listener : callable, optional
        ``(execution ARN, event)``, called for every history event once it is stored.
    abort_check : bool
        Look for a StopExecution request (another process may have made it) before each state.
    """

    def __init__(self, store: ExecutionStore | None = None, clock: Clock | None = None,
                 ids: IdSource | None = None, task_invoker: TaskInvoker | None = None,
                 listener: Callable[[str, dict[str, Any]], None] | None = None,
                 abort_check: bool = False) -> None:
        self.store = store if store is not None else MemoryStore()
        self.clock = clock or SystemClock()
        self.ids = ids or IdSource()
        self.task_invoker = task_invoker
        self.listener = listener
        self.abort_check = abort_check
        self._machines: dict[str, StateMachine] = {}
        self._tokens: dict[str, asyncio.Future[Any]] = {}
        self._runs: set[Run] = set()  # the runs this engine is driving now
        # Set by stop_running: (error, cause from the running states); runs started meanwhile stop at once.
        self._stopping: tuple[str, Callable[[list[str]], str]] | None = None

    # -- definitions ------------------------------------------------------------------------------
    def compile(self, definition: Mapping[str, Any] | str) -> StateMachine:
        """Parse a definition (cached by its canonical JSON text)."""
        text = definition if isinstance(definition, str) else compact_json(definition)
        machine = self._machines.get(text)
        if machine is None:
            raw = json.loads(text)
            try:
                machine = parse_state_machine(raw)
            except ExpressionError:
                raise
            except (KeyError, TypeError, AttributeError) as exc:
                from ._validator import check_definition

                check_definition(raw)  # raises DefinitionInvalid with every problem
                raise ExecutionStateError(f"definition could not be compiled: {exc!r}") from exc
            self._machines[text] = machine
        return machine

    # -- lifecycle --------------------------------------------------------------------------------
    def create_execution(self, definition: Mapping[str, Any] | str, input_value: Any = None, *,
                         name: str | None = None, state_machine_name: str = "StateMachine",
                         state_machine_type: StateMachineType = "STANDARD") -> ExecutionRecord:
        """Record a new RUNNING execution (not started yet: see :meth:`run_created`).

        An EXPRESS execution gets AWS's express ARN,
        ``arn:aws:states:<region>:<account>:express:<stateMachineName>:<executionName>:<id>``, which
        is also its ``$$.Execution.Id``; its state machine ARN is the same as a STANDARD one's.
        """
        text = definition if isinstance(definition, str) else compact_json(definition)
        self.compile(text)
        name = name or self.ids.uuid()
        sm_arn = state_machine_arn(state_machine_name)
        express_id = self.ids.uuid() if state_machine_type == "EXPRESS" else None
        arn = execution_arn(state_machine_name, name, express_id=express_id)
        input_text = compact_json({} if input_value is None else input_value)
        size = len(input_text.encode())
        if size > PAYLOAD_LIMIT_BYTES:
            raise ExecutionStateError(
                f"execution input is {size:,} bytes; the limit is {PAYLOAD_LIMIT_BYTES:,} (AWS rejects it at "
                "StartExecution)"
            )
        record = ExecutionRecord(
            arn=arn, name=name, state_machine_arn=sm_arn, state_machine_name=state_machine_name,
            definition=text, input=input_text, status="RUNNING",
            start_date=self.clock.now().timestamp(),
        )
        self.store.create(record)
        return record

    async def start(self, definition: Mapping[str, Any] | str, input_value: Any = None, *,
                    name: str | None = None, state_machine_name: str = "StateMachine",
                    state_machine_type: StateMachineType = "STANDARD") -> ExecutionResult:
        """Start an execution and run it to its end."""
        record = self.create_execution(definition, input_value, name=name, state_machine_name=state_machine_name,
                                       state_machine_type=state_machine_type)
        return await self.run_created(record)

    async def run_created(self, record: ExecutionRecord) -> ExecutionResult:
        """Run an execution made by :meth:`create_execution` from its first state to its end."""
        return await self._drive(record, fresh=True)

    async def resume(self, arn: str) -> ExecutionResult:
        """Continue a RUNNING execution whose engine died, from its last checkpoint."""
        record = self.store.get(arn)
        if record.status != "RUNNING":
            raise ExecutionStateError(f"execution {arn} is {record.status}, not RUNNING: nothing to resume")
        return await self._drive(record, fresh=False)

    async def redrive(self, arn: str) -> ExecutionResult:
        """AWS RedriveExecution: continue a FAILED/TIMED_OUT/ABORTED execution from where it stopped."""
        record = self.store.get(arn)
        if is_express_execution_arn(arn):
            # RedriveExecution "is not supported by EXPRESS state machines" (AWS API reference).
            raise ExecutionStateError(f"execution {arn} is an EXPRESS execution: only STANDARD executions "
                                      "can be redriven")
        if record.status not in ("FAILED", "TIMED_OUT", "ABORTED"):
            raise ExecutionStateError(
                f"execution {arn} is {record.status}: only FAILED, TIMED_OUT or ABORTED executions can be redriven"
            )
        now = self.clock.now().timestamp()
        count = record.redrive_count + 1
        self.store.update(arn, status="RUNNING", stop_date=None, output=None, error=None, cause=None,
                          redrive_count=count, redrive_date=now, abort_requested=0)
        record = self.store.get(arn)
        return await self._drive(record, fresh=False, redriven=True)

    async def _drive(self, record: ExecutionRecord, *, fresh: bool, redriven: bool = False) -> ExecutionResult:
        machine = self.compile(record.definition)
        replay = {} if fresh else self.store.steps(record.arn)
        first_id = 1 if fresh else len(self.store.events(record.arn)) + 1
        run = Run(self, record, machine, replay, first_id, STATE_HANDLERS)
        if redriven:
            run.emit(None, "ExecutionRedriven", {"redriveCount": record.redrive_count})
            run.flush()
        self._runs.add(run)
        if self._stopping is not None:
            error, cause = self._stopping
            run.abort(error, cause([]))
        try:
            return await run.run(json.loads(record.input), fresh=fresh)
        finally:
            self._runs.discard(run)

    def stop_running(self, error: str, cause: Callable[[list[str]], str]) -> None:
        """Abort every execution this engine is driving, now, and any it starts until :meth:`clear_stop`.

        Each run's states in flight are cancelled (the bindings stop their processes) and it ends
        ABORTED with ``error`` and ``cause(names of the states that were running)``.
        """
        self._stopping = (error, cause)
        for run in list(self._runs):
            run.abort(error, cause(run.running_states()))

    def clear_stop(self) -> None:
        """Let the engine start runs again after :meth:`stop_running`."""
        self._stopping = None

    def request_stop(self, arn: str) -> None:
        """Mark an execution for abort; its engine stops it at the next state or wait."""
        record = self.store.get(arn)
        if record.status != "RUNNING":
            raise ExecutionStateError(f"execution {arn} is {record.status}, not RUNNING")
        self.store.update(arn, abort_requested=1)

    def stop_orphan(self, arn: str, error: str | None = None, cause: str | None = None) -> None:
        """Abort a RUNNING execution that no engine is driving (e.g. after a crash)."""
        record = self.store.get(arn)
        if record.status != "RUNNING":
            raise ExecutionStateError(f"execution {arn} is {record.status}, not RUNNING")
        events = self.store.events(arn)
        details: dict[str, Any] = {}
        if error:
            details["error"] = error
        if cause:
            details["cause"] = cause
        event = {"id": len(events) + 1, "previousEventId": len(events), "timestamp": self.clock.now().timestamp(),
                 "type": "ExecutionAborted", details_key("ExecutionAborted"): details}
        self.store.append(arn, [event])
        stopped = self.clock.now().timestamp()
        self.store.update(arn, status="ABORTED", stop_date=stopped, error=error, cause=cause)
        # Its attempts may still be running somewhere: from now on their writes are refused.
        self.store.end_leases(arn, stopped, status=LEASE_REVOKED, reason=f"execution {record.name} was stopped (ABORTED)")

    # -- tasks ------------------------------------------------------------------------------------
    async def invoke_task(self, run: Run, call: TaskCall, pattern: str, heartbeat: float | None) -> Any:
        """Run one Task attempt: the invoker's result, or a ``StatesError`` AWS would report."""
        if self.task_invoker is None:
            raise BindingError(f"no Task invoker configured: cannot run resource {call.resource}")
        timeout = call.timeout_seconds if call.timeout_seconds is not None else DEFAULT_TASK_TIMEOUT
        if pattern == "callback":
            assert call.task_token is not None
            self.store.put_token(call.task_token, run.arn)
            run.flush()
            return await self._await_callback(call, timeout, heartbeat)
        try:
            return await asyncio.wait_for(self._call_invoker(call), timeout=timeout)
        except TimeoutError:
            raise StatesError("States.Timeout", None, in_state=False) from None
        except BindingError as exc:
            raise StatesError("States.Runtime", str(exc), in_state=False) from exc

    async def _call_invoker(self, call: TaskCall) -> Any:
        """The invoker's result, whether it is a plain function or a coroutine function."""
        assert self.task_invoker is not None
        result = self.task_invoker(call)
        if inspect.isawaitable(result):
            return await result
        return result

    async def _await_callback(self, call: TaskCall, timeout: float, heartbeat: float | None) -> Any:
        assert call.task_token is not None and self.task_invoker is not None
        token = call.task_token
        await self._call_invoker(call)  # hands the token to whoever will call back
        loop = asyncio.get_running_loop()
        started = loop.time()
        last_beat = started
        seen_beat = None
        while True:
            row = self.store.token(token)
            if row is not None:
                if row["status"] == "SUCCEEDED":
                    return json.loads(row["output"]) if row["output"] is not None else None
                if row["status"] == "FAILED":
                    raise StatesError(row["error"] or "States.TaskFailed", row["cause"], in_state=False)
                if row.get("heartbeat") != seen_beat:
                    seen_beat = row.get("heartbeat")
                    last_beat = loop.time()
            now = loop.time()
            if now - started >= timeout:
                raise StatesError("States.Timeout", None, in_state=False)
            if heartbeat is not None and now - last_beat >= heartbeat:
                raise StatesError("States.HeartbeatTimeout", None, in_state=False)
            future = self._tokens.setdefault(token, loop.create_future())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), timeout=0.2)
            if future.done():
                self._tokens.pop(token, None)

    def send_task_success(self, token: str, output: Any) -> None:
        self.store.complete_token(token, "SUCCEEDED", output=compact_json(output))
        self._wake(token)

    def send_task_failure(self, token: str, error: str | None = None, cause: str | None = None) -> None:
        self.store.complete_token(token, "FAILED", error=error, cause=cause)
        self._wake(token)

    def send_task_heartbeat(self, token: str) -> None:
        self.store.heartbeat_token(token, self.clock.now().timestamp())
        self._wake(token)

    def _wake(self, token: str) -> None:
        future = self._tokens.get(token)
        if future is not None and not future.done():
            future.set_result(None)
