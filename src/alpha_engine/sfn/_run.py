"""The run/checkpoint core: one execution driven through its states, durably.

Each state of a run is identified by its position (``key``): the path of enclosing Parallel
branches / Map iterations, the state name and how many times this frame entered it
(``/Par#0/b1/Work#2``). When a state completes, its outcome (next state, output, assigned
variables) is checkpointed with its history events in one store transaction. Resume (after a
crash) and redrive (after a failure) re-walk the machine from the start and *replay* checkpointed
outcomes instead of executing those states again, so a completed Task is never run twice and a
failed Parallel/Map re-runs only its failed branches/iterations.

:class:`_Run` owns the history (event ids, ``previousEventId`` chains, flushing), the state-entry
bookkeeping (context object, payload limits, AWS's in-state error prefix), the input/output
processing every state shares, and the Retry/Catch loop. What each state type *does* lives in
:mod:`._states`; starting, resuming, redriving and stopping executions lives in :mod:`._lifecycle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._arn import ROLE_ARN
from ._clock import format_timestamp
from ._errors import SfnError, StatesError
from ._history import details_key
from ._json import compact_json
from ._jsonata import JsonataScope
from ._jsonpath import PathNotFound, format_no_results
from ._model import DEFAULT, DISCARD, Catcher, State, StateMachine
from ._retry import backoff_seconds, match_catcher, match_retrier
from ._sources import use_sources
from ._store import ExecutionRecord
from ._template import Scope
from ._vocabulary import ERROR_QUERY_EVALUATION

if TYPE_CHECKING:
    from ._lifecycle import Engine

__all__ = [
    "PAYLOAD_LIMIT_BYTES",
    "ExecutionAborted",
    "ExecutionResult",
    "ExecutionTimedOut",
    "Frame",
    "Run",
    "StateHandler",
    "StateOutcome",
    "TaskCall",
    "TaskInvoker",
    "state_context",
]

PAYLOAD_LIMIT_BYTES = 262_144
_FIELD_RE = re.compile(r"specified for the field '([^']*)'")
# The state types that only contain others: not listed among the states a stopped run was running.
_CONTAINER_TYPES = frozenset({"Parallel", "Map"})

# (next state or None at the end, output, variables the state assigned)
StateOutcome = tuple[str | None, Any, dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class TaskCall:
    """What the engine hands to the Task invoker."""

    resource: str
    parameters: Any
    execution_arn: str
    state_name: str
    task_token: str | None
    timeout_seconds: float | None
    credentials: Any = None
    state_key: str = ""  # the state's position in the run (``/Par#0/b1/Work#0``), for task leases


#: Runs a Task resource: a plain function or a coroutine function, ``(TaskCall) -> result``.
TaskInvoker = Callable[[TaskCall], Any]


@dataclass(frozen=True)
class ExecutionResult:
    """The end of one execution (or where it stopped)."""

    arn: str
    name: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    # The signal that stopped the engine driving it (ABORTED), if one did: see LocalRuntime.
    signal: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class ExecutionAborted(Exception):
    """A StopExecution was requested: the run ends ABORTED."""


class ExecutionTimedOut(Exception):
    """The state machine's TimeoutSeconds passed: the run ends TIMED_OUT."""


@dataclass(slots=True)
class Frame:
    """Where a machine (the top level, a Parallel branch, a Map iteration) is in its run."""

    key: str
    variables: MutableMapping[str, Any]
    visits: dict[str, int] = field(default_factory=dict)
    last_event: int = 0
    map_item: dict[str, Any] | None = None
    entered_id: int = 0  # id of the StateEntered event of the state this frame is running
    silent: bool = False  # a Distributed Map child: its events belong to the child execution


@contextlib.contextmanager
def state_context(arn: str, state: str) -> Iterator[None]:
    """Attach the execution and state to any non-ASL SfnError raised inside a state."""
    try:
        yield
    except (StatesError, ExecutionAborted, ExecutionTimedOut, asyncio.CancelledError):
        raise
    except SfnError as exc:
        exc.add_note(f"while running state '{state}' of {arn}")
        raise


