"""What each state type does: Pass, Succeed, Fail, Choice, Wait, Task, Parallel and Map.

Every handler has the :data:`~._run.StateHandler` shape: it gets the :class:`~._run.Run`, the
state, its raw input, the frame it runs in, the context object and its checkpoint key, and
returns ``(next state, output, assigned variables)``. Input/output processing, Retry/Catch and the
history bookkeeping they share are methods of :class:`~._run.Run`; the handlers only add what is
particular to their state type (a Wait's deadline, a Task's invocation and events, a Map's
iterations and failure tolerance...).
"""

from __future__ import annotations

import asyncio
import math
from collections import ChainMap
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ._arn import LOCAL_REGION
from ._clock import parse_timestamp
from ._errors import StatesError
from ._json import compact_json
from ._jsonata import JsonataScope, unexpected_type_error
from ._jsonpath import PathNotFound, format_no_results
from ._model import DEFAULT, State, StateMachine
from ._run import PAYLOAD_LIMIT_BYTES, Frame, Run, StateHandler, StateOutcome, TaskCall
from ._template import Scope
from ._vocabulary import ERROR_QUERY_EVALUATION, TIMESTAMP_RE
from .services._base import split_resource

__all__ = ["STATE_HANDLERS", "gather_failfast"]

INLINE_MAP_CONCURRENCY_CAP = 40


async def _pass(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                ) -> StateOutcome:
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


async def _succeed(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                   ) -> StateOutcome:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        return None, (st.output(scope) if st.output is not None else raw), None
    return None, run.apply_output_path(st, run.effective_input(st, raw, ctx, frame), ctx, frame), None


async def _fail(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                ) -> StateOutcome:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        error = st.error(scope) if callable(st.error) else st.error
        cause = st.cause(scope) if callable(st.cause) else st.cause
    else:
        scope_p = Scope(raw, ctx, frame.variables)
        error = st.error_path(scope_p) if st.error_path is not None else st.error
        cause = st.cause_path(scope_p) if st.cause_path is not None else st.cause
    raise StatesError(error, cause, in_state=False)


async def _choice(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                  ) -> StateOutcome:
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        for rule in st.choices:
            verdict = rule.predicate(scope)
            if not isinstance(verdict, bool):
                raise StatesError(
                    ERROR_QUERY_EVALUATION,
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


async def _wait(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                ) -> StateOutcome:
    now = run.clock.now()
    deadline: datetime
    if st.jsonata:
        scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
        if st.seconds is not None:
            seconds = st.seconds(scope) if callable(st.seconds) else st.seconds
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise StatesError(ERROR_QUERY_EVALUATION,
                                  f"The Seconds field must be a non-negative integer, got {compact_json(seconds)}.")
            deadline = now + timedelta(seconds=float(seconds))
        else:
            stamp = st.timestamp(scope) if callable(st.timestamp) else st.timestamp
            moment = _parse_wait_timestamp(stamp)
            if moment is None:
                raise StatesError(ERROR_QUERY_EVALUATION,
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


async def _task(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                ) -> StateOutcome:
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
            "resourceType": resource_type, "resource": resource_short, "region": LOCAL_REGION,
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
                        task_token=token, timeout_seconds=timeout, credentials=credentials, state_key=key)
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


async def _parallel(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
                    ) -> StateOutcome:
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
            sub = Frame(key=f"{base}/b{index}", variables=ChainMap({}, frame.variables),
                         last_event=started_id)
            return await run.run_machine(machine, branch_input, sub)

        # AWS records no ParallelStateSucceeded event; ParallelStateFailed comes once, when the
        # error is not retried (see with_retry_and_catch).
        outputs = await gather_failfast([branch(i, m) for i, m in enumerate(st.branches)])
        return run.finish_result(st, raw, outputs, frame, ctx)

    return await run.with_retry_and_catch(st, raw, frame, ctx, attempt,
                                          on_final_failure=lambda exc: run.emit(frame, "ParallelStateFailed"))


async def gather_failfast(coros: list[Any]) -> list[Any]:
    """Run coroutines concurrently; the first failure cancels the rest and is re-raised, once they
    have all finished.

    A task is cancelled at most once. When this coroutine itself is cancelled (an abort), gather
    has already cancelled every task, and it gives up as soon as the first one ends; cancelling the
    others a second time would cut short their cleanup, such as a binding's grace period between a
    stopped process's SIGTERM and SIGKILL (and leave that process unreaped).
    """
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            if not task.done() and not task.cancelling():
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


async def _map(run: Run, st: State, raw: Any, frame: Frame, ctx: dict[str, Any], key: str
               ) -> StateOutcome:
    assert st.processor is not None
    processor = st.processor

    async def attempt(retry_count: int) -> tuple[Any, dict[str, Any] | None]:
        if st.jsonata:
            scope = JsonataScope({"input": raw, "context": ctx}, frame.variables)
            items = st.items(scope) if st.items is not None else raw
            if not isinstance(items, list):
                if st.items is not None and st.items_text is not None:
                    raise unexpected_type_error(st.items_text, "Items", "array", items)
                raise StatesError(ERROR_QUERY_EVALUATION,
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
        # The percentage wording is AWS's, recorded (test_map_state_tolerated_failure_percentage_path
        # [-1] and [-1.1] in tests/sfn/data/aws/cases.jsonl). For a negative count AWS documents
        # only that the value "must be a non-negative integer" (Distributed Map docs) and no
        # recorded execution or issue shows its wording: this cause is ours, shaped like the
        # percentage one, and kept until a recording says otherwise.
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
            sub = Frame(key=f"{base}/i{index}", variables=ChainMap({}, frame.variables),
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
                await gather_failfast([worker() for _ in range(workers)])
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


STATE_HANDLERS: Mapping[str, StateHandler] = {
    "Pass": _pass, "Succeed": _succeed, "Fail": _fail, "Choice": _choice, "Wait": _wait,
    "Task": _task, "Parallel": _parallel, "Map": _map,
}




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
