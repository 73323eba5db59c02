"""The interpreter: runs a parsed state machine on an asyncio loop, durably.

One :class:`Engine` hosts many executions. Each state of a run is identified by its position
(``key``): the path of enclosing Parallel branches / Map iterations, the state name and how many
times this frame entered it. When a state completes, its outcome (next state, output, assigned
variables) is checkpointed with its history events in one store transaction. Resume (after a
crash) and redrive (after a failure) re-walk the machine from the start and *replay* checkpointed
outcomes instead of executing those states again, so a completed Task is never run twice and a
failed Parallel/Map re-runs only its failed branches/iterations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._clock import Clock, IdSource, SystemClock, format_timestamp, parse_timestamp
from ._errors import (
    BindingError,
    ExecutionStateError,
    ExpressionError,
    SfnError,
    StatesError,
)
from ._history import details_key
from ._json import compact_json, json_type_name
from ._jsonata import JsonataScope
from ._jsonpath import PathNotFound, format_no_results
from ._model import DEFAULT, DISCARD, Catcher, Retrier, State, StateMachine, parse_state_machine
from ._store import ExecutionRecord, ExecutionStore, MemoryStore
from ._template import Scope
from ._vocabulary import TIMESTAMP_RE
from .services._base import split_resource

__all__ = ["Engine", "ExecutionResult", "TaskInvoker", "PAYLOAD_LIMIT_BYTES"]

PAYLOAD_LIMIT_BYTES = 262_144
ACCOUNT = "111111111111"  # the account id local ARNs carry (as in recorded AWS fixtures)
REGION = "us-east-1"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/alpha-engine-local"
DEFAULT_TASK_TIMEOUT = 99_999_999.0
INLINE_MAP_CONCURRENCY_CAP = 40
_NOT_CATCHABLE_BY_ALL = frozenset({"States.Runtime", "States.DataLimitExceeded"})
_FIELD_RE = re.compile(r"specified for the field '([^']*)'")

TaskInvoker = Callable[["TaskCall"], Any]  # async: (TaskCall) -> result


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


@dataclass(frozen=True)
class ExecutionResult:
    """The end of one execution (or where it stopped)."""

    arn: str
    name: str
    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class _ExecutionAborted(Exception):
    pass


class _ExecutionTimedOut(Exception):
    pass


@dataclass(slots=True)
class _Frame:
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
    except (StatesError, _ExecutionAborted, _ExecutionTimedOut, asyncio.CancelledError):
        raise
    except SfnError as exc:
        exc.add_note(f"while running state '{state}' of {arn}")
        raise


class _Run:
    """One execution being driven by this process (a start, a resume or a redrive)."""

    def __init__(self, engine: Engine, record: ExecutionRecord, machine: StateMachine,
                 replay: dict[str, Any], first_event_id: int) -> None:
        self.engine = engine
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
        self.durable = engine.store.durable
        self.transitions = 0

    # -- events ---------------------------------------------------------------------------------
    def emit(self, frame: _Frame | None, event_type: str, details: dict[str, Any] | None = None) -> int:
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
        frame = _Frame(key="", variables={})
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
        try:
            if self.deadline is not None:
                remaining = max(0.0, (self.deadline - self.clock.now()).total_seconds())
                body = self.run_machine(self.machine, input_value, frame)
                try:
                    output = await asyncio.wait_for(body, timeout=remaining + 0.05)
                except TimeoutError:
                    raise _ExecutionTimedOut() from None
            else:
                output = await self.run_machine(self.machine, input_value, frame)
        except StatesError as exc:
            return self.finish_failed(exc)
        except _ExecutionTimedOut:
            self.emit(None, "ExecutionTimedOut", {})
            return self.finish("TIMED_OUT")
        except _ExecutionAborted:
            self.emit(None, "ExecutionAborted", {})
            return self.finish("ABORTED")
        except SfnError:
            raise
        except Exception as exc:  # an engine defect must end the execution, never leave it RUNNING
            import traceback

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
        self.store.update(self.arn, status=status, stop_date=self.clock.now().timestamp(),
                          output=output_text, error=error, cause=cause)
        return ExecutionResult(self.arn, self.record.name, status, output, error, cause)

    # -- a (sub-)machine --------------------------------------------------------------------------
    async def run_machine(self, machine: StateMachine, data: Any, frame: _Frame) -> Any:
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

    def context(self, state: State, entered: float, frame: _Frame) -> dict[str, Any]:
        ctx: dict[str, Any] = {
            "Execution": self.exec_context,
            "State": {"Name": state.name, "EnteredTime": _iso(entered)},
            "StateMachine": self.sm_context,
        }
        if frame.map_item is not None:
            ctx["Map"] = {"Item": frame.map_item}
        return ctx

    async def run_state(self, state: State, raw: Any, frame: _Frame, key: str
                        ) -> tuple[str | None, Any, dict[str, Any] | None]:
        if self.engine.abort_check and self.store.abort_requested(self.arn):
            raise _ExecutionAborted()
        prefix = state.type  # history event names start with the state type: PassStateEntered...
        entered = self.clock.now().timestamp()
        entered_id = self.emit(frame, f"{prefix}StateEntered", {
            "input": compact_json(raw), "inputDetails": {"truncated": False}, "name": state.name,
        })
        frame.entered_id = entered_id
        ctx = self.context(state, entered, frame)
        try:
            handler = _HANDLERS[state.type]
            next_name, output, assigned = await handler(self, state, raw, frame, ctx, key)
        except StatesError as exc:
            self.annotate(exc, state, frame)
            raise
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

    def annotate(self, exc: StatesError, state: State, frame: _Frame) -> None:
        """Give an in-state error AWS's cause prefix and its EvaluationFailed event (once)."""
        if not exc.in_state:
            return
        exc.in_state = False
        if exc.cause is not None and not exc.cause.startswith("An error occurred"):
            exc.cause = (
                f"An error occurred while executing the state '{state.name}' "
                f"(entered at the event id #{frame.entered_id}). {exc.cause}"
            )
        if exc.error == "States.QueryEvaluationError":
            match = _FIELD_RE.search(exc.cause or "")
            self.emit(frame, "EvaluationFailed", {
                "cause": exc.cause, "error": exc.error,
                "location": match.group(1).split("/")[0] if match else "", "state": state.name,
            })

    # -- shared I/O processing --------------------------------------------------------------------
    def effective_input(self, state: State, raw: Any, ctx: dict[str, Any], frame: _Frame) -> Any:
        path = state.input_path
        if path is DEFAULT:
            return raw
        if path is DISCARD:
            return {}
        try:
            return path.find(Scope(raw, ctx, frame.variables))
        except PathNotFound:
            raise StatesError(
                "States.Runtime", format_no_results(path.text)
            ) from None

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

    def apply_output_path(self, state: State, value: Any, ctx: dict[str, Any], frame: _Frame) -> Any:
        path = state.output_path
        if path is DEFAULT:
            return value
        if path is DISCARD:
            return {}
        try:
            return path.find(Scope(value, ctx, frame.variables))
        except PathNotFound:
            raise StatesError(
                "States.Runtime", format_no_results(path.text)
            ) from None

    def finish_result(self, state: State, raw: Any, result: Any, frame: _Frame, ctx: dict[str, Any]
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
        self, state: State, raw: Any, frame: _Frame, ctx: dict[str, Any],
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
                retrier_index = _match_retrier(state.retry, exc.error)
                if retrier_index is not None:
                    retrier = state.retry[retrier_index]
                    if counts[retrier_index] < retrier.max_attempts:
                        delay = _backoff(retrier, counts[retrier_index], self.engine.ids)
                        counts[retrier_index] += 1
                        retry_count += 1
                        self.flush()
                        await self.sleep_until(self.clock.now() + timedelta(seconds=delay))
                        continue
                if on_final_failure is not None:
                    on_final_failure(exc)
                catcher = _match_catcher(state.catch, exc.error)
                if catcher is None:
                    raise
                return self.catch_output(state, catcher, raw, exc, frame, ctx)

    def catch_output(self, state: State, catcher: Catcher, raw: Any, exc: StatesError, frame: _Frame,
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
            raise _ExecutionTimedOut()
        await self.clock.sleep_until(moment)


# -- state handlers -----------------------------------------------------------------------------------

async def _pass(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                ) -> tuple[str | None, Any, dict[str, Any] | None]:
    nxt = None if st.end else st.next
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        assigned = run.jsonata_assign(st.assign, scope)
        return nxt, (st.output(scope) if st.output is not None else raw), assigned
    effective = run.effective_input(st, raw, ctx, frame)
    if st.parameters is not None:
        result = st.parameters(Scope(effective, ctx, frame.variables))
    elif st.result is not DEFAULT:
        result = st.result
    else:
        result = effective
    assigned = st.assign(Scope(result, ctx, frame.variables)) if st.assign is not None else None
    output = run.apply_output_path(st, run.apply_result_path(st.result_path, raw, result), ctx, frame)
    return nxt, output, assigned


async def _succeed(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                   ) -> tuple[str | None, Any, dict[str, Any] | None]:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        return None, (st.output(scope) if st.output is not None else raw), None
    return None, run.apply_output_path(st, run.effective_input(st, raw, ctx, frame), ctx, frame), None


async def _fail(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                ) -> tuple[str | None, Any, dict[str, Any] | None]:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        error = st.error(scope) if callable(st.error) else st.error
        cause = st.cause(scope) if callable(st.cause) else st.cause
    else:
        scope_p = Scope(raw, ctx, frame.variables)
        error = st.error_path(scope_p) if st.error_path is not None else st.error
        cause = st.cause_path(scope_p) if st.cause_path is not None else st.cause
    raise StatesError(error, cause, in_state=False)


async def _choice(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                  ) -> tuple[str | None, Any, dict[str, Any] | None]:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        for rule in st.choices:
            verdict = rule.predicate(scope)
            if not isinstance(verdict, bool):
                raise StatesError(
                    "States.QueryEvaluationError",
                    f"The Condition of a Choice rule must evaluate to a boolean, got {compact_json(verdict)}.",
                )
            if verdict:
                assigned = run.jsonata_assign(rule.assign, scope) or run.jsonata_assign(st.assign, scope)
                output = rule.output(scope) if rule.output is not None else (
                    st.output(scope) if st.output is not None else raw)
                return rule.next, output, assigned
        if st.default is None:
            raise StatesError("States.NoChoiceMatched", "No Matches!", in_state=False)
        assigned = run.jsonata_assign(st.assign, scope)
        return st.default, (st.output(scope) if st.output is not None else raw), assigned
    effective = run.effective_input(st, raw, ctx, frame)
    pscope = Scope(effective, ctx, frame.variables)
    for rule in st.choices:
        if rule.predicate(pscope):
            assigned = rule.assign(pscope) if rule.assign is not None else None
            if st.assign is not None:
                assigned = {**st.assign(pscope), **(assigned or {})}
            return rule.next, run.apply_output_path(st, effective, ctx, frame), assigned
    if st.default is None:
        raise StatesError("States.NoChoiceMatched", "No Matches!", in_state=False)
    assigned = st.assign(pscope) if st.assign is not None else None
    return st.default, run.apply_output_path(st, effective, ctx, frame), assigned


def _as_wait_seconds(value: Any, path_text: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StatesError("States.Runtime", f"The SecondsPath parameter cannot be parsed as a long value: "
                                            f"{path_text} == {compact_json(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise StatesError("States.Runtime",
                          f"The SecondsPath parameter cannot be parsed as a long value: {path_text} == {value}")
    if value < 0:
        raise StatesError("States.Runtime",
                          f"The SecondsPath parameter references a negative value: {path_text} == {int(value)}")
    return float(value)


def _parse_wait_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not TIMESTAMP_RE.fullmatch(value):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


async def _wait(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                ) -> tuple[str | None, Any, dict[str, Any] | None]:
    now = run.clock.now()
    deadline: datetime
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        if st.seconds is not None:
            seconds = st.seconds(scope) if callable(st.seconds) else st.seconds
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise StatesError("States.QueryEvaluationError",
                                  f"The Seconds field must be a non-negative integer, got {compact_json(seconds)}.")
            deadline = now + timedelta(seconds=float(seconds))
        else:
            stamp = st.timestamp(scope) if callable(st.timestamp) else st.timestamp
            moment = _parse_wait_timestamp(stamp)
            if moment is None:
                raise StatesError("States.QueryEvaluationError",
                                  "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                                  f"format string: {stamp}")
            deadline = moment
        assigned = run.jsonata_assign(st.assign, scope)
        output = st.output(scope) if st.output is not None else raw
    else:
        effective = run.effective_input(st, raw, ctx, frame)
        if st.seconds is not None:
            deadline = now + timedelta(seconds=float(st.seconds))
        elif st.timestamp is not None:
            moment = _parse_wait_timestamp(st.timestamp)
            if moment is None:
                raise StatesError("States.Runtime", f"The Timestamp field is not a valid timestamp: {st.timestamp}")
            deadline = moment
        elif st.seconds_path is not None:
            try:
                value = st.seconds_path.find(Scope(effective, ctx, frame.variables))
            except PathNotFound:
                raise StatesError("States.Runtime", "The SecondsPath parameter does not reference an input "
                                                    f"value: {st.seconds_path.text}") from None
            deadline = now + timedelta(seconds=_as_wait_seconds(value, st.seconds_path.text))
        else:
            assert st.timestamp_path is not None
            try:
                value = st.timestamp_path.find(Scope(effective, ctx, frame.variables))
            except PathNotFound:
                raise StatesError("States.Runtime", "The TimestampPath parameter does not reference an input "
                                                    f"value: {st.timestamp_path.text}") from None
            moment = _parse_wait_timestamp(value)
            if moment is None:
                raise StatesError(
                    "States.Runtime",
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                    f"format string: {st.timestamp_path.text} == {value}",
                )
            deadline = moment
        assigned = st.assign(Scope(effective, ctx, frame.variables)) if st.assign is not None else None
        output = run.apply_output_path(st, effective, ctx, frame)
    # The first deadline computed for this state is durable: a restarted engine waits for it.
    stamp_first = run.store.timer(run.arn, key, deadline.timestamp())
    deadline = datetime.fromtimestamp(stamp_first, deadline.tzinfo)
    run.flush()
    await run.sleep_until(deadline)
    return (None if st.end else st.next), output, assigned


async def _task(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                ) -> tuple[str | None, Any, dict[str, Any] | None]:
    resource, pattern = split_resource(st.resource)
    resource_short, resource_type = _resource_names(resource, pattern)

    async def attempt(retry_count: int) -> tuple[Any, dict[str, Any] | None]:
        actx = dict(ctx)
        actx["State"] = {**ctx["State"], "RetryCount": retry_count}
        token = run.engine.ids.uuid() if pattern == "callback" else None
        if token is not None:
            actx["Task"] = {"Token": token}
        if st.jsonata:
            scope = JsonataScope({"input": raw, "context": actx}, frame.variables)
            params = st.arguments(scope) if st.arguments is not None else raw
            timeout = st.timeout_seconds(scope) if callable(st.timeout_seconds) else st.timeout_seconds
            heartbeat = st.heartbeat_seconds(scope) if callable(st.heartbeat_seconds) else st.heartbeat_seconds
            credentials = st.credentials(scope) if st.credentials is not None else None
        else:
            effective = run.effective_input(st, raw, ctx, frame)
            pscope = Scope(effective, actx, frame.variables)
            params = st.parameters(pscope) if st.parameters is not None else effective
            timeout = _dynamic_seconds(st.timeout_seconds, st.timeout_seconds_path, pscope, "TimeoutSecondsPath")
            heartbeat = _dynamic_seconds(st.heartbeat_seconds, st.heartbeat_seconds_path, pscope,
                                         "HeartbeatSecondsPath")
            credentials = st.credentials(pscope) if st.credentials is not None else None
        scheduled: dict[str, Any] = {
            "resourceType": resource_type, "resource": resource_short, "region": REGION,
            "parameters": compact_json(params),
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        run.emit(frame, "TaskScheduled", scheduled)
        run.emit(frame, "TaskStarted", {"resourceType": resource_type, "resource": resource_short})
        run.flush()
        call = TaskCall(resource=st.resource, parameters=params, execution_arn=run.arn, state_name=st.name,
                        task_token=token, timeout_seconds=timeout, credentials=credentials)
        try:
            result = await run.engine.invoke_task(run, call, pattern, heartbeat)
        except StatesError as exc:
            details = {"resourceType": resource_type, "resource": resource_short, "error": exc.error}
            if exc.cause is not None:
                details["cause"] = exc.cause
            kind = "TaskTimedOut" if exc.error in ("States.Timeout", "States.HeartbeatTimeout") else "TaskFailed"
            run.emit(frame, kind, details)
            exc.in_state = False
            raise
        text = compact_json(result)
        if len(text.encode()) > PAYLOAD_LIMIT_BYTES:
            too_big = StatesError(
                "States.DataLimitExceeded",
                f"The state/task '{st.resource}' returned a result with a size exceeding the maximum number of "
                "bytes service limit.", in_state=False,
            )
            run.emit(frame, "TaskFailed", {"resourceType": resource_type, "resource": resource_short,
                                           "error": too_big.error, "cause": too_big.cause})
            raise too_big
        run.emit(frame, "TaskSucceeded", {"resourceType": resource_type, "resource": resource_short,
                                          "output": text, "outputDetails": {"truncated": False}})
        return run.finish_result(st, raw, result, frame, actx)

    return await run.with_retry_and_catch(st, raw, frame, ctx, attempt)


def _dynamic_seconds(static: Any, path: Any, scope: Scope, field_name: str) -> float | None:
    if path is not None:
        try:
            value = path.find(scope)
        except PathNotFound:
            raise StatesError("States.Runtime", f"The {field_name} parameter does not reference an input value: "
                                                f"{path.text}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise StatesError("States.Runtime", f"The {field_name} parameter references an invalid value: "
                                                f"{path.text} == {compact_json(value)}")
        return float(value)
    return float(static) if static is not None else None


async def _parallel(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
                    ) -> tuple[str | None, Any, dict[str, Any] | None]:
    async def attempt(retry_count: int) -> tuple[Any, dict[str, Any] | None]:
        if st.jsonata:
            scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
            branch_input = st.arguments(scope) if st.arguments is not None else raw
        else:
            effective = run.effective_input(st, raw, ctx, frame)
            branch_input = (st.parameters(Scope(effective, ctx, frame.variables))
                            if st.parameters is not None else effective)
        run.emit(frame, "ParallelStateStarted")
        started_id = frame.last_event
        # Retries reuse the same keys: a live retry re-runs every branch (as AWS does), while a
        # redrive replays the branches whose states were checkpointed.
        base = key

        async def branch(index: int, machine: StateMachine) -> Any:
            sub = _Frame(key=f"{base}/b{index}", variables=ChainMap({}, frame.variables),
                         last_event=started_id)
            return await run.run_machine(machine, branch_input, sub)

        # AWS records no ParallelStateSucceeded event; ParallelStateFailed comes once, when the
        # error is not retried (see with_retry_and_catch).
        outputs = await _gather_failfast([branch(i, m) for i, m in enumerate(st.branches)])
        return run.finish_result(st, raw, outputs, frame, ctx)

    return await run.with_retry_and_catch(st, raw, frame, ctx, attempt,
                                          on_final_failure=lambda exc: run.emit(frame, "ParallelStateFailed"))


async def _gather_failfast(coros: list[Any]) -> list[Any]:
    """Run coroutines concurrently; the first failure cancels the rest and is re-raised."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _int_setting(static: Any, path: Any, scope: Scope, field_name: str, *, integer: bool) -> Any:
    if path is None:
        return static
    try:
        value = path.find(scope)
    except PathNotFound:
        raise StatesError("States.Runtime", f"The {field_name} field does not reference an input value: "
                                            f"{path.text}") from None
    kind = "integer" if integer else "float"
    if isinstance(value, str):  # AWS parses numeric strings ("1") in these fields
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            pass
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok and integer and isinstance(value, float) and not value.is_integer():
        ok = False
    if not ok:
        shown = value if isinstance(value, str) else compact_json(value)
        raise StatesError("States.Runtime", f"The {field_name} field refers to value \"{shown}\" which is not a "
                                            f"valid {kind}: {path.text}")
    return value


async def _map(run: _Run, st: State, raw: Any, frame: _Frame, ctx: dict[str, Any], key: str
               ) -> tuple[str | None, Any, dict[str, Any] | None]:
    assert st.processor is not None
    processor = st.processor

    async def attempt(retry_count: int) -> tuple[Any, dict[str, Any] | None]:
        if st.jsonata:
            scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
            items = st.items(scope) if st.items is not None else raw
            if not isinstance(items, list):
                if st.items is not None and st.items_text is not None:
                    raise StatesError(
                        "States.QueryEvaluationError",
                        f"The JSONata expression '{st.items_text}' specified for the field 'Items' returned an "
                        f"unexpected result type. Expected 'array', but was '{json_type_name(items)}' "
                        f"for value: {compact_json(items)}",
                    )
                raise StatesError("States.QueryEvaluationError",
                                  f"Map state input must be an array but was: {compact_json(items)}")
            max_conc = st.max_concurrency(scope) if callable(st.max_concurrency) else st.max_concurrency
            tol_count = st.tolerated_count(scope) if callable(st.tolerated_count) else st.tolerated_count
            tol_pct = (st.tolerated_percentage(scope) if callable(st.tolerated_percentage)
                       else st.tolerated_percentage)
            effective = raw
        else:
            effective = run.effective_input(st, raw, ctx, frame)
            if st.items_path is DEFAULT:
                items = effective
            else:
                try:
                    items = st.items_path.find(Scope(effective, ctx, frame.variables))
                except PathNotFound:
                    raise StatesError("States.Runtime", format_no_results(st.items_path.text)) from None
            if not isinstance(items, list):
                raise StatesError("States.Runtime", f"Map state input must be an array but was: {compact_json(items)}")
            pscope = Scope(effective, ctx, frame.variables)
            max_conc = _int_setting(st.max_concurrency, st.max_concurrency_path, pscope, "MaxConcurrencyPath",
                                    integer=True)
        n = len(items)
        run.emit(frame, "MapStateStarted", {"length": n})
        if not st.jsonata:
            tol_count = _int_setting(st.tolerated_count, st.tolerated_count_path, pscope,
                                     "ToleratedFailureCountPath", integer=True)
            tol_pct = _int_setting(st.tolerated_percentage, st.tolerated_percentage_path, pscope,
                                   "ToleratedFailurePercentagePath", integer=False)
        if tol_pct is not None and not 0 <= tol_pct <= 100:
            raise StatesError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
        if tol_count is not None and tol_count < 0:
            raise StatesError("States.Runtime", "ToleratedFailureCount must be non-negative.")
        base = key
        results: list[Any] = [None] * n
        failures: list[int] = []
        tolerate = tol_count is not None or tol_pct is not None
        allowed = math.inf
        if tolerate:
            allowed = min(tol_count if tol_count is not None else math.inf,
                          (tol_pct / 100.0) * n if tol_pct is not None else math.inf)

        async def iteration(index: int) -> None:
            item = items[index]
            map_item = {"Index": index, "Value": item}
            ictx = {**ctx, "Map": {"Item": map_item}}
            if st.item_selector is not None:
                if st.jsonata:
                    iscope = JsonataScope({"input": raw, "context": ictx}, frame.variables)
                    item_input = st.item_selector(iscope)
                else:
                    item_input = st.item_selector(Scope(effective, ictx, frame.variables))
            else:
                item_input = item
            sub = _Frame(key=f"{base}/i{index}", variables=ChainMap({}, frame.variables),
                         last_event=frame.last_event, map_item=map_item, silent=frame.silent or st.distributed)
            label = {"index": index, "name": st.name}
            run.emit(sub, "MapIterationStarted", label)
            try:
                results[index] = await run.run_machine(processor, item_input, sub)
            except StatesError as exc:
                run.emit(sub, "MapIterationFailed", label)
                failures.append(index)
                if len(failures) > allowed or not tolerate:
                    raise
                results[index] = exc.to_output()
                return
            run.emit(sub, "MapIterationSucceeded", label)

        if st.distributed:
            run.emit(frame, "MapRunStarted", {"mapRunArn": f"{run.sm_context['Id'].replace(':stateMachine:', ':mapRun:')}"
                                                           f"/{st.name}:{run.engine.ids.uuid()}"})
        workers = INLINE_MAP_CONCURRENCY_CAP if not max_conc else min(int(max_conc), INLINE_MAP_CONCURRENCY_CAP)
        workers = max(1, min(workers, n))
        cursor = iter(range(n))

        async def worker() -> None:
            for index in cursor:
                await iteration(index)

        try:
            if workers == 1:
                await worker()
            else:
                await _gather_failfast([worker() for _ in range(workers)])
        except StatesError as exc:
            if st.distributed:
                run.emit(frame, "MapRunFailed", {"error": exc.error, "cause": exc.cause})
            if tolerate:
                raise StatesError("States.ExceedToleratedFailureThreshold",
                                  "The specified tolerated failure threshold was exceeded", in_state=False) from exc
            raise
        if st.distributed:
            run.emit(frame, "MapRunSucceeded")
        run.emit(frame, "MapStateSucceeded")
        return run.finish_result(st, raw, results, frame, ctx)

    def map_failed(exc: StatesError) -> None:
        # AWS records MapStateFailed for failed iterations and evaluation errors, not for
        # States.Runtime errors in the Map's own fields.
        if exc.error != "States.Runtime":
            run.emit(frame, "MapStateFailed")

    return await run.with_retry_and_catch(st, raw, frame, ctx, attempt, on_final_failure=map_failed)


_HANDLERS: dict[str, Any] = {
    "Pass": _pass, "Succeed": _succeed, "Fail": _fail, "Choice": _choice, "Wait": _wait,
    "Task": _task, "Parallel": _parallel, "Map": _map,
}


# -- helpers ------------------------------------------------------------------------------------------

def _iso(epoch: float) -> str:
    from datetime import UTC
    return format_timestamp(datetime.fromtimestamp(epoch, UTC))


def _error_matches(names: tuple[str, ...], error: str) -> bool:
    for name in names:
        if name == error:
            return True
        if name == "States.ALL" and error not in _NOT_CATCHABLE_BY_ALL:
            return True
        if name == "States.TaskFailed" and error not in _NOT_CATCHABLE_BY_ALL and error != "States.Timeout" \
                and error != "States.HeartbeatTimeout" and not error.startswith("States.") :
            return True
        if name == "States.TaskFailed" and error == "States.TaskFailed":
            return True
    return False


def _match_retrier(retriers: tuple[Retrier, ...], error: str) -> int | None:
    for i, retrier in enumerate(retriers):
        if _error_matches(retrier.errors, error):
            return i
    return None


def _match_catcher(catchers: tuple[Catcher, ...], error: str) -> Catcher | None:
    for catcher in catchers:
        if _error_matches(catcher.errors, error):
            return catcher
    return None


def _backoff(retrier: Retrier, count: int, ids: IdSource) -> float:
    delay = retrier.interval_seconds * (retrier.backoff_rate ** count)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_full:
        delay = ids.random.uniform(0, delay)
    return delay


def _resource_names(resource: str, pattern: str) -> tuple[str, str]:
    """AWS history names: ``arn:aws:states:::lambda:invoke`` -> (``invoke``, ``lambda``)."""
    suffix = {"callback": ".waitForTaskToken", "sync": ".sync", "sync2": ".sync:2"}.get(pattern, "")
    if resource.startswith("arn:aws:states:::"):
        rest = resource[len("arn:aws:states:::"):]
        if rest.startswith("aws-sdk:"):
            parts = rest.split(":")
            return ":".join(parts[2:]) + suffix, "aws-sdk:" + parts[1]
        service, _, action = rest.partition(":")
        return action + suffix, service
    if ":lambda:" in resource:
        return resource, "lambda"
    return resource, "unknown"


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
        ``async (TaskCall) -> result`` that runs Task resources (the local service bindings).
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
                         options: Mapping[str, Any] | None = None) -> ExecutionRecord:
        text = definition if isinstance(definition, str) else compact_json(definition)
        self.compile(text)
        name = name or self.ids.uuid()
        sm_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{state_machine_name}"
        arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{state_machine_name}:{name}"
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
            start_date=self.clock.now().timestamp(), options=compact_json(dict(options or {})),
        )
        self.store.create(record)
        return record

    async def start(self, definition: Mapping[str, Any] | str, input_value: Any = None, *,
                    name: str | None = None, state_machine_name: str = "StateMachine") -> ExecutionResult:
        """Start an execution and run it to its end."""
        record = self.create_execution(definition, input_value, name=name, state_machine_name=state_machine_name)
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
        run = _Run(self, record, machine, replay, first_id)
        if redriven:
            run.emit(None, "ExecutionRedriven", {"redriveCount": record.redrive_count})
            run.flush()
        return await run.run(json.loads(record.input), fresh=fresh)

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
        self.store.update(arn, status="ABORTED", stop_date=self.clock.now().timestamp(), error=error, cause=cause)

    # -- tasks ------------------------------------------------------------------------------------
    async def invoke_task(self, run: _Run, call: TaskCall, pattern: str, heartbeat: float | None) -> Any:
        if self.task_invoker is None:
            raise BindingError(f"no Task invoker configured: cannot run resource {call.resource}")
        timeout = call.timeout_seconds if call.timeout_seconds is not None else DEFAULT_TASK_TIMEOUT
        if pattern == "callback":
            assert call.task_token is not None
            self.store.put_token(call.task_token, run.arn)
            run.flush()
            return await self._await_callback(call, timeout, heartbeat)
        try:
            return await asyncio.wait_for(self.task_invoker(call), timeout=timeout)
        except TimeoutError:
            raise StatesError("States.Timeout", None, in_state=False) from None
        except BindingError as exc:
            raise StatesError("States.Runtime", str(exc), in_state=False) from exc

    async def _await_callback(self, call: TaskCall, timeout: float, heartbeat: float | None) -> Any:
        assert call.task_token is not None and self.task_invoker is not None
        token = call.task_token
        await self.task_invoker(call)  # hands the token to whoever will call back
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
