"""Static validation of an ASL definition: every problem at once, as diagnostics.

:func:`validate_definition` never raises: whatever it is given (a fuzzed mapping, a list, a
string) it answers with :class:`Diagnostic` objects. Codes follow AWS
``ValidateStateMachineDefinition`` where AWS has one (``SCHEMA_VALIDATION_FAILED``,
``MISSING_TRANSITION_TARGET``, ``MISSING_END_STATE``, ``DUPLICATE_STATE_NAME``,
``INVALID_STATE_NAME``, ``INVALID_RESOURCE``; warnings ``NO_DOLLAR``, ``NO_PATH``,
``PASS_RESULT_IS_STATIC``); the others are ours (``NO_LOCAL_BINDING``: a Task resource AWS accepts
but this runtime cannot run, a warning when asked for one). ``location`` is an RFC 6901 JSON pointer
(``/States/Fetch/Retry/0/IntervalSeconds``), so a tool can resolve it; AWS writes array
indices as ``Retry[0]`` instead.

Expressions (JSONPath, reference paths, intrinsics, JSONata) are checked by compiling them with
the same compilers the engine uses, so "valid" means "the engine can load it".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from ._errors import DefinitionInvalid, Diagnostic, ExpressionError
from ._json import json_type_name
from ._vocabulary import (
    BOOLEAN_COMBINATORS,
    COMPARISON_KINDS,
    COMPARISON_RELATIONS,
    JSONATA,
    JSONPATH,
    QUERY_LANGUAGES,
    STATE_TYPES,
    TERMINAL_STATE_TYPES,
    TIMESTAMP_RE,
    TYPE_TESTS,
    is_intrinsic,
    is_jsonata,
)

__all__ = ["check_definition", "validate_definition"]

ERROR = "ERROR"
WARNING = "WARNING"

SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
MISSING_END = "MISSING_END_STATE"
UNSUPPORTED = "UNSUPPORTED_FEATURE"

MAX_STATE_NAME = 80
# Beyond this nesting (Parallel in Map in Parallel..., or payload templates) we stop descending:
# no real definition gets close, and recursion must not be able to crash the validator.
_MAX_DEPTH = 100

_COMMON = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End"})


def _fields(
    both: Iterable[str], jsonpath: Iterable[str], jsonata: Iterable[str]
) -> tuple[frozenset[str], ...]:
    return frozenset(both), frozenset(jsonpath), frozenset(jsonata)


# state type -> (fields in both languages, JSONPath-only fields, JSONata-only fields)
_STATE_FIELDS: dict[str, tuple[frozenset[str], ...]] = {
    "Pass": _fields(
        _COMMON | _FLOW | {"Assign"},
        {"InputPath", "OutputPath", "Parameters", "ResultPath", "Result"},
        {"Output"},
    ),
    "Task": _fields(
        _COMMON
        | _FLOW
        | {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials", "Retry", "Catch", "Assign"},
        {
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
        },
        {"Arguments", "Output"},
    ),
    "Choice": _fields(_COMMON | {"Choices", "Default", "Assign"}, {"InputPath", "OutputPath"}, {"Output"}),
    "Wait": _fields(
        _COMMON | _FLOW | {"Seconds", "Timestamp", "Assign"},
        {"InputPath", "OutputPath", "SecondsPath", "TimestampPath"},
        {"Output"},
    ),
    "Succeed": _fields(_COMMON, {"InputPath", "OutputPath"}, {"Output"}),
    "Fail": _fields(_COMMON | {"Error", "Cause"}, {"ErrorPath", "CausePath"}, ()),
    "Parallel": _fields(
        _COMMON | _FLOW | {"Branches", "Retry", "Catch", "Assign"},
        {"InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"},
        {"Arguments", "Output"},
    ),
    "Map": _fields(
        _COMMON
        | _FLOW
        | {
            "ItemProcessor",
            "Iterator",
            "ItemSelector",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Retry",
            "Catch",
            "Assign",
        },
        {
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        },
        {"Items", "Output"},
    ),
}

_TOP_FIELDS = frozenset({"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"})
_BRANCH_FIELDS = frozenset({"StartAt", "States", "Comment"})
_PROCESSOR_FIELDS = frozenset({"StartAt", "States", "Comment", "ProcessorConfig"})

_RETRIER_FIELDS = frozenset(
    {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
)
_CATCHER_FIELDS = _fields({"ErrorEquals", "Next", "Comment", "Assign"}, {"ResultPath"}, {"Output"})

# Errors AWS raises deterministically (or never retries): retrying them only adds delay.
_NON_RETRIABLE = frozenset(
    {"States.Runtime", "States.DataLimitExceeded", "States.NoChoiceMatched", "States.ResultPathMatchFailure"}
)

# The JSON kind of the literal each Choice operator compares with ('path' for the *Path forms).
_LITERAL_KIND = {"String": "string", "Numeric": "number", "Timestamp": "timestamp"}
_OPERATORS: dict[str, str] = {
    **{f"{kind}{relation}": _LITERAL_KIND[kind] for kind in COMPARISON_KINDS for relation in COMPARISON_RELATIONS},
    **{f"{kind}{relation}Path": "path" for kind in COMPARISON_KINDS for relation in COMPARISON_RELATIONS},
    "BooleanEquals": "boolean",
    "BooleanEqualsPath": "path",
    "StringMatches": "string",
    **{test: "boolean" for test in TYPE_TESTS},
}
_RULE_DATA_FIELDS = frozenset(_OPERATORS) | {"Variable", "Comment", *BOOLEAN_COMBINATORS}

# Intrinsics AWS accepts in Fail ErrorPath/CausePath (AWS "Fail state" documentation).
_FAIL_PATH_INTRINSICS = frozenset(
    {
        "States.Format",
        "States.JsonToString",
        "States.ArrayGetItem",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.UUID",
    }
)

_VARIABLE_PATH_RE = re.compile(r"^\$([^\W\d]\w*)(.*)$", re.DOTALL)
_VARIABLE_NAME_RE = re.compile(r"^[^\W\d]\w*$")
_ARN_RE = re.compile(r"^arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+$")

ResourceHook = Callable[[str], bool]


# --- public API ------------------------------------------------------------------------------


def validate_definition(definition: Any, resource_supported: ResourceHook | None = None, *,
                        unbound_is_error: bool = True) -> list[Diagnostic]:
    """Every problem in ``definition`` as a list of diagnostics (errors and warnings).

    Never raises. ``resource_supported``, when given, is asked about each Task ``Resource``;
    a ``False`` answer becomes an ``INVALID_RESOURCE`` error (the engine uses it to reject
    resources with no local binding), or with ``unbound_is_error=False`` a ``NO_LOCAL_BINDING``
    warning (AWS would accept the definition; only a local run would fail at that state).
    """
    checker = _Checker(resource_supported, unbound_is_error=unbound_is_error)
    try:
        checker.check_root(definition)
    except Exception as exc:  # the contract is "diagnostics, never a crash", even for our own bugs
        checker.error(
            "VALIDATOR_INTERNAL_ERROR",
            f"validation stopped early on an unexpected {type(exc).__name__}: {exc}",
            "",
        )
    return checker.diagnostics


def check_definition(definition: Any, resource_supported: ResourceHook | None = None) -> list[Diagnostic]:
    """Validate; raise :class:`DefinitionInvalid` if there is any error, else return the warnings."""
    diagnostics = validate_definition(definition, resource_supported)
    if any(d.severity == ERROR for d in diagnostics):
        raise DefinitionInvalid(diagnostics)
    return diagnostics


# --- expression compilers (imported lazily) ---------------------------------------------------
#
# The JSONata compiler imports a sizeable library; a JSONPath-only definition should not pay for
# it, and a broken sibling module must become a diagnostic rather than an ImportError here.


def _compile_message(kind: str, text: str) -> str | None:
    """None if ``text`` compiles as ``kind``, else the reason. Cached: definitions repeat paths."""
    try:
        return _compile_cached(kind, text)
    except TypeError:  # unhashable/odd input never reaches here in practice; be safe anyway
        return f"cannot compile a {type(text).__name__}"


@lru_cache(maxsize=4096)
def _compile_cached(kind: str, text: str) -> str | None:
    try:
        if kind == "path":
            from ._jsonpath import compile_path

            compile_path(text)
        elif kind == "reference":
            from ._jsonpath import compile_reference_path

            compile_reference_path(text)
        elif kind == "intrinsic":
            from ._intrinsics import compile_intrinsic

            compile_intrinsic(text, "value")
        elif kind == "jsonata":
            from ._jsonata import compile_jsonata

            compile_jsonata(text)
        else:  # pragma: no cover - programming error
            return f"unknown expression kind {kind!r}"
    except ExpressionError as exc:
        return str(exc) or "malformed expression"
    except ImportError as exc:
        return f"the {kind} compiler is not available ({exc})"
    except Exception as exc:  # a compiler bug must not crash validation
        return f"the {kind} compiler failed on this text ({type(exc).__name__}: {exc})"
    return None


def _looks_like_path(value: str) -> bool:
    """A string AWS would flag as 'looks like a JSONPath or intrinsic' (NO_DOLLAR/NO_PATH)."""
    return value.startswith(("$.", "$$.", "$[")) or is_intrinsic(value)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class _Scope:
    """One namespace of states: the top level, a Parallel branch or a Map processor."""

    __slots__ = ("pointer", "states", "edges", "terminals", "start_at", "malformed")

    def __init__(self, pointer: str) -> None:
        self.pointer = pointer
        self.states: dict[str, str] = {}  # name -> pointer
        # (source state, target name, pointer of the field naming the target)
        self.edges: list[tuple[str, str, str]] = []
        self.terminals: set[str] = set()
        self.start_at: str | None = None
        # A state without a usable Type: its transitions are unknown, so graph-wide verdicts
        # (no terminal, unreachable) would be guesses and are skipped.
        self.malformed = False


class _Checker:
    def __init__(self, resource_supported: ResourceHook | None, *, unbound_is_error: bool = True) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.resource_supported = resource_supported
        self.unbound_is_error = unbound_is_error
        self.top_language = JSONPATH
        self.all_names: dict[str, str] = {}  # state name -> pointer of its first definition
        self.raw_states: dict[str, Mapping[str, Any]] = {}  # for lint rules that follow Next chains
        # (catcher Next, catcher pointer) of States.ALL catchers that drop the error
        self.pending_swallow_checks: list[tuple[str, str]] = []

    # -- reporting --------------------------------------------------------------------------

    def error(self, code: str, message: str, location: str) -> None:
        self.diagnostics.append(Diagnostic(ERROR, code, message, location))

    def warn(self, code: str, message: str, location: str) -> None:
        self.diagnostics.append(Diagnostic(WARNING, code, message, location))

    # -- machine level ----------------------------------------------------------------------

    def check_root(self, definition: Any) -> None:
        if definition is None or (isinstance(definition, (str, bytes)) and not definition.strip()):
            self.error("MISSING_DESCRIPTION", "the definition is empty", "")
            return
        if not isinstance(definition, Mapping):
            self.error(
                "INVALID_JSON_DESCRIPTION",
                f"a definition must be a JSON object, got {json_type_name(definition)}",
                "",
            )
            return
        language = definition.get("QueryLanguage", JSONPATH)
        if "QueryLanguage" in definition and language not in QUERY_LANGUAGES:
            self.error(
                SCHEMA,
                f"QueryLanguage must be 'JSONPath' or 'JSONata', got {language!r}",
                "/QueryLanguage",
            )
            language = JSONPATH
        self.top_language = language
        if "Version" in definition and not isinstance(definition["Version"], str):
            self.error(SCHEMA, "Version must be a string", "/Version")
        if "TimeoutSeconds" in definition:
            timeout = definition["TimeoutSeconds"]
            if not _is_int(timeout) or timeout < 1:
                self.error(
                    SCHEMA,
                    f"TimeoutSeconds must be a positive integer, got {timeout!r}",
                    "/TimeoutSeconds",
                )
        self.check_machine(definition, "", _TOP_FIELDS, language, depth=0)
        self.check_lints()

    def check_machine(
        self, machine: Any, pointer: str, allowed: frozenset[str], language: str, depth: int
    ) -> None:
        if depth > _MAX_DEPTH:
            self.error(SCHEMA, f"state machines are nested more than {_MAX_DEPTH} levels deep", pointer)
            return
        if not isinstance(machine, Mapping):
            self.error(SCHEMA, f"a state machine must be an object, got {json_type_name(machine)}", pointer)
            return
        for key in machine:
            if key not in allowed:
                if key == "QueryLanguage":
                    message = (
                        "Field 'QueryLanguage' is not supported here: only the top level and states set it"
                    )
                else:
                    message = f"Field {key!r} is not supported in a state machine"
                self.error(SCHEMA, message, f"{pointer}/{_escape(str(key))}")
        if "Comment" in machine and not isinstance(machine["Comment"], str):
            self.error(SCHEMA, "Comment must be a string", f"{pointer}/Comment")

        scope = _Scope(pointer)
        start_at = machine.get("StartAt")
        if "StartAt" not in machine:
            self.error(SCHEMA, "StartAt is required: it names the first state to run", pointer)
        elif not isinstance(start_at, str):
            self.error(SCHEMA, f"StartAt must be a string, got {json_type_name(start_at)}", f"{pointer}/StartAt")
        else:
            scope.start_at = start_at

        states = machine.get("States")
        if "States" not in machine:
            self.error(SCHEMA, "States is required: an object of state name -> state", pointer)
            return
        if not isinstance(states, Mapping):
            self.error(SCHEMA, f"States must be an object, got {json_type_name(states)}", f"{pointer}/States")
            return
        if not states:
            self.error(SCHEMA, "States must define at least one state", f"{pointer}/States")
            return

        for name, state in states.items():
            if not isinstance(name, str):
                self.error(SCHEMA, f"state names must be strings, got {name!r}", f"{pointer}/States")
                continue
            state_pointer = f"{pointer}/States/{_escape(name)}"
            self.check_state_name(name, state_pointer)
            scope.states[name] = state_pointer
            self.check_state(name, state, state_pointer, language, scope, depth)

        self.check_graph(scope)

    def check_state_name(self, name: str, pointer: str) -> None:
        if not name or len(name) > MAX_STATE_NAME:
            self.error(
                "INVALID_STATE_NAME",
                f"state name {name!r} must be 1 to {MAX_STATE_NAME} characters long (it has {len(name)})",
                pointer,
            )
        elif any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in name):
            self.error("INVALID_STATE_NAME", f"state name {name!r} contains a control character", pointer)
        first = self.all_names.get(name)
        if first is None:
            self.all_names[name] = pointer
        else:
            self.error(
                "DUPLICATE_STATE_NAME",
                f"state name {name!r} is already used at {first}; names must be unique across the "
                "whole machine, including Parallel branches and Map processors",
                pointer,
            )

    def check_graph(self, scope: _Scope) -> None:
        known = scope.states
        adjacency: dict[str, list[str]] = {name: [] for name in known}
        for source, target, where in scope.edges:
            if target in known:
                adjacency[source].append(target)
            else:
                elsewhere = self.all_names.get(target)
                hint = (
                    f" (it is defined at {elsewhere}; Parallel branches and Map processors are separate "
                    "namespaces)"
                    if elsewhere is not None
                    else ""
                )
                self.error(
                    MISSING_TARGET,
                    f"Missing 'Next' target: {target!r} is not a state in this scope{hint}",
                    where,
                )
        start = scope.start_at
        start_ok = start is not None and start in known
        if start is not None and not start_ok:
            self.error(
                MISSING_TARGET,
                f"Missing 'StartAt' target: {start!r} is not a state in this scope",
                f"{scope.pointer}/StartAt",
            )
        if scope.malformed:
            return
        if not scope.terminals:
            # AWS reports only this when there is no way out at all; unreachable-state noise would
            # hide the real problem.
            self.error(
                MISSING_END,
                "Workflow has no terminal state: add End: true, a Succeed or a Fail state",
                scope.pointer,
            )
            return
        if start is None or not start_ok:
            return
        # With a terminal state present, "every state reachable" implies "a terminal is reachable".
        reached = {start}
        frontier = [start]
        while frontier:
            for target in adjacency[frontier.pop()]:
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        for name, where in known.items():
            if name not in reached:
                self.error(MISSING_TARGET, f"State {name!r} is not reachable from StartAt {start!r}", where)

    # -- states -----------------------------------------------------------------------------

    def check_state(
        self, name: str, state: Any, pointer: str, parent_language: str, scope: _Scope, depth: int
    ) -> None:
        if not isinstance(state, Mapping):
            self.error(SCHEMA, f"state {name!r} must be an object, got {json_type_name(state)}", pointer)
            scope.malformed = True
            return
        self.raw_states.setdefault(name, state)
        state_type = state.get("Type")
        if "Type" not in state:
            self.error(SCHEMA, f"state {name!r} has no Type", pointer)
            scope.malformed = True
            self.collect_edges(name, state, pointer, scope, transitions=True)
            return
        if not isinstance(state_type, str) or state_type not in _STATE_FIELDS:
            self.error(
                SCHEMA,
                f"state {name!r} has unknown Type {state_type!r}; expected one of {', '.join(STATE_TYPES)}",
                f"{pointer}/Type",
            )
            scope.malformed = True
            self.collect_edges(name, state, pointer, scope, transitions=True)
            return
        language = self.state_language(state, pointer, parent_language)
        jsonata = language == JSONATA
        both, path_only, jsonata_only = _STATE_FIELDS[state_type]
        for key in state:
            if key in both:
                continue
            where = f"{pointer}/{_escape(str(key))}"
            if key in path_only and jsonata:
                self.error(
                    SCHEMA,
                    f"The QueryLanguage is set to 'JSONata', but field {key!r} is only supported for the "
                    "'JSONPath' QueryLanguage",
                    where,
                )
            elif key in jsonata_only and not jsonata:
                self.error(
                    SCHEMA,
                    f"The QueryLanguage is set to 'JSONPath', but field {key!r} is only supported for the "
                    "'JSONata' QueryLanguage",
                    where,
                )
            elif key not in path_only and key not in jsonata_only:
                self.error(SCHEMA, f"Field {key!r} is not supported by a {state_type} state", where)
        if "Comment" in state and not isinstance(state["Comment"], str):
            self.error(SCHEMA, "Comment must be a string", f"{pointer}/Comment")

        self.check_flow(name, state, state_type, pointer, scope)
        self.check_io(state, pointer, jsonata)
        if "Assign" in state:
            self.check_assign(state["Assign"], f"{pointer}/Assign", jsonata)
        getattr(self, f"check_{state_type.lower()}")(name, state, pointer, language, scope, depth)

    def state_language(self, state: Mapping[str, Any], pointer: str, parent_language: str) -> str:
        if "QueryLanguage" not in state:
            return parent_language
        language = state["QueryLanguage"]
        if language not in QUERY_LANGUAGES:
            self.error(
                SCHEMA,
                f"QueryLanguage must be 'JSONPath' or 'JSONata', got {language!r}",
                f"{pointer}/QueryLanguage",
            )
            return parent_language
        if language == JSONPATH and self.top_language == JSONATA:
            self.error(
                SCHEMA,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                f"{pointer}/QueryLanguage",
            )
        return str(language)

    def check_flow(
        self, name: str, state: Mapping[str, Any], state_type: str, pointer: str, scope: _Scope
    ) -> None:
        if state_type in TERMINAL_STATE_TYPES:
            scope.terminals.add(name)
            return
        if state_type == "Choice":
            self.collect_edges(name, state, pointer, scope, transitions=False)
            return
        has_next = "Next" in state
        end = state.get("End")
        if "End" in state and not isinstance(end, bool):
            self.error(SCHEMA, f"End must be a boolean, got {json_type_name(end)}", f"{pointer}/End")
        if has_next and end is True:
            self.error(
                SCHEMA,
                f"state {name!r} has both Next and End: true; a state either transitions or ends",
                pointer,
            )
        elif not has_next and end is not True:
            self.error(
                SCHEMA,
                f"state {name!r} needs either Next (the state to run after it) or End: true",
                pointer,
            )
        if end is True:
            scope.terminals.add(name)
        self.collect_edges(name, state, pointer, scope, transitions=True)

    def collect_edges(
        self, name: str, state: Mapping[str, Any], pointer: str, scope: _Scope, *, transitions: bool
    ) -> None:
        if transitions and "Next" in state:
            self.add_edge(scope, name, state["Next"], f"{pointer}/Next", "Next")
        catchers = state.get("Catch")
        if isinstance(catchers, list):
            for i, catcher in enumerate(catchers):
                if isinstance(catcher, Mapping) and "Next" in catcher:
                    self.add_edge(scope, name, catcher["Next"], f"{pointer}/Catch/{i}/Next", "Next")

    def add_edge(self, scope: _Scope, source: str, target: Any, where: str, field: str) -> None:
        if isinstance(target, str):
            scope.edges.append((source, target, where))
        else:
            self.error(SCHEMA, f"{field} must be a state name (string), got {json_type_name(target)}", where)

    # -- input/output processing ------------------------------------------------------------

    def check_io(self, state: Mapping[str, Any], pointer: str, jsonata: bool) -> None:
        if jsonata:
            for key in ("Arguments", "Output"):
                if key in state:
                    self.check_jsonata_template(state[key], f"{pointer}/{key}", depth=0)
            return
        for key in ("InputPath", "OutputPath"):
            if key in state and state[key] is not None:
                self.check_path_field(state[key], key, f"{pointer}/{key}", kind="path")
        if "ResultPath" in state and state["ResultPath"] is not None:
            self.check_result_path(state["ResultPath"], f"{pointer}/ResultPath")
        for key in ("Parameters", "ResultSelector"):
            if key in state:
                self.check_payload_template(state[key], f"{pointer}/{key}", key)

    def check_result_path(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            self.error(SCHEMA, f"ResultPath must be a reference path or null, got {json_type_name(value)}", where)
            return
        if not value.startswith("$") or value.startswith("$$") or _VARIABLE_PATH_RE.match(value):
            self.error(
                SCHEMA,
                f"ResultPath {value!r} must be a reference path into the state input ('$', '$.a.b', '$.a[0]')",
                where,
            )
            return
        reason = _compile_message("reference", value)
        if reason is not None:
            self.error(SCHEMA, f"ResultPath {value!r} is not a valid reference path: {reason}", where)

    def check_path_field(self, value: Any, field: str, where: str, *, kind: str) -> bool:
        """A JSONPath (kind 'path') or reference path ('reference') that may start with $$ or $var."""
        label = "JSONPath" if kind == "path" else "reference path"
        if not isinstance(value, str):
            self.error(SCHEMA, f"{field} must be a {label} string, got {json_type_name(value)}", where)
            return False
        reason = self.path_problem(value, kind)
        if reason is not None:
            self.error(SCHEMA, f"{field} {value!r} is not a valid {label}: {reason}", where)
            return False
        return True

    def path_problem(self, text: str, kind: str) -> str | None:
        """Why ``text`` is not a path usable in a JSONPath-mode field, or None if it is."""
        if not text.startswith("$"):
            return "a path starts with '$'"
        if text.startswith("$$"):
            return _compile_message(kind, text[1:])
        variable = _VARIABLE_PATH_RE.match(text)
        if variable is not None:
            # '$name.rest' reads workflow variable 'name' and applies '$.rest' to its value.
            return _compile_message(kind, "$" + variable.group(2))
        return _compile_message(kind, text)

    def check_payload_template(self, template: Any, where: str, field: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            self.error(SCHEMA, f"{field} is nested more than {_MAX_DEPTH} levels deep", where)
            return
        if isinstance(template, Mapping):
            for key, value in template.items():
                key_text = str(key)
                child = f"{where}/{_escape(key_text)}"
                if key_text.endswith(".$"):
                    self.check_dynamic_value(value, key_text, child)
                elif isinstance(value, str) and _looks_like_path(value):
                    self.warn(
                        "NO_DOLLAR",
                        f"{key_text!r} holds {value!r}, which looks like a path or intrinsic, but the key "
                        f"does not end in '.$', so it is passed as a literal string",
                        child,
                    )
                else:
                    self.check_payload_template(value, child, field, depth + 1)
        elif isinstance(template, list):
            for i, item in enumerate(template):
                self.check_payload_template(item, f"{where}/{i}", field, depth + 1)

    def check_dynamic_value(
        self, value: Any, key: str, where: str, *, allowed: frozenset[str] | None = None
    ) -> None:
        """The value of a '.$' key: a path, context path, variable path or intrinsic call."""
        if not isinstance(value, str):
            self.error(
                SCHEMA,
                f"the value of {key!r} must be a path or intrinsic function string, got {json_type_name(value)}",
                where,
            )
            return
        if value.startswith("$"):
            reason = self.path_problem(value, "path")
            if reason is not None:
                self.error(
                    SCHEMA, f"the value of {key!r}, {value!r}, is not a valid JSONPath: {reason}", where
                )
            return
        if is_intrinsic(value):
            name = value.split("(", 1)[0].strip()
            if allowed is not None and name not in allowed:
                self.error(
                    SCHEMA,
                    f"{key} cannot use {name}; allowed here: {', '.join(sorted(allowed))}",
                    where,
                )
                return
            reason = _compile_message("intrinsic", value)
            if reason is not None:
                self.error(
                    SCHEMA, f"the value of {key!r}, {value!r}, is not a valid intrinsic call: {reason}", where
                )
            return
        self.error(
            SCHEMA,
            f"the value of {key!r} is {value!r}, which is neither a path ('$...', '$$...', '$var') nor an "
            "intrinsic function call; drop the '.$' to pass it as a literal",
            where,
        )

    def check_assign(self, assign: Any, where: str, jsonata: bool) -> None:
        if not isinstance(assign, Mapping):
            self.error(
                SCHEMA, f"Assign must be an object of variable name -> value, got {json_type_name(assign)}", where
            )
            return
        for key, value in assign.items():
            key_text = str(key)
            child = f"{where}/{_escape(key_text)}"
            name = key_text[:-2] if (key_text.endswith(".$") and not jsonata) else key_text
            if _VARIABLE_NAME_RE.match(name) is None:
                self.error(
                    SCHEMA,
                    f"variable name {name!r} must start with a letter or '_' and contain only letters, digits "
                    "and '_'",
                    child,
                )
            if jsonata:
                self.check_jsonata_template(value, child, depth=0)
            elif key_text.endswith(".$"):
                self.check_dynamic_value(value, key_text, child)
            elif isinstance(value, str) and _looks_like_path(value):
                self.warn(
                    "NO_DOLLAR",
                    f"{key_text!r} holds {value!r}, which looks like a path, but the key does not end in '.$'",
                    child,
                )
            else:
                self.check_payload_template(value, child, "Assign", 1)

    def check_jsonata_template(self, value: Any, where: str, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.error(SCHEMA, f"value is nested more than {_MAX_DEPTH} levels deep", where)
            return
        if isinstance(value, str):
            if is_jsonata(value):
                reason = _compile_message("jsonata", value)
                if reason is not None:
                    self.error(
                        "INVALID_JSONATA", f"JSONata expression {value!r} does not compile: {reason}", where
                    )
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.check_jsonata_template(item, f"{where}/{_escape(str(key))}", depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self.check_jsonata_template(item, f"{where}/{i}", depth + 1)

    def check_jsonata_or(
        self,
        state: Mapping[str, Any],
        key: str,
        pointer: str,
        jsonata: bool,
        check: Callable[[Any, str], None],
    ) -> None:
        """A field that holds a literal (checked by ``check``) or, in JSONata mode, an expression."""
        if key not in state:
            return
        value = state[key]
        where = f"{pointer}/{key}"
        if jsonata and isinstance(value, str) and is_jsonata(value):
            self.check_jsonata_template(value, where, 0)
        else:
            check(value, where)

    def positive_int(self, field: str, minimum: int = 1) -> Callable[[Any, str], None]:
        def check(value: Any, where: str) -> None:
            if not _is_int(value) or value < minimum:
                wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
                self.error(SCHEMA, f"{field} must be {wanted}, got {value!r}", where)

        return check

    def exclusive(self, state: Mapping[str, Any], pointer: str, *keys: str) -> None:
        present = [k for k in keys if k in state]
        if len(present) > 1:
            self.error(
                SCHEMA,
                f"{' and '.join(present)} are mutually exclusive: give only one of them",
                f"{pointer}/{present[1]}",
            )

    # -- per type ---------------------------------------------------------------------------

    def check_pass(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        if "Result" in state and language == JSONPATH and _contains_path(state["Result"]):
            self.warn(
                "PASS_RESULT_IS_STATIC",
                f"the Result of Pass state {name!r} contains a path or '.$' key; Result is static and is "
                "never evaluated (use Parameters to select from the input)",
                f"{pointer}/Result",
            )

    def check_task(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        jsonata = language == JSONATA
        self.check_resource(state, pointer)
        self.exclusive(state, pointer, "TimeoutSeconds", "TimeoutSecondsPath")
        self.exclusive(state, pointer, "HeartbeatSeconds", "HeartbeatSecondsPath")
        self.check_jsonata_or(state, "TimeoutSeconds", pointer, jsonata, self.positive_int("TimeoutSeconds"))
        self.check_jsonata_or(
            state, "HeartbeatSeconds", pointer, jsonata, self.positive_int("HeartbeatSeconds")
        )
        for key in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
            if key in state:
                self.check_path_field(state[key], key, f"{pointer}/{key}", kind="reference")
        timeout: Any = state.get("TimeoutSeconds")
        heartbeat: Any = state.get("HeartbeatSeconds")
        if _is_int(timeout) and _is_int(heartbeat) and heartbeat >= timeout:
            self.error(
                SCHEMA,
                f"HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})",
                f"{pointer}/HeartbeatSeconds",
            )
        if "Credentials" in state:
            credentials = state["Credentials"]
            where = f"{pointer}/Credentials"
            if not isinstance(credentials, Mapping):
                self.error(SCHEMA, f"Credentials must be an object, got {json_type_name(credentials)}", where)
            elif jsonata:
                self.check_jsonata_template(credentials, where, 0)
            else:
                self.check_payload_template(credentials, where, "Credentials")
        self.check_retry(state, pointer)
        self.check_catch(state, pointer, jsonata)

    def check_resource(self, state: Mapping[str, Any], pointer: str) -> None:
        where = f"{pointer}/Resource"
        if "Resource" not in state:
            self.error(SCHEMA, "a Task state needs a Resource (the ARN of what it calls)", pointer)
            return
        resource = state["Resource"]
        if not isinstance(resource, str):
            self.error(SCHEMA, f"Resource must be an ARN string, got {json_type_name(resource)}", where)
            return
        if not _ARN_RE.match(resource):
            self.error(
                "INVALID_RESOURCE", f"Resource {resource!r} is not an ARN (arn:partition:service:...)", where
            )
            return
        if resource.split(":", 6)[5:6] == ["activity"]:
            self.error(UNSUPPORTED, f"activities ({resource!r}) are not supported by this runtime", where)
            return
        if self.resource_supported is not None:
            try:
                supported = bool(self.resource_supported(resource))
            except Exception as exc:  # a faulty hook is reported, not propagated
                self.error(
                    "INVALID_RESOURCE",
                    f"checking Resource {resource!r} failed: {type(exc).__name__}: {exc}",
                    where,
                )
                return
            if not supported and self.unbound_is_error:
                self.error(
                    "INVALID_RESOURCE", f"Resource {resource!r} has no local binding in this runtime", where
                )
            elif not supported:
                self.warn(
                    "NO_LOCAL_BINDING",
                    f"Resource {resource!r} has no local binding: AWS accepts it, but the local runtime "
                    f"cannot run this state ('alpha-engine sfn run' refuses the definition)",
                    where,
                )

    def check_choice(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        jsonata = language == JSONATA
        choices = state.get("Choices")
        where = f"{pointer}/Choices"
        if "Choices" not in state:
            self.error(SCHEMA, f"Choice state {name!r} needs a Choices array", pointer)
        elif not isinstance(choices, list) or not choices:
            self.error(SCHEMA, "Choices must be a non-empty array of choice rules", where)
        else:
            for i, rule in enumerate(choices):
                self.check_top_rule(name, rule, f"{where}/{i}", jsonata, scope)
        if "Default" in state:
            self.add_edge(scope, name, state["Default"], f"{pointer}/Default", "Default")
        else:
            self.warn(
                "CHOICE_WITHOUT_DEFAULT",
                f"Choice state {name!r} has no Default: when no rule matches the execution fails with "
                "States.NoChoiceMatched",
                pointer,
            )

    def check_top_rule(self, name: str, rule: Any, where: str, jsonata: bool, scope: _Scope) -> None:
        if not isinstance(rule, Mapping):
            self.error(SCHEMA, f"a choice rule must be an object, got {json_type_name(rule)}", where)
            return
        if "Next" in rule:
            self.add_edge(scope, name, rule["Next"], f"{where}/Next", "Next")
        else:
            self.error(
                SCHEMA, "a top-level choice rule needs Next (the state to go to when it matches)", where
            )
        if "Assign" in rule:
            self.check_assign(rule["Assign"], f"{where}/Assign", jsonata)
        if jsonata:
            for key in rule:
                if key in ("Next", "Assign", "Comment", "Condition", "Output"):
                    continue
                kind = "JSONPath" if key in _RULE_DATA_FIELDS else "supported"
                message = (
                    f"The QueryLanguage is set to 'JSONata', but field {key!r} is only supported for the "
                    "'JSONPath' QueryLanguage"
                    if kind == "JSONPath"
                    else f"Field {key!r} is not supported in a choice rule"
                )
                self.error(SCHEMA, message, f"{where}/{_escape(str(key))}")
            if "Condition" not in rule:
                self.error(SCHEMA, "a JSONata choice rule needs a Condition ('{% ... %}')", where)
            else:
                condition = rule["Condition"]
                if isinstance(condition, bool):
                    pass
                elif is_jsonata(condition):
                    self.check_jsonata_template(condition, f"{where}/Condition", 0)
                else:
                    self.error(
                        SCHEMA,
                        f"Condition must be a JSONata expression '{{% ... %}}' or a boolean, got {condition!r}",
                        f"{where}/Condition",
                    )
            if "Output" in rule:
                self.check_jsonata_template(rule["Output"], f"{where}/Output", 0)
            return
        for key in ("Condition", "Output"):
            if key in rule:
                self.error(
                    SCHEMA,
                    f"The QueryLanguage is set to 'JSONPath', but field {key!r} is only supported for the "
                    "'JSONata' QueryLanguage",
                    f"{where}/{key}",
                )
        self.check_rule_body(rule, where, nested=False, depth=0)

    def check_rule_body(self, rule: Mapping[str, Any], where: str, *, nested: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.error(SCHEMA, f"choice rules are nested more than {_MAX_DEPTH} levels deep", where)
            return
        allowed_extra = ("Comment",) if nested else ("Next", "Assign", "Comment", "Condition", "Output")
        operators = []
        for key in rule:
            if key in _OPERATORS or key in BOOLEAN_COMBINATORS:
                operators.append(key)
            elif key == "Variable" or key in allowed_extra:
                continue
            elif nested and key in ("Next", "Assign"):
                self.error(
                    SCHEMA, f"a nested choice rule (inside And/Or/Not) cannot have {key}", f"{where}/{key}"
                )
            else:
                self.error(
                    SCHEMA, f"Field {key!r} is not supported in a choice rule", f"{where}/{_escape(str(key))}"
                )
        if not operators:
            self.error(
                SCHEMA,
                "a choice rule needs exactly one comparison operator (with Variable) or And/Or/Not",
                where,
            )
            return
        if len(operators) > 1:
            self.error(
                SCHEMA,
                f"a choice rule must have exactly one comparison operator, found {', '.join(operators)}",
                where,
            )
            return
        operator = operators[0]
        value = rule[operator]
        op_where = f"{where}/{operator}"
        if operator in ("And", "Or"):
            if "Variable" in rule:
                self.error(SCHEMA, f"Variable cannot be combined with {operator}", f"{where}/Variable")
            if not isinstance(value, list) or not value:
                self.error(SCHEMA, f"{operator} must be a non-empty array of choice rules", op_where)
                return
            for i, sub in enumerate(value):
                self.check_nested_rule(sub, f"{op_where}/{i}", depth)
            return
        if operator == "Not":
            if "Variable" in rule:
                self.error(SCHEMA, "Variable cannot be combined with Not", f"{where}/Variable")
            self.check_nested_rule(value, op_where, depth)
            return
        if "Variable" not in rule:
            self.error(SCHEMA, f"a choice rule using {operator} needs a Variable (the path to test)", where)
        else:
            self.check_path_field(rule["Variable"], "Variable", f"{where}/Variable", kind="reference")
        kind = _OPERATORS[operator]
        if kind == "path":
            self.check_path_field(value, operator, op_where, kind="reference")
        elif kind == "string" and not isinstance(value, str):
            self.error(SCHEMA, f"{operator} compares with a string, got {json_type_name(value)}", op_where)
        elif kind == "number" and not _is_number(value):
            self.error(SCHEMA, f"{operator} compares with a number, got {json_type_name(value)}", op_where)
        elif kind == "boolean" and not isinstance(value, bool):
            self.error(SCHEMA, f"{operator} takes true or false, got {json_type_name(value)}", op_where)
        elif kind == "timestamp":
            if not isinstance(value, str):
                self.error(
                    SCHEMA, f"{operator} compares with a timestamp string, got {json_type_name(value)}", op_where
                )
            elif not TIMESTAMP_RE.fullmatch(value):
                self.warn(
                    "INVALID_TIMESTAMP",
                    f"{operator} value {value!r} is not an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z); "
                    "the rule can never match",
                    op_where,
                )

    def check_nested_rule(self, rule: Any, where: str, depth: int) -> None:
        if not isinstance(rule, Mapping):
            self.error(SCHEMA, f"a choice rule must be an object, got {json_type_name(rule)}", where)
            return
        self.check_rule_body(rule, where, nested=True, depth=depth + 1)

    def check_wait(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        jsonata = language == JSONATA
        keys = [k for k in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if k in state]
        if not keys:
            self.error(
                SCHEMA,
                f"Wait state {name!r} needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath",
                pointer,
            )
        elif len(keys) > 1:
            self.error(
                SCHEMA,
                f"Wait state {name!r} has {' and '.join(keys)}; give exactly one of Seconds, SecondsPath, "
                "Timestamp, TimestampPath",
                f"{pointer}/{keys[1]}",
            )
        self.check_jsonata_or(state, "Seconds", pointer, jsonata, self.positive_int("Seconds", minimum=0))

        def timestamp(value: Any, where: str) -> None:
            if not isinstance(value, str):
                self.error(SCHEMA, f"Timestamp must be an RFC 3339 string, got {json_type_name(value)}", where)
            elif _looks_like_path(value):
                self.warn(
                    "NO_PATH", f"Timestamp {value!r} looks like a path; did you mean TimestampPath?", where
                )
            elif not TIMESTAMP_RE.fullmatch(value):
                self.error(
                    SCHEMA,
                    f"Timestamp {value!r} is not an RFC 3339 timestamp (e.g. 2024-01-31T12:00:00Z)",
                    where,
                )

        self.check_jsonata_or(state, "Timestamp", pointer, jsonata, timestamp)
        for key in ("SecondsPath", "TimestampPath"):
            if key in state:
                self.check_path_field(state[key], key, f"{pointer}/{key}", kind="reference")

    def check_succeed(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        return

    def check_fail(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        jsonata = language == JSONATA
        self.exclusive(state, pointer, "Error", "ErrorPath")
        self.exclusive(state, pointer, "Cause", "CausePath")
        for key in ("Error", "Cause"):
            if key not in state:
                continue
            value, where = state[key], f"{pointer}/{key}"
            if not isinstance(value, str):
                self.error(SCHEMA, f"{key} must be a string, got {json_type_name(value)}", where)
            elif jsonata and is_jsonata(value):
                self.check_jsonata_template(value, where, 0)
            elif not jsonata and _looks_like_path(value):
                self.warn(
                    "NO_PATH",
                    f"{key} {value!r} looks like a path but is used as a literal; did you mean {key}Path?",
                    where,
                )
        for key in ("ErrorPath", "CausePath"):
            if key not in state:
                continue
            value, where = state[key], f"{pointer}/{key}"
            if is_intrinsic(value):
                self.check_dynamic_value(value, key, where, allowed=_FAIL_PATH_INTRINSICS)
            else:
                self.check_path_field(value, key, where, kind="reference")

    def check_parallel(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        branches = state.get("Branches")
        where = f"{pointer}/Branches"
        if "Branches" not in state:
            self.error(SCHEMA, f"Parallel state {name!r} needs Branches", pointer)
        elif not isinstance(branches, list) or not branches:
            self.error(SCHEMA, "Branches must be a non-empty array of state machines", where)
        else:
            for i, branch in enumerate(branches):
                # Inner scopes take the machine's top-level language, not the Parallel's own:
                # AWS rejects JSONata-only fields inside a branch of a JSONata Parallel in a
                # JSONPath machine unless the inner state declares QueryLanguage itself.
                self.check_machine(branch, f"{where}/{i}", _BRANCH_FIELDS, self.top_language, depth + 1)
        self.check_retry(state, pointer)
        self.check_catch(state, pointer, language == JSONATA)

    def check_map(
        self, name: str, state: Mapping[str, Any], pointer: str, language: str, scope: _Scope, depth: int
    ) -> None:
        jsonata = language == JSONATA
        for key in ("ItemReader", "ItemBatcher", "ResultWriter"):
            if key in state:
                self.error(
                    UNSUPPORTED,
                    f"{key} (Distributed Map) is not supported by this runtime; only inline Map is",
                    f"{pointer}/{key}",
                )
        self.exclusive(state, pointer, "ItemProcessor", "Iterator")
        processor_key = (
            "ItemProcessor" if "ItemProcessor" in state else "Iterator" if "Iterator" in state else None
        )
        if processor_key is None:
            self.error(
                SCHEMA, f"Map state {name!r} needs an ItemProcessor (the states run per item)", pointer
            )
        else:
            processor = state[processor_key]
            where = f"{pointer}/{processor_key}"
            if isinstance(processor, Mapping):
                self.check_processor_config(processor.get("ProcessorConfig"), f"{where}/ProcessorConfig")
            self.check_machine(processor, where, _PROCESSOR_FIELDS, self.top_language, depth + 1)
        self.exclusive(state, pointer, "ItemSelector", "Parameters")
        if "ItemSelector" in state:
            if jsonata:
                self.check_jsonata_template(state["ItemSelector"], f"{pointer}/ItemSelector", 0)
            else:
                self.check_payload_template(state["ItemSelector"], f"{pointer}/ItemSelector", "ItemSelector")
        if "ItemsPath" in state:
            self.check_path_field(state["ItemsPath"], "ItemsPath", f"{pointer}/ItemsPath", kind="path")
        if "Items" in state:
            items = state["Items"]
            if isinstance(items, list) or is_jsonata(items):
                self.check_jsonata_template(items, f"{pointer}/Items", 0)
            else:
                self.error(
                    SCHEMA,
                    f"Items must be an array or a JSONata expression, got {json_type_name(items)}",
                    f"{pointer}/Items",
                )
        self.exclusive(state, pointer, "MaxConcurrency", "MaxConcurrencyPath")
        self.exclusive(state, pointer, "ToleratedFailureCount", "ToleratedFailureCountPath")
        self.exclusive(state, pointer, "ToleratedFailurePercentage", "ToleratedFailurePercentagePath")
        self.check_jsonata_or(
            state, "MaxConcurrency", pointer, jsonata, self.positive_int("MaxConcurrency", 0)
        )
        self.check_jsonata_or(
            state, "ToleratedFailureCount", pointer, jsonata, self.positive_int("ToleratedFailureCount", 0)
        )

        def percentage(value: Any, where: str) -> None:
            if not _is_number(value) or not 0 <= value <= 100:
                self.error(
                    SCHEMA, f"ToleratedFailurePercentage must be a number from 0 to 100, got {value!r}", where
                )

        self.check_jsonata_or(state, "ToleratedFailurePercentage", pointer, jsonata, percentage)
        for path_key in ("MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath"):
            if path_key in state:
                self.check_path_field(state[path_key], path_key, f"{pointer}/{path_key}", kind="reference")
        if "Label" in state and not isinstance(state["Label"], str):
            self.error(
                SCHEMA, f"Label must be a string, got {json_type_name(state['Label'])}", f"{pointer}/Label"
            )
        self.check_retry(state, pointer)
        self.check_catch(state, pointer, jsonata)

    def check_processor_config(self, config: Any, where: str) -> None:
        if config is None:
            return
        if not isinstance(config, Mapping):
            self.error(SCHEMA, f"ProcessorConfig must be an object, got {json_type_name(config)}", where)
            return
        for key in config:
            if key not in ("Mode", "ExecutionType"):
                self.error(
                    SCHEMA,
                    f"Field {key!r} is not supported in ProcessorConfig",
                    f"{where}/{_escape(str(key))}",
                )
        mode = config.get("Mode", "INLINE")
        if mode == "DISTRIBUTED":
            self.error(
                UNSUPPORTED,
                "Distributed Map (ProcessorConfig Mode DISTRIBUTED) is not supported by this runtime; use INLINE",
                f"{where}/Mode",
            )
        elif mode != "INLINE":
            self.error(
                SCHEMA, f"ProcessorConfig Mode must be INLINE or DISTRIBUTED, got {mode!r}", f"{where}/Mode"
            )
        if "ExecutionType" in config and config["ExecutionType"] not in ("STANDARD", "EXPRESS"):
            self.error(
                SCHEMA,
                f"ProcessorConfig ExecutionType must be STANDARD or EXPRESS, got {config['ExecutionType']!r}",
                f"{where}/ExecutionType",
            )

    # -- Retry / Catch ----------------------------------------------------------------------

    def check_error_equals(self, entry: Mapping[str, Any], where: str, is_last: bool, what: str) -> list[str]:
        errors = entry.get("ErrorEquals")
        list_where = f"{where}/ErrorEquals"
        if "ErrorEquals" not in entry:
            self.error(SCHEMA, f"a {what} needs ErrorEquals (the error names it handles)", where)
            return []
        if not isinstance(errors, list) or not errors:
            self.error(SCHEMA, "ErrorEquals must be a non-empty array of error names", list_where)
            return []
        names: list[str] = []
        for i, error in enumerate(errors):
            if not isinstance(error, str):
                self.error(SCHEMA, f"error names are strings, got {json_type_name(error)}", f"{list_where}/{i}")
            else:
                names.append(error)
        if "States.ALL" in names:
            if len(errors) > 1:
                self.error(
                    SCHEMA,
                    "States.ALL must appear alone in its ErrorEquals array (it already matches every error)",
                    list_where,
                )
            if not is_last:
                self.error(
                    SCHEMA,
                    f"a {what} with States.ALL must be the last one: the ones after it can never match",
                    list_where,
                )
        return names

    def check_retry(self, state: Mapping[str, Any], pointer: str) -> None:
        if "Retry" not in state:
            return
        retriers = state["Retry"]
        where = f"{pointer}/Retry"
        if not isinstance(retriers, list):
            self.error(SCHEMA, f"Retry must be an array of retriers, got {json_type_name(retriers)}", where)
            return
        for i, retrier in enumerate(retriers):
            r_where = f"{where}/{i}"
            if not isinstance(retrier, Mapping):
                self.error(SCHEMA, f"a retrier must be an object, got {json_type_name(retrier)}", r_where)
                continue
            for key in retrier:
                if key not in _RETRIER_FIELDS:
                    self.error(
                        SCHEMA,
                        f"Field {key!r} is not supported in a retrier",
                        f"{r_where}/{_escape(str(key))}",
                    )
            names = self.check_error_equals(retrier, r_where, i == len(retriers) - 1, "retrier")
            pointless = sorted(_NON_RETRIABLE.intersection(names))
            if pointless:
                self.warn(
                    "RETRY_NON_RETRIABLE",
                    f"retrying {', '.join(pointless)} cannot help: these errors are deterministic "
                    "(AWS does not retry them)",
                    f"{r_where}/ErrorEquals",
                )
            if "IntervalSeconds" in retrier:
                self.positive_int("IntervalSeconds")(retrier["IntervalSeconds"], f"{r_where}/IntervalSeconds")
            if "MaxAttempts" in retrier:
                self.positive_int("MaxAttempts", 0)(retrier["MaxAttempts"], f"{r_where}/MaxAttempts")
            if "MaxDelaySeconds" in retrier:
                self.positive_int("MaxDelaySeconds")(retrier["MaxDelaySeconds"], f"{r_where}/MaxDelaySeconds")
            if "BackoffRate" in retrier:
                rate = retrier["BackoffRate"]
                if not _is_number(rate) or rate < 1.0:
                    self.error(
                        SCHEMA, f"BackoffRate must be a number >= 1.0, got {rate!r}", f"{r_where}/BackoffRate"
                    )
            if "JitterStrategy" in retrier and retrier["JitterStrategy"] not in ("FULL", "NONE"):
                self.error(
                    SCHEMA,
                    f"JitterStrategy must be FULL or NONE, got {retrier['JitterStrategy']!r}",
                    f"{r_where}/JitterStrategy",
                )
            if "Comment" in retrier and not isinstance(retrier["Comment"], str):
                self.error(SCHEMA, "Comment must be a string", f"{r_where}/Comment")

    def check_catch(self, state: Mapping[str, Any], pointer: str, jsonata: bool) -> None:
        if "Catch" not in state:
            return
        catchers = state["Catch"]
        where = f"{pointer}/Catch"
        if not isinstance(catchers, list):
            self.error(SCHEMA, f"Catch must be an array of catchers, got {json_type_name(catchers)}", where)
            return
        both, path_only, jsonata_only = _CATCHER_FIELDS
        for i, catcher in enumerate(catchers):
            c_where = f"{where}/{i}"
            if not isinstance(catcher, Mapping):
                self.error(SCHEMA, f"a catcher must be an object, got {json_type_name(catcher)}", c_where)
                continue
            for key in catcher:
                if key in both:
                    continue
                k_where = f"{c_where}/{_escape(str(key))}"
                if key in path_only and jsonata:
                    self.error(
                        SCHEMA,
                        f"The QueryLanguage is set to 'JSONata', but field {key!r} is only supported for the "
                        "'JSONPath' QueryLanguage",
                        k_where,
                    )
                elif key in jsonata_only and not jsonata:
                    self.error(
                        SCHEMA,
                        f"The QueryLanguage is set to 'JSONPath', but field {key!r} is only supported for the "
                        "'JSONata' QueryLanguage",
                        k_where,
                    )
                elif key not in path_only and key not in jsonata_only:
                    self.error(SCHEMA, f"Field {key!r} is not supported in a catcher", k_where)
            names = self.check_error_equals(catcher, c_where, i == len(catchers) - 1, "catcher")
            if "Next" not in catcher:
                self.error(SCHEMA, "a catcher needs Next (the state that handles the error)", c_where)
            if not jsonata and "ResultPath" in catcher and catcher["ResultPath"] is not None:
                self.check_result_path(catcher["ResultPath"], f"{c_where}/ResultPath")
            if jsonata and "Output" in catcher:
                self.check_jsonata_template(catcher["Output"], f"{c_where}/Output", 0)
            if "Assign" in catcher:
                self.check_assign(catcher["Assign"], f"{c_where}/Assign", jsonata)
            if "States.ALL" in names and isinstance(catcher.get("Next"), str):
                if _catcher_discards_error(catcher, jsonata):
                    self.pending_swallow_checks.append((catcher["Next"], c_where))

    # -- lints that need the whole machine ---------------------------------------------------

    def check_lints(self) -> None:
        for target, where in self.pending_swallow_checks:
            end = self.follow_to_end(target)
            if end is not None:
                self.warn(
                    "CATCH_ALL_SWALLOWS_ERROR",
                    f"this States.ALL catcher discards the error (ResultPath: null) and its handler path ends "
                    f"in Succeed state {end!r}: a failure turns into success silently",
                    where,
                )

    def follow_to_end(self, name: str) -> str | None:
        """The Succeed state reached by following plain Next links from ``name``, if any."""
        seen: set[str] = set()
        current: str | None = name
        while current is not None and current not in seen:
            seen.add(current)
            state = self.raw_states.get(current)
            if state is None:
                return None
            state_type = state.get("Type")
            if state_type == "Succeed":
                return current
            if state_type not in ("Pass", "Wait"):
                return None
            nxt = state.get("Next")
            current = nxt if isinstance(nxt, str) else None
        return None


def _catcher_discards_error(catcher: Mapping[str, Any], jsonata: bool) -> bool:
    """True if nothing of the caught error survives into the handler's input or variables."""
    if not jsonata:
        return "ResultPath" in catcher and catcher["ResultPath"] is None
    if "Output" not in catcher:
        return False  # JSONata's default catcher output is the error output itself
    kept = repr(catcher.get("Output")) + repr(catcher.get("Assign"))
    return "errorOutput" not in kept


def _contains_path(value: Any, depth: int = 0) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, str):
        return _looks_like_path(value)
    if isinstance(value, Mapping):
        return any(
            (isinstance(k, str) and k.endswith(".$")) or _contains_path(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_contains_path(v, depth + 1) for v in value)
    return False
