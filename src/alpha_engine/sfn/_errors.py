"""Every error the Step Functions runtime raises, in one tree.

::

    SfnError
    ├── DefinitionError            a definition cannot be loaded
    │   ├── DefinitionParseError   not JSON/YAML, or not an object
    │   └── DefinitionInvalid      validation found errors (carries the diagnostics)
    ├── ExpressionError            a JSONPath, intrinsic or JSONata text is malformed
    ├── StatesError                an ASL run-time error: ``error`` and ``cause`` are data
    │                              (``States.Runtime``, ``States.TaskFailed``, a Lambda's
    │                              own error name...), routed by Retry/Catch
    ├── ExecutionNotFound          no execution with that id in the store
    ├── ExecutionAlreadyExists     StartExecution with the name of an existing execution
    ├── ExecutionStateError        the operation does not fit the execution's status
    │                              (redrive of a running execution, resume of a finished one)
    ├── StoreError                 the durable store failed (sqlite3 errors are mapped here)
    ├── BindingError               a Task resource has no local binding / bad binding config
    └── NondeterminismError        engine code reached for the wall clock or a random source

ASL error *names* are never Python classes: ``StatesError("States.Timeout", ...)`` is the
one shape for all of them, so routing by ``ErrorEquals`` is a string comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BindingError",
    "DefinitionError",
    "DefinitionInvalid",
    "DefinitionParseError",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "ExecutionStateError",
    "ExpressionError",
    "NondeterminismError",
    "SfnError",
    "StatesError",
    "StoreError",
    "Diagnostic",
]


class SfnError(Exception):
    """Base of every error raised by :mod:`alpha_engine.sfn`."""


@dataclass(frozen=True)
class Diagnostic:
    """One validation finding: ``severity`` is ``ERROR`` or ``WARNING``.

    ``code`` follows AWS ValidateStateMachineDefinition codes where one exists
    (``SCHEMA_VALIDATION_FAILED``, ``MISSING_END_STATE``...); ``location`` is a JSON pointer
    into the definition (``/States/Fetch/ResultPath``).
    """

    severity: str
    code: str
    message: str
    location: str

    def __str__(self) -> str:
        return f"{self.severity} {self.code}: {self.message} (at {self.location or '/'})"

    def to_json(self) -> dict[str, str]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "location": self.location,
        }


class DefinitionError(SfnError):
    """A state machine definition cannot be loaded."""


class DefinitionParseError(DefinitionError):
    """The definition text is not a JSON (or YAML) object."""


class DefinitionInvalid(DefinitionError):
    """Validation found at least one error; ``diagnostics`` lists every finding."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "ERROR"]
        lines = "\n".join(f"  - {d}" for d in errors)
        super().__init__(f"definition has {len(errors)} error(s):\n{lines}")


class ExpressionError(SfnError):
    """A JSONPath, reference path, intrinsic function or JSONata text is malformed."""

    def __init__(self, message: str, text: str = "") -> None:
        self.text = text
        super().__init__(message)


class StatesError(SfnError):
    """An ASL run-time error. ``error`` and ``cause`` are what AWS would report.

    ``in_state`` is True for errors raised while evaluating a state's own fields
    (paths, intrinsics, JSONata...): the engine then prefixes the cause with
    ``An error occurred while executing the state 'X' (entered at the event id #N).``
    as AWS does. Errors coming from a Task's resource keep their cause verbatim.
    """

    def __init__(self, error: str, cause: str | None = None, *, in_state: bool = True) -> None:
        self.error = error
        self.cause = cause
        self.in_state = in_state
        super().__init__(f"{error}: {cause}" if cause else error)

    def to_output(self) -> dict[str, Any]:
        """The error output a Catcher passes on: ``{"Error": ..., "Cause": ...}``."""
        out: dict[str, Any] = {"Error": self.error}
        if self.cause is not None:
            out["Cause"] = self.cause
        return out


class ExecutionNotFound(SfnError):
    """No execution with this id or ARN exists in the store."""


class ExecutionAlreadyExists(SfnError):
    """An execution with this name (so this ARN) already exists: AWS's ``ExecutionAlreadyExists``.

    AWS makes a StartExecution with the name *and input* of a RUNNING execution idempotent; the
    local runtime always refuses the name, since it runs the execution in the caller's process.
    """

    def __init__(self, arn: str) -> None:
        self.arn = arn
        super().__init__(f"Execution Already Exists: '{arn}'")


class ExecutionStateError(SfnError):
    """The requested operation does not fit the execution's current status."""


class StoreError(SfnError):
    """The durable execution store failed; the underlying error is chained."""


class BindingError(SfnError):
    """A Task resource has no local binding, or its binding is misconfigured."""


class NondeterminismError(SfnError):
    """Engine code used the wall clock, uuid4 or an unseeded random source directly."""
