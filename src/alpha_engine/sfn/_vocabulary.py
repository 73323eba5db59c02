"""The words of the Amazon States Language, defined once.

State type names, the two query languages, the Choice rule operators, the RFC 3339 timestamp
shape ASL accepts, how a JSONata expression and an intrinsic call are written, and the ASL error
names the runtime routes on. The validator, the compilers, the engine and the graph renderer all
read these from here, so a new operator or state type is added in one place.

Pure data and two syntax tests: this module imports nothing from the runtime.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = [
    "BOOLEAN_COMBINATORS",
    "COMPARISON_KINDS",
    "COMPARISON_OPERATORS",
    "COMPARISON_RELATIONS",
    "ERROR_ALL",
    "ERROR_DATA_LIMIT_EXCEEDED",
    "ERROR_HEARTBEAT_TIMEOUT",
    "ERROR_QUERY_EVALUATION",
    "ERROR_RUNTIME",
    "ERROR_TASK_FAILED",
    "ERROR_TIMEOUT",
    "JSONATA",
    "JSONPATH",
    "QUERY_LANGUAGES",
    "STATE_TYPES",
    "TERMINAL_STATE_TYPES",
    "TIMESTAMP_RE",
    "TYPE_TESTS",
    "is_intrinsic",
    "is_jsonata",
]

# --- query languages ---------------------------------------------------------------------------

JSONPATH: Final = "JSONPath"
JSONATA: Final = "JSONata"
QUERY_LANGUAGES: Final = (JSONPATH, JSONATA)

# --- states ------------------------------------------------------------------------------------

STATE_TYPES: Final = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
TERMINAL_STATE_TYPES: Final = frozenset({"Succeed", "Fail"})

# --- Choice rules (JSONPath mode) --------------------------------------------------------------

COMPARISON_KINDS: Final = ("String", "Numeric", "Timestamp")
COMPARISON_RELATIONS: Final = ("Equals", "LessThan", "GreaterThan", "LessThanEquals", "GreaterThanEquals")
TYPE_TESTS: Final = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")
BOOLEAN_COMBINATORS: Final = ("And", "Or", "Not")

#: Every data-test operator a Choice rule may use (39 of them): the typed comparisons with and
#: without ``Path``, ``BooleanEquals(Path)``, ``StringMatches`` and the type tests.
COMPARISON_OPERATORS: Final[frozenset[str]] = frozenset(
    [f"{kind}{relation}{suffix}" for kind in COMPARISON_KINDS for relation in COMPARISON_RELATIONS
     for suffix in ("", "Path")]
    + ["BooleanEquals", "BooleanEqualsPath", "StringMatches"]
    + list(TYPE_TESTS)
)

# --- timestamps --------------------------------------------------------------------------------

#: An ASL timestamp (Wait ``Timestamp``, ``Timestamp*`` comparisons): RFC 3339 with an uppercase
#: ``T``, optional fractional seconds and a ``Z`` or ``±hh:mm`` zone. Use ``fullmatch``; the groups
#: are year, month, day, hour, minute, second, fraction and zone.
TIMESTAMP_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})")

# --- expressions -------------------------------------------------------------------------------

_INTRINSIC_CALL_RE: Final = re.compile(r"\s*States\.[A-Za-z0-9]+\s*\(")


def is_jsonata(value: Any) -> bool:
    """True for a string written as a JSONata expression: ``{%`` first and ``%}`` last, no padding."""
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def is_intrinsic(text: Any) -> bool:
    """True if ``text`` is written as an intrinsic function call (``States.Name(``...)."""
    return isinstance(text, str) and _INTRINSIC_CALL_RE.match(text) is not None


# --- error names -------------------------------------------------------------------------------

ERROR_ALL: Final = "States.ALL"
ERROR_TASK_FAILED: Final = "States.TaskFailed"
ERROR_TIMEOUT: Final = "States.Timeout"
ERROR_HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
ERROR_RUNTIME: Final = "States.Runtime"
ERROR_DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
ERROR_QUERY_EVALUATION: Final = "States.QueryEvaluationError"
