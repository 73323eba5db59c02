"""The local runtime: an engine wired to a workspace, the durable store and the service bindings.

This is what the CLI and the pipeline use. The workspace holds ``sfn/executions.sqlite3`` and
whatever the bindings keep (notification outbox, DynamoDB tables, SSM command output).
Nested executions (``arn:aws:states:::states:startExecution`` with ``.sync`` / ``.sync:2``)
are run by the same engine.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._arn import execution_arn
from ._clock import Clock, IdSource, SystemClock
from ._errors import BindingError, StatesError
from ._lifecycle import Engine
from ._loader import load_definition
from ._run import ExecutionResult, TaskCall
from ._store import ExecutionStore, SqliteStore
from ._validator import check_definition
from .services import Binding, BindingContext, ServiceRegistry, TaskRequest, default_registry, split_resource

__all__ = ["LocalRuntime", "RuntimeConfig"]

_START_EXECUTION = "arn:aws:states:::states:startExecution"


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
        ctx = BindingContext(
            workspace=config.workspace, functions=dict(config.functions), env=dict(config.env),
            ssm_not_found_window_seconds=config.ssm_not_found_window_seconds,
            terminate_grace_seconds=config.terminate_grace_seconds,
            log=log or (lambda line: None),
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
        request = TaskRequest(resource=base, pattern=pattern, parameters=call.parameters,
                              execution_arn=call.execution_arn, state_name=call.state_name,
                              task_token=call.task_token, timeout_seconds=call.timeout_seconds)
        try:
            return await self.registry.invoke(request)
        except BindingError as exc:
            raise StatesError("States.Runtime", str(exc), in_state=False) from exc

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
        record = self.engine.create_execution(load_definition(definition), input_value,
                                              name=params.get("Name"), state_machine_name=sm_name)
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
        return asyncio.run(self._closing(self.engine.start(
            definition, input_value, name=name, state_machine_name=state_machine_name)))

    def resume(self, arn: str) -> ExecutionResult:
        return asyncio.run(self._closing(self.engine.resume(self.resolve(arn))))

    def redrive(self, arn: str) -> ExecutionResult:
        return asyncio.run(self._closing(self.engine.redrive(self.resolve(arn))))

    async def _closing(self, coro: Any) -> ExecutionResult:
        try:
            result: ExecutionResult = await coro
            return result
        finally:
            await self.registry.aclose()

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
