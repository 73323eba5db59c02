"""The local runtime: an engine wired to a workspace, the durable store and the service bindings.

This is what the CLI and the pipeline use. The workspace holds ``sfn/executions.sqlite3`` and
whatever the bindings keep (notification outbox, DynamoDB tables, SSM command output).
Nested executions (``arn:aws:states:::states:startExecution`` with ``.sync`` / ``.sync:2``)
are run by the same engine.

Each Task attempt gets a lease (see :mod:`._leases`), handed to the binding so the process it
starts carries it; :meth:`LocalRuntime.resume` and :meth:`LocalRuntime.redrive` first stop every
process of an earlier attempt that is still alive (its engine died), so two attempts of a Task
never overlap. While :meth:`~LocalRuntime.start`, ``resume`` or ``redrive`` runs in the main
thread, SIGTERM and SIGINT stop the execution: the running tasks' process groups get that
signal, then SIGKILL after ``terminate_grace_seconds`` (at once on a second signal), and the
execution ends ABORTED with the signal's name as its error (``ExecutionResult.signal`` says
which); the previous handlers are restored afterwards. A signal the process ignores on entry
(SIGINT in a background job) stays ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._arn import execution_arn
from ._clock import Clock, IdSource, SystemClock
from ._errors import BindingError, ExecutionAlreadyExists, StatesError
from ._leases import EXECUTION_STORE_ENV, LEASE_REVOKED, TASK_LEASE_ENV, TaskLease
from ._lifecycle import Engine
from ._loader import load_definition
from ._run import ExecutionResult, TaskCall
from ._store import ExecutionStore, SqliteStore
from ._validator import check_definition
from .services import (
    Binding,
    BindingContext,
    ChildLease,
    ServiceRegistry,
    TaskRequest,
    default_registry,
    split_resource,
)
from .services._process import process_start_time, stop_process_group

__all__ = ["STOP_SIGNALS", "LocalRuntime", "RuntimeConfig"]

_START_EXECUTION = "arn:aws:states:::states:startExecution"
#: Every task process learns the grace period it gets between the stop signal and SIGKILL from this
#: variable (a wrapper such as log capture uses it to finish its own work before the SIGKILL).
TERMINATE_GRACE_ENV = "SFN_TERMINATE_GRACE_SECONDS"
#: The signals that stop the executions a LocalRuntime is driving in the main thread.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class RuntimeConfig:
    """Where a local runtime keeps its state and how it binds Task resources."""

    workspace: Path
    functions: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    ssm_not_found_window_seconds: float = 0.0
    # A stopped task's process group gets SIGTERM, then SIGKILL after this many seconds.
    terminate_grace_seconds: float = 5.0
    seed: int | None = None
    # Definitions nested executions may start, by state machine ARN or name.
    state_machines: Mapping[str, Any] = field(default_factory=dict)

    @property
    def database(self) -> Path:
        return self.workspace / "sfn" / "executions.sqlite3"

    @classmethod
    def from_env(cls, workspace: str | Path | None = None, **kwargs: Any) -> RuntimeConfig:
        root = Path(workspace or os.environ.get("ALPHA_ENGINE_HOME") or Path.cwd() / ".alpha-engine")
        return cls(workspace=root, **kwargs)


@functools.cache
def _builtin_registry() -> ServiceRegistry:
    # Matching never touches the context, so any workspace will do; nothing is created.
    return default_registry(BindingContext(workspace=Path(".")))


class LocalRuntime:
    """An :class:`Engine` on a workspace: durable store, bindings, nested executions."""

    def __init__(self, config: RuntimeConfig, *, clock: Clock | None = None,
                 extra_bindings: Sequence[Binding] = (), store: ExecutionStore | None = None,
                 log: Callable[[str], None] | None = None,
                 listener: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.store = store if store is not None else SqliteStore(config.database)
        self.log: Callable[[str], None] = log or (lambda line: None)
        self._signal: int | None = None  # the stop signal received during the current operation
        self._children: dict[str, int] = {}  # lease token -> pid of the process running that attempt
        # Unseeded on purpose: a token must be unique across engine processes (a resumed run with the
        # same seed would repeat a seeded sequence), and tokens never enter a history or an output.
        self._lease_ids = IdSource()
        ctx = BindingContext(
            workspace=config.workspace, functions=dict(config.functions),
            env={**config.env, TERMINATE_GRACE_ENV: f"{config.terminate_grace_seconds:g}"},
            ssm_not_found_window_seconds=config.ssm_not_found_window_seconds,
            terminate_grace_seconds=config.terminate_grace_seconds,
            log=self.log, stop_signal=self._stop_signal,
        )
        ids = IdSource(config.seed)
        # Bindings take time and request ids from the engine's sources, so a seeded run repeats them.
        self.registry: ServiceRegistry = default_registry(ctx, extra_bindings, now=self.clock.now, new_id=ids.uuid)
        self.engine = Engine(store=self.store, clock=self.clock, ids=ids,
                             task_invoker=self._invoke, listener=listener, abort_check=True)

    def supports(self, resource: str) -> bool:
        base, _ = split_resource(resource)
        return base == _START_EXECUTION or self.registry.supports(base)

    @staticmethod
    def has_builtin_binding(resource: str) -> bool:
        """Whether a runtime without extra bindings runs ``resource``: answered without a
        workspace (bindings match on the ARN alone), for ``sfn validate``'s warning."""
        base, _ = split_resource(resource)
        return base == _START_EXECUTION or _builtin_registry().supports(base)

    def check(self, definition: Mapping[str, Any]) -> list[Any]:
        """Validate, treating resources without a local binding as errors (so a run is refused
        before it starts); returns warnings."""
        return check_definition(definition, resource_supported=self.supports)

    async def _invoke(self, call: TaskCall) -> Any:
        base, pattern = split_resource(call.resource)
        if base == _START_EXECUTION:
            return await self._start_nested(call, pattern)
        lease = self.store.begin_lease(self._lease_ids.uuid(), call.execution_arn, call.state_key or call.state_name,
                                       call.state_name, self._now())
        request = TaskRequest(resource=base, pattern=pattern, parameters=call.parameters,
                              execution_arn=call.execution_arn, state_name=call.state_name,
                              task_token=call.task_token, timeout_seconds=call.timeout_seconds,
                              lease=ChildLease(self._lease_env(lease), functools.partial(self._record_child, lease.token)))
        outcome = "was stopped"  # cancelled: a timeout, an abort, a signal
        try:
            result = await self.registry.invoke(request)
            outcome = "ended"
            return result
        except BindingError as exc:
            outcome = "failed"
            raise StatesError("States.Runtime", str(exc), in_state=False) from exc
        except StatesError as exc:
            outcome = f"failed ({exc.error})"
            raise
        finally:
            self._children.pop(lease.token, None)
            self.store.end_lease(lease.token, self._now(), reason=f"{lease.describe()} {outcome}")

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _lease_env(self, lease: TaskLease) -> dict[str, str]:
        """What a child needs to check its lease; nothing when the store is not a file it can read."""
        if not isinstance(self.store, SqliteStore):
            return {}
        return {TASK_LEASE_ENV: lease.token, EXECUTION_STORE_ENV: str(self.store.path.absolute())}

    def _record_child(self, token: str, pid: int) -> None:
        self._children[token] = pid
        self.store.record_lease_process(token, pid, process_start_time(pid))

    async def _start_nested(self, call: TaskCall, pattern: str) -> Any:
        params = call.parameters if isinstance(call.parameters, dict) else {}
        target = params.get("StateMachineArn")
        definition = self.config.state_machines.get(target or "") or self.config.state_machines.get(
            str(target).rsplit(":", 1)[-1]
        )
        if definition is None:
            raise StatesError("StepFunctions.StateMachineDoesNotExistException",
                              f"State Machine Does Not Exist: '{target}'", in_state=False)
        raw_input = params.get("Input", {})
        input_value = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
        sm_name = str(target).rsplit(":", 1)[-1]
        try:
            record = self.engine.create_execution(load_definition(definition), input_value,
                                                  name=params.get("Name"), state_machine_name=sm_name)
        except ExecutionAlreadyExists as exc:
            raise StatesError("StepFunctions.ExecutionAlreadyExistsException", str(exc), in_state=False) from exc
        if pattern == "request-response":
            asyncio.ensure_future(self.engine.run_created(record))
            return {"ExecutionArn": record.arn, "StartDate": record.start_date}
        result = await self.engine.run_created(record)
        described = self.describe(result.arn)
        if pattern == "sync2" and result.succeeded:
            described["Output"] = result.output
        if not result.succeeded:
            raise StatesError("States.TaskFailed", json.dumps(described), in_state=False)
        return described

    # -- operations the CLI exposes -------------------------------------------------------------
    def start(self, definition: Mapping[str, Any], input_value: Any = None, *, name: str | None = None,
              state_machine_name: str = "StateMachine") -> ExecutionResult:
        return self._operate(lambda: self.engine.start(
            definition, input_value, name=name, state_machine_name=state_machine_name))

    def resume(self, arn: str) -> ExecutionResult:
        """Continue a RUNNING execution whose engine died, after stopping its earlier attempts still alive."""
        arn = self.resolve(arn)
        self.stop_earlier_attempts(arn, "resuming")
        return self._operate(lambda: self.engine.resume(arn))

    def redrive(self, arn: str) -> ExecutionResult:
        """Redrive a FAILED/TIMED_OUT/ABORTED execution, after stopping its earlier attempts still alive."""
        arn = self.resolve(arn)
        self.stop_earlier_attempts(arn, "redriving")
        return self._operate(lambda: self.engine.redrive(arn))

    def stop_earlier_attempts(self, arn: str, doing: str = "resuming") -> list[TaskLease]:
        """Stop every process of an earlier Task attempt of the execution that is still alive, and revoke
        the leases still ACTIVE; returns the attempts that were stopped.

        A process counts as alive only if its pid still runs *and* started when the recorded one
        did (no pid-reuse accidents). Each is stopped as the engine stops a task: SIGTERM to its
        process group, ``terminate_grace_seconds``, then SIGKILL. Each stop is reported through
        the ``log`` callback: ``stopped the earlier attempt of X (pid N) before resuming``.
        """
        stopped = []
        for lease in self.store.leases(arn):
            if lease.pid is not None and lease.process_start is not None and stop_process_group(
                    lease.pid, lease.process_start, self.config.terminate_grace_seconds):
                stopped.append(lease)
                self.log(f"stopped the earlier attempt of {lease.state_name} (pid {lease.pid}) before {doing}")
            if lease.active:
                self.store.end_lease(lease.token, self._now(), status=LEASE_REVOKED,
                                     reason=f"{lease.describe()} was revoked before {doing} the execution")
        return stopped

    def _operate(self, drive: Callable[[], Awaitable[ExecutionResult]]) -> ExecutionResult:
        """Run one start/resume/redrive to its end; stopped by SIGTERM/SIGINT (see module docstring)."""
        self._signal = None
        self.engine.clear_stop()
        result = asyncio.run(self._closing(drive()))
        return result if self._signal is None else replace(result, signal=self._signal)

    async def _closing(self, coro: Awaitable[ExecutionResult]) -> ExecutionResult:
        with self._stopping_on_signals():
            try:
                return await coro
            finally:
                await self.registry.aclose()

    @contextlib.contextmanager
    def _stopping_on_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signal handlers can only be set in the main thread; the caller keeps its own
            return
        loop = asyncio.get_running_loop()
        # A signal ignored on entry stays ignored (a background job's SIGINT, say), as asyncio.run does.
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS if signal.getsignal(sig) != signal.SIG_IGN}
        for sig in previous:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                loop.remove_signal_handler(sig)
                signal.signal(sig, signal.SIG_DFL if handler is None else handler)

    def _on_signal(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self._signal is not None:  # a second signal: no more grace
            self.log(f"{name} again: killing the running tasks now")
            for pid in list(self._children.values()):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            return
        self._signal = sig
        grace = self.config.terminate_grace_seconds
        self.log(f"{name}: stopping the running tasks ({grace:g}s to exit, then SIGKILL)")
        self.engine.stop_running(name, functools.partial(_stopped_cause, name, grace))

    def _stop_signal(self) -> int:
        return self._signal if self._signal is not None else signal.SIGTERM

    def resolve(self, arn_or_name: str) -> str:
        """Accept a full execution ARN or just its name."""
        if arn_or_name.startswith("arn:"):
            return arn_or_name
        for record in self.store.list_executions(limit=10_000):
            if record.name == arn_or_name:
                return record.arn
        return execution_arn("StateMachine", arn_or_name)

    def describe(self, arn: str) -> dict[str, Any]:
        """DescribeExecution's shape."""
        from datetime import UTC, datetime

        from ._clock import format_timestamp

        record = self.store.get(self.resolve(arn))
        out: dict[str, Any] = {
            "executionArn": record.arn, "stateMachineArn": record.state_machine_arn, "name": record.name,
            "status": record.status,
            "startDate": format_timestamp(datetime.fromtimestamp(record.start_date, UTC)),
            "input": record.input, "redriveCount": record.redrive_count,
        }
        if record.stop_date is not None:
            out["stopDate"] = format_timestamp(datetime.fromtimestamp(record.stop_date, UTC))
        if record.output is not None:
            out["output"] = record.output
        if record.error is not None:
            out["error"] = record.error
        if record.cause is not None:
            out["cause"] = record.cause
        if record.redrive_date is not None:
            out["redriveDate"] = format_timestamp(datetime.fromtimestamp(record.redrive_date, UTC))
        return out


def _stopped_cause(signal_name: str, grace: float, states: list[str]) -> str:
    """The cause of an execution the engine stopped on a signal."""
    if not states:
        return f"The engine received {signal_name} between states and aborted the execution."
    running = ", ".join(states)
    verb = "was" if len(states) == 1 else "were"
    return (f"The engine received {signal_name} while {running} {verb} running: it sent {signal_name} to the "
            f"running tasks, gave them {grace:g}s to exit before SIGKILL, and aborted the execution.")
