"""The embedded AWS Step Functions runtime: parse, validate, run, persist, redrive.

Knows nothing about quant. The public surface is this module's ``__all__``; implementation
lives in private modules (``_engine``, ``_store``, ``_validator``...).
"""

from ._clock import Clock, FakeClock, IdSource, SystemClock
from ._engine import PAYLOAD_LIMIT_BYTES, Engine, ExecutionResult, TaskCall
from ._errors import (
    BindingError,
    DefinitionError,
    DefinitionInvalid,
    DefinitionParseError,
    Diagnostic,
    ExecutionNotFound,
    ExecutionStateError,
    ExpressionError,
    NondeterminismError,
    SfnError,
    StatesError,
    StoreError,
)
from ._graph import render_graph
from ._history import export_event
from ._loader import load_definition
from ._runtime import LocalRuntime, RuntimeConfig
from ._store import ExecutionRecord, ExecutionStore, MemoryStore, SqliteStore, open_store
from ._validator import check_definition, validate_definition

__all__ = [
    "PAYLOAD_LIMIT_BYTES",
    "BindingError",
    "Clock",
    "DefinitionError",
    "DefinitionInvalid",
    "DefinitionParseError",
    "Diagnostic",
    "Engine",
    "ExecutionNotFound",
    "ExecutionRecord",
    "ExecutionResult",
    "ExecutionStateError",
    "ExecutionStore",
    "ExpressionError",
    "FakeClock",
    "IdSource",
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
    "check_definition",
    "export_event",
    "load_definition",
    "open_store",
    "render_graph",
    "validate_definition",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, (int, str)):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
