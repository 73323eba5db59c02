"""The contract between the engine and a local binding for a Task ``Resource``.

The engine evaluates a Task's Parameters/Arguments, builds a :class:`TaskRequest` and awaits
the binding that matches the resource. Bindings raise ``StatesError(error, cause,
in_state=False)`` with AWS's error names; timeouts are the engine's job (it cancels the
awaiting coroutine), so every binding that starts a child process kills it on cancellation
(``BindingContext.stop_signal()`` first, then SIGKILL after the grace period).

A request may carry the attempt's :class:`ChildLease` (fencing, see ``sfn._leases``): a binding
that starts a process for the attempt adds ``lease.env`` to its environment and reports the
process with ``lease.record_child(pid)``, so a later resume can stop it if it outlives its engine.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = ["Binding", "BindingContext", "ChildLease", "Pattern", "TaskRequest", "split_resource"]

Pattern = Literal["request-response", "sync", "sync2", "callback"]

# Longest suffix first: '.sync:2' must not be read as '.sync' followed by ':2'.
_SUFFIXES: tuple[tuple[str, Pattern], ...] = (
    (".sync:2", "sync2"),
    (".sync", "sync"),
    (".waitForTaskToken", "callback"),
)


def split_resource(arn: str) -> tuple[str, Pattern]:
    """Split a Task ``Resource`` into the ARN proper and its integration pattern.

    ``arn:aws:states:::batch:submitJob.sync`` -> ``("arn:aws:states:::batch:submitJob", "sync")``.
    Only ``arn:aws:states:::`` service ARNs carry a suffix; a Lambda function or activity ARN
    is returned unchanged with ``"request-response"``.
    """
    if arn.startswith("arn:") and ":states:::" in arn:
        for suffix, pattern in _SUFFIXES:
            if arn.endswith(suffix):
                return arn[: -len(suffix)], pattern
    return arn, "request-response"


def _ignore_child(pid: int) -> None:
    del pid


@dataclass(frozen=True, slots=True)
class ChildLease:
    """The lease of the Task attempt a binding runs, for the process it starts for it.

    ``env`` goes into the child's environment (the lease token and the execution store's path:
    ``SFN_TASK_LEASE``, ``SFN_EXECUTION_STORE``); ``record_child(pid)`` records the child (a
    process group leader) as the attempt's process.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    record_child: Callable[[int], None] = _ignore_child


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """One call of a Task state's resource, as the engine hands it to a binding."""

    resource: str  # the ARN as written, minus the integration suffix
    pattern: Pattern  # '', '.sync', '.sync:2', '.waitForTaskToken'
    parameters: Any  # evaluated Parameters/Arguments: the effective task input
    execution_arn: str
    state_name: str
    task_token: str | None = None  # set for the callback pattern
    timeout_seconds: float | None = None
    lease: ChildLease | None = None  # this attempt's lease, when the runtime keeps leases


def _no_log(line: str) -> None:
    del line


def _sigterm() -> int:
    return signal.SIGTERM


@dataclass(frozen=True, slots=True)
class BindingContext:
    """What every binding may use: where to keep state, which code backs which Lambda."""

    workspace: Path  # where bindings keep state (outbox, tables, logs)
    functions: Mapping[str, str] = field(default_factory=dict)  # FunctionName or ARN -> 'module:function'
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment for child processes
    # getCommandInvocation answers InvocationDoesNotExist this long after sendCommand, as SSM does.
    ssm_not_found_window_seconds: float = 0.0
    # When the engine stops a task (timeout, abort), its process group gets SIGTERM and this long
    # to exit (so a log-shipping wrapper can ship) before SIGKILL, as Batch/ECS stop a container.
    terminate_grace_seconds: float = 5.0
    log: Callable[[str], None] = _no_log  # one line of progress for the live view
    # The signal that starts that stop: SIGTERM, or the signal the engine itself received
    # (SIGINT, SIGTERM) when that is why its tasks are stopped.
    stop_signal: Callable[[], int] = _sigterm


class Binding(Protocol):
    """A local implementation of one or more Task resources."""

    def matches(self, resource: str) -> bool:
        """True if this binding answers for ``resource`` (an ARN without its suffix)."""
        ...

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        """Run the task and return its result, or raise ``StatesError(..., in_state=False)``."""
        ...
