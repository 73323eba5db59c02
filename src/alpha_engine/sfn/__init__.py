"""The embedded AWS Step Functions runtime: parse, validate, run, persist, redrive.

Knows nothing about quant. The public surface is this module's ``__all__``; implementation
lives in private modules (``_lifecycle``, ``_run``, ``_states``, ``_store``, ``_validator``...;
``docs/sfn.md`` maps them).
"""

from ._clock import Clock, FakeClock, IdSource, SystemClock
from ._errors import (
    BindingError,
    DefinitionError,
    DefinitionInvalid,
    DefinitionParseError,
    Diagnostic,
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionStateError,
    ExpressionError,
    NondeterminismError,
    SfnError,
    StatesError,
    StoreError,
)
from ._graph import render_graph, state_outcomes
from ._history import export_event
from ._leases import EXECUTION_STORE_ENV, TASK_LEASE_ENV, LeaseStatus, TaskLease, lease_status
from ._lifecycle import Engine
from ._loader import load_definition
from ._run import PAYLOAD_LIMIT_BYTES, ExecutionResult, TaskCall
from ._runtime import LocalRuntime, RuntimeConfig
from ._store import ExecutionRecord, ExecutionStore, MemoryStore, SqliteStore
from ._validator import check_definition, validate_definition
from .services._sns import publish_to_outbox

__all__ = [
    "EXECUTION_STORE_ENV",
    "PAYLOAD_LIMIT_BYTES",
    "TASK_LEASE_ENV",
    "BindingError",
    "Clock",
    "DefinitionError",
    "DefinitionInvalid",
    "DefinitionParseError",
    "Diagnostic",
    "Engine",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "ExecutionRecord",
    "ExecutionResult",
    "ExecutionStateError",
    "ExecutionStore",
    "ExpressionError",
    "FakeClock",
    "IdSource",
    "LeaseStatus",
    "LocalRuntime",
    "MemoryStore",
    "NondeterminismError",
    "RuntimeConfig",
    "SfnError",
    "SqliteStore",
    "StatesError",
    "StoreError",
    "SystemClock",
    "TaskCall",
    "TaskLease",
    "check_definition",
    "export_event",
    "lease_status",
    "load_definition",
    "publish_to_outbox",
    "render_graph",
    "state_outcomes",
    "validate_definition",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, (int, str)):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