#: What runs one state type: ``(run, state, raw input, frame, context object, key) -> outcome``.
StateHandler = Callable[["Run", State, Any, Frame, dict[str, Any], str], Awaitable[StateOutcome]]


class Run:
    """One execution being driven by this process (a start, a resume or a redrive)."""

    def __init__(self, engine: Engine, record: ExecutionRecord, machine: StateMachine,
                 replay: dict[str, Any], first_event_id: int,
                 handlers: Mapping[str, StateHandler]) -> None:
        self.engine = engine
        self.handlers = handlers
        self.record = record
        self.arn = record.arn
        self.machine = machine
        self.store = engine.store
        self.clock = engine.clock
        self.replay = replay
        self.next_id = first_event_id
        self.pending: list[dict[str, Any]] = []
        self.deadline: datetime | None = None
        self.exec_context = {
            "Id": record.arn,
            "Input": json.loads(record.input),
            "Name": record.name,
            "RoleArn": ROLE_ARN,
            "StartTime": format_timestamp(datetime.fromtimestamp(record.start_date, self.clock.now().tzinfo)),
            "RedriveCount": record.redrive_count,
        }
        if record.redrive_date is not None:
            self.exec_context["RedriveTime"] = format_timestamp(
                datetime.fromtimestamp(record.redrive_date, self.clock.now().tzinfo)
            )
        self.sm_context = {"Id": record.state_machine_arn, "Name": record.state_machine_name}
        self.transitions = 0
        self._running: dict[str, int] = {}  # state name -> how many of its visits are in flight
        self._body: asyncio.Future[Any] | None = None
        self._abort: tuple[str | None, str | None] | None = None

    # -- stopping from outside ------------------------------------------------------------------
    def running_states(self) -> list[str]:
        """The (non-container) states in flight now, in the order they were entered."""
        return list(self._running)

    def abort(self, error: str | None = None, cause: str | None = None) -> None:
        """Stop this run now: every state in flight is cancelled (a binding stops its process), and the
        run ends ABORTED with ``error``/``cause`` in its ``ExecutionAborted`` event. Idempotent."""
        if self._abort is None:
            self._abort = (error, cause)
        if self._body is not None:
            self._body.cancel()

    # -- events ---------------------------------------------------------------------------------
    def emit(self, frame: Frame | None, event_type: str, details: dict[str, Any] | None = None) -> int:
        if frame is not None and frame.silent:
            return frame.last_event
        event_id = self.next_id
        self.next_id += 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": frame.last_event if frame is not None else 0,
            "timestamp": self.clock.now().timestamp(),
            "type": event_type,
        }
        if details is not None:
            event[details_key(event_type)] = details
        if frame is not None:
            frame.last_event = event_id
        self.pending.append(event)
        return event_id

    def flush(self, step: tuple[str, Any] | None = None) -> None:
        events, self.pending = self.pending, []
        self.store.append(self.arn, events, step)
        listener = self.engine.listener
        if listener is not None:
            for event in events:
                listener(self.arn, event)

    def checkpoint(self, key: str, next_name: str | None, output: Any, assigned: dict[str, Any] | None) -> None:
        self.transitions += 1
        self.flush((key, [next_name, output, assigned]))

    # -- top level ------------------------------------------------------------------------------
    async def run(self, input_value: Any, *, fresh: bool) -> ExecutionResult:
        """Drive the execution to its end (or to where it stops); returns how it ended."""
        # Intrinsics and JSONata read time and entropy from this execution's engine (see _sources).
        with use_sources(self.clock, self.engine.ids):
            return await self._run(input_value, fresh=fresh)

    async def _run(self, input_value: Any, *, fresh: bool) -> ExecutionResult:
        frame = Frame(key="", variables={})
        if fresh:
            self.emit(None, "ExecutionStarted", {
                "input": self.record.input, "inputDetails": {"truncated": False}, "roleArn": ROLE_ARN,
            })
            self.flush()
        if self.machine.timeout_seconds is not None:
            base = self.record.redrive_date if self.record.redrive_date is not None else self.record.start_date
            self.deadline = datetime.fromtimestamp(base, self.clock.now().tzinfo) + timedelta(
                seconds=self.machine.timeout_seconds
            )
        self._body = asyncio.ensure_future(self._run_body(input_value, frame))
        if self._abort is not None:  # stopped before it started
            self._body.cancel()
        try:
            output = await self._body
        except StatesError as exc:
            return self.finish_failed(exc)
        except ExecutionTimedOut:
            self.emit(None, "ExecutionTimedOut", {})
            return self.finish("TIMED_OUT")
        except ExecutionAborted:
            self.emit(None, "ExecutionAborted", {})
            return self.finish("ABORTED")
        except asyncio.CancelledError:
            if self._abort is None:
                raise  # cancelled from outside, not stopped by abort()
            error, cause = self._abort
            details: dict[str, Any] = {}
            if error is not None:
                details["error"] = error
            if cause is not None:
                details["cause"] = cause
            self.emit(None, "ExecutionAborted", details)
            result = self.finish("ABORTED", error=error, cause=cause)
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # a nested execution whose parent is being stopped too: recorded, now let it unwind
            return result
        except SfnError:
            raise
        except Exception as exc:  # an engine defect must end the execution, never leave it RUNNING
            detail = "".join(traceback.format_exception(exc))[-4000:]
            return self.finish_failed(StatesError("States.Runtime", f"internal engine error: {detail}",
                                                  in_state=False))
        text = compact_json(output)
        if len(text.encode()) > PAYLOAD_LIMIT_BYTES:
            return self.finish_failed(StatesError(
                "States.DataLimitExceeded",
                "The state/task returned a result with a size exceeding the maximum number of bytes service limit.",
                in_state=False,
            ))
        self.emit(frame, "ExecutionSucceeded", {"output": text, "outputDetails": {"truncated": False}})
        return self.finish("SUCCEEDED", output=output, output_text=text)

    async def _run_body(self, input_value: Any, frame: Frame) -> Any:
        if self.deadline is None:
            return await self.run_machine(self.machine, input_value, frame)
        remaining = max(0.0, (self.deadline - self.clock.now()).total_seconds())
        try:
            return await asyncio.wait_for(self.run_machine(self.machine, input_value, frame), timeout=remaining + 0.05)
        except TimeoutError:
            raise ExecutionTimedOut() from None

    def finish_failed(self, exc: StatesError) -> ExecutionResult:
        details: dict[str, Any] = {}
        if exc.error is not None:
            details["error"] = exc.error
        if exc.cause is not None:
            details["cause"] = exc.cause
        self.emit(None, "ExecutionFailed", details)
        return self.finish("FAILED", error=exc.error, cause=exc.cause)

    def finish(self, status: str, output: Any = None, output_text: str | None = None,
               error: str | None = None, cause: str | None = None) -> ExecutionResult:
        self.flush()
        stopped = self.clock.now().timestamp()
        self.store.update(self.arn, status=status, stop_date=stopped, output=output_text, error=error, cause=cause)
        # No attempt of a finished execution may act for it any more (see _leases).
        self.store.end_leases(self.arn, stopped, reason=f"execution {self.record.name} is {status}")
        return ExecutionResult(self.arn, self.record.name, status, output, error, cause)

    # -- a (sub-)machine --------------------------------------------------------------------------
    async def run_machine(self, machine: StateMachine, data: Any, frame: Frame) -> Any:
        states = machine.states
        name = machine.start_at
        replay = self.replay
        while True:
            state = states[name]
            visit = frame.visits.get(name, 0)
            frame.visits[name] = visit + 1
            key = f"{frame.key}/{name}#{visit}"
            done = replay.get(key) if replay else None
            if done is not None:
                next_name, data, assigned = done
                if assigned:
                    frame.variables.update(assigned)
            else:
                with state_context(self.arn, name):
                    next_name, data, assigned = await self.run_state(state, data, frame, key)
                if assigned:
                    frame.variables.update(assigned)
                self.checkpoint(key, next_name, data, assigned)
            if next_name is None:
                return data
            name = next_name

    def context(self, state: State, entered: float, frame: Frame) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.exec_context,
            "State": {"Name": state.name, "EnteredTime": _iso(entered)},
            "StateMachine": self.sm_context,
        }
        if frame.map_item is not None:
            ctx["Map"] = {"Item": frame.map_item}
        return ctx

    async def run_state(self, state: State, raw: Any, frame: Frame, key: str
                        ) -> tuple[str | None, Any, dict[str, Any] | None]:
        if self.engine.abort_check and self.store.abort_requested(self.arn):
            raise ExecutionAborted()
        prefix = state.type  # history event names start with the state type: PassStateEntered...
        entered = self.clock.now().timestamp()
        entered_id = self.emit(frame, f"{prefix}StateEntered", {
            "input": compact_json(raw), "inputDetails": {"truncated": False}, "name": state.name,
        })
        frame.entered_id = entered_id
        ctx = self.context(state, entered, frame)
        leaf = state.type not in _CONTAINER_TYPES
        if leaf:
            self._running[state.name] = self._running.get(state.name, 0) + 1
        try:
            handler = self.handlers[state.type]
            next_name, output, assigned = await handler(self, state, raw, frame, ctx, key)
        except StatesError as exc:
            self.annotate(exc, state, frame)
            raise
        finally:
            if leaf:
                left = self._running.pop(state.name) - 1
                if left:
                    self._running[state.name] = left
        if state.type != "Fail":
            text = compact_json(output)
            if len(text.encode()) > PAYLOAD_LIMIT_BYTES:
                raise StatesError(
                    "States.DataLimitExceeded",
                    f"The state/task '{state.name}' returned a result with a size exceeding the maximum "
                    "number of bytes service limit.",
                    in_state=False,
                )
            details: dict[str, Any] = {"name": state.name, "output": text, "outputDetails": {"truncated": False}}
            if assigned:
                details["assignedVariables"] = {k: compact_json(v) for k, v in assigned.items()}
                details["assignedVariablesDetails"] = {"truncated": False}
            self.emit(frame, f"{prefix}StateExited", details)
        return next_name, output, assigned

    def annotate(self, exc: StatesError, state: State, frame: Frame) -> None:
        """Give an in-state error AWS's cause prefix and its EvaluationFailed event (once)."""
        if not exc.in_state:
            return
        exc.in_state = False
        if exc.cause is not None and not exc.cause.startswith("An error occurred"):
            exc.cause = (
                f"An error occurred while executing the state '{state.name}' "
                f"(entered at the event id #{frame.entered_id}). {exc.cause}"
            )
        if exc.error == ERROR_QUERY_EVALUATION:
            match = _FIELD_RE.search(exc.cause or "")
            self.emit(frame, "EvaluationFailed", {
                "cause": exc.cause, "error": exc.error,
                "location": match.group(1).split("/")[0] if match else "", "state": state.name,
            })

    # -- shared I/O processing --------------------------------------------------------------------
    def effective_input(self, state: State, raw: Any, ctx: dict[str, Any], frame: Frame) -> Any:
        return _select(state.input_path, raw, ctx, frame)

    def apply_result_path(self, result_path: Any, raw: Any, result: Any) -> Any:
        if result_path is DEFAULT:
            return result
        if result_path is DISCARD:
            return raw
        try:
            return result_path.put(raw, result)
        except (PathNotFound, TypeError, ValueError, KeyError, IndexError) as exc:
            raise StatesError(
                "States.ResultPathMatchFailure",
                f"Unable to apply ResultPath '{result_path.text}' to input '{compact_json(raw)}': {exc}",
            ) from None

    def apply_output_path(self, state: State, value: Any, ctx: dict[str, Any], frame: Frame) -> Any:
        return _select(state.output_path, value, ctx, frame)

    def finish_result(self, state: State, raw: Any, result: Any, frame: Frame, ctx: dict[str, Any]
                      ) -> tuple[Any, dict[str, Any] | None]:
        """ResultSelector, ResultPath, OutputPath (JSONPath) or Output (JSONata), then Assign."""
        variables = frame.variables
        if state.jsonata:
            scope = JsonataScope({"input": raw, "context": ctx, "result": result}, variables)
            assigned = self.jsonata_assign(state.assign, scope)
            output = state.output(scope) if state.output is not None else result
            return output, assigned
        if state.result_selector is not None:
            result = state.result_selector(Scope(result, ctx, variables))
        assigned = state.assign(Scope(result, ctx, variables)) if state.assign is not None else None
        combined = self.apply_result_path(state.result_path, raw, result)
        return self.apply_output_path(state, combined, ctx, frame), assigned

    def jsonata_assign(self, assign: Any, scope: JsonataScope) -> dict[str, Any] | None:
        if assign is None:
            return None
        values = assign(scope)
        if not isinstance(values, dict):
            raise StatesError("States.QueryEvaluationError", "The Assign field must evaluate to an object.")
        return values

    # -- Retry / Catch ----------------------------------------------------------------------------
    async def with_retry_and_catch(
        self, state: State, raw: Any, frame: Frame, ctx: dict[str, Any],
        attempt: Callable[[int], Any], on_final_failure: Callable[[StatesError], Any] | None = None,
    ) -> tuple[str | None, Any, dict[str, Any] | None]:
        counts = [0] * len(state.retry)
        retry_count = 0
        while True:
            try:
                output, assigned = await attempt(retry_count)
                return (None if state.end else state.next), output, assigned
            except StatesError as exc:
                self.annotate(exc, state, frame)
                retrier_index = match_retrier(state.retry, exc.error)
                if retrier_index is not None:
                    retrier = state.retry[retrier_index]
                    if counts[retrier_index] < retrier.max_attempts:
                        delay = backoff_seconds(retrier, counts[retrier_index], self.engine.ids.random)
                        counts[retrier_index] += 1
                        retry_count += 1
                        self.flush()
                        await self.sleep_until(self.clock.now() + timedelta(seconds=delay))
                        continue
                if on_final_failure is not None:
                    on_final_failure(exc)
                catcher = match_catcher(state.catch, exc.error)
                if catcher is None:
                    raise
                return self.catch_output(state, catcher, raw, exc, frame, ctx)

    def catch_output(self, state: State, catcher: Catcher, raw: Any, exc: StatesError, frame: Frame,
                     ctx: dict[str, Any]) -> tuple[str, Any, dict[str, Any] | None]:
        error_output = exc.to_output()
        if state.jsonata:
            scope = JsonataScope({"input": raw, "context": ctx, "errorOutput": error_output}, frame.variables)
            assigned = self.jsonata_assign(catcher.assign, scope)
            output = catcher.output(scope) if catcher.output is not None else error_output
        else:
            assigned = (
                catcher.assign(Scope(error_output, ctx, frame.variables)) if catcher.assign is not None else None
            )
            output = self.apply_result_path(catcher.result_path, raw, error_output)
        return catcher.next, output, assigned

    async def sleep_until(self, moment: datetime) -> None:
        if self.deadline is not None and moment >= self.deadline:
            await self.clock.sleep_until(self.deadline)
            raise ExecutionTimedOut()
        await self.clock.sleep_until(moment)


def _iso(epoch: float) -> str:
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))


def _select(path: Any, value: Any, ctx: dict[str, Any], frame: Frame) -> Any:
    """InputPath/OutputPath: absent = the value, null = {}, else the path's match (States.Runtime
    when it matches nothing)."""
    if path is DEFAULT:
        return value
    if path is DISCARD:
        return {}
    try:
        return path.find(Scope(value, ctx, frame.variables))
    except PathNotFound:
        raise StatesError("States.Runtime", format_no_results(path.text)) from None
