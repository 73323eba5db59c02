"""A parsed state machine: every path, template, intrinsic and JSONata text compiled once.

The engine walks these objects; it never looks at the raw definition again. Compilation
raises :class:`ExpressionError`; callers that want every problem at once run the validator
first (:func:`alpha_engine.sfn._validator.validate_definition`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._choice import compile_choice_rule
from ._errors import ExpressionError
from ._jsonata import compile_jsonata_template
from ._jsonpath import compile_reference_path
from ._template import ScopedPath, compile_scoped_path, compile_template, compile_value
from ._vocabulary import JSONATA, JSONPATH, is_jsonata

__all__ = [
    "Catcher",
    "ChoiceRule",
    "Retrier",
    "State",
    "StateMachine",
    "parse_state_machine",
    "DEFAULT",
    "DISCARD",
]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


DEFAULT = _Marker("DEFAULT")  # field absent: '$' semantics
DISCARD = _Marker("DISCARD")  # field null: discard ({} for Input/OutputPath, keep input for ResultPath)

Fn = Callable[..., Any]


@dataclass(slots=True)
class Retrier:
    errors: tuple[str, ...]
    interval_seconds: float
    max_attempts: int
    backoff_rate: float
    max_delay_seconds: float | None
    jitter_full: bool


@dataclass(slots=True)
class Catcher:
    errors: tuple[str, ...]
    next: str
    result_path: Any  # CompiledReferencePath | DEFAULT | DISCARD
    output: Fn | None  # JSONata Output
    assign: Fn | None


@dataclass(slots=True)
class ChoiceRule:
    predicate: Fn
    next: str
    assign: Fn | None
    output: Fn | None


@dataclass(slots=True)
class State:
    name: str
    type: str
    jsonata: bool
    next: str | None = None
    end: bool = False
    pointer: str = ""
    # JSONPath I/O
    input_path: Any = DEFAULT
    output_path: Any = DEFAULT
    result_path: Any = DEFAULT
    parameters: Fn | None = None
    result_selector: Fn | None = None
    # JSONata I/O
    arguments: Fn | None = None
    output: Fn | None = None
    assign: Fn | None = None
    # Pass
    result: Any = DEFAULT
    # Task
    resource: str = ""
    timeout_seconds: Any = None  # number | Fn(JSONata) | None
    timeout_seconds_path: ScopedPath | None = None
    heartbeat_seconds: Any = None
    heartbeat_seconds_path: ScopedPath | None = None
    credentials: Fn | None = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    # Choice
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None
    # Wait
    seconds: Any = None
    seconds_path: ScopedPath | None = None
    timestamp: Any = None
    timestamp_path: ScopedPath | None = None
    # Fail
    error: Any = None
    cause: Any = None
    error_path: Fn | None = None
    cause_path: Fn | None = None
    # Parallel
    branches: tuple[StateMachine, ...] = ()
    # Map
    processor: StateMachine | None = None
    items_path: Any = DEFAULT
    items: Any = None  # JSONata Items: Fn or literal list
    items_text: str | None = None
    item_selector: Fn | None = None
    max_concurrency: Any = 0
    max_concurrency_path: ScopedPath | None = None
    tolerated_count: Any = None
    tolerated_count_path: ScopedPath | None = None
    tolerated_percentage: Any = None
    tolerated_percentage_path: ScopedPath | None = None
    label: str | None = None
    distributed: bool = False


@dataclass(slots=True)
class StateMachine:
    start_at: str
    states: dict[str, State]
    timeout_seconds: float | None = None


def parse_state_machine(
    definition: Mapping[str, Any], pointer: str = "", parent_language: str = JSONPATH
) -> StateMachine:
    """Compile a (validated) definition or sub-machine (Parallel branch, Map processor)."""
    language = definition.get("QueryLanguage", parent_language)
    states: dict[str, State] = {}
    for name, raw in definition["States"].items():
        states[name] = _parse_state(name, raw, f"{pointer}/States/{_escape(name)}", language)
    timeout = definition.get("TimeoutSeconds")
    return StateMachine(
        start_at=definition["StartAt"],
        states=states,
        timeout_seconds=float(timeout) if timeout is not None else None,
    )


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _path_field(raw: Mapping[str, Any], key: str, reference: bool = False) -> Any:
    if key not in raw:
        return DEFAULT
    value = raw[key]
    if value is None:
        return DISCARD
    if value == "$":
        return DEFAULT
    # ResultPath writes into the input; the other path fields read from input, context or variables.
    return compile_reference_path(value) if reference else compile_scoped_path(value)


def _opt_ref(raw: Mapping[str, Any], key: str) -> ScopedPath | None:
    value = raw.get(key)
    return compile_scoped_path(value, reference=True) if isinstance(value, str) else None


def _parse_assign(raw: Mapping[str, Any], jsonata: bool, field: str = "Assign") -> Fn | None:
    if "Assign" not in raw:
        return None
    template = raw["Assign"]
    return compile_jsonata_template(template, field) if jsonata else compile_template(template, field)


def _parse_retry(raw: Mapping[str, Any]) -> tuple[Retrier, ...]:
    return tuple(
        Retrier(
            errors=tuple(r["ErrorEquals"]),
            interval_seconds=float(r.get("IntervalSeconds", 1)),
            max_attempts=int(r.get("MaxAttempts", 3)),
            backoff_rate=float(r.get("BackoffRate", 2.0)),
            max_delay_seconds=float(r["MaxDelaySeconds"]) if "MaxDelaySeconds" in r else None,
            jitter_full=r.get("JitterStrategy", "NONE") == "FULL",
        )
        for r in raw.get("Retry", ())
    )


def _parse_catch(raw: Mapping[str, Any], jsonata: bool) -> tuple[Catcher, ...]:
    catchers = []
    for i, c in enumerate(raw.get("Catch", ())):
        catchers.append(
            Catcher(
                errors=tuple(c["ErrorEquals"]),
                next=c["Next"],
                result_path=DEFAULT if jsonata else _path_field(c, "ResultPath", reference=True),
                output=compile_jsonata_template(c["Output"], "Output") if jsonata and "Output" in c else None,
                assign=_parse_assign(c, jsonata),
            )
        )
        del i
    return tuple(catchers)


def _number_or_expr(value: Any, field: str, jsonata: bool) -> Any:
    if value is None:
        return None
    if jsonata and is_jsonata(value):
        return compile_jsonata_template(value, field)
    return value


def _parse_state(name: str, raw: Mapping[str, Any], pointer: str, parent_language: str) -> State:
    language = raw.get("QueryLanguage", parent_language)
    jsonata = language == JSONATA
    typ = raw["Type"]
    st = State(name=name, type=typ, jsonata=jsonata, pointer=pointer)
    st.next = raw.get("Next")
    st.end = bool(raw.get("End", False))
    if jsonata:
        if "Output" in raw:
            st.output = compile_jsonata_template(raw["Output"], "Output")
        if "Arguments" in raw:
            st.arguments = compile_jsonata_template(raw["Arguments"], "Arguments")
    else:
        st.input_path = _path_field(raw, "InputPath")
        st.output_path = _path_field(raw, "OutputPath")
        st.result_path = _path_field(raw, "ResultPath", reference=True)
        if "Parameters" in raw:
            st.parameters = compile_template(raw["Parameters"], "Parameters")
        if "ResultSelector" in raw:
            st.result_selector = compile_template(raw["ResultSelector"], "ResultSelector")
    st.assign = _parse_assign(raw, jsonata)

    if typ == "Pass":
        if "Result" in raw:
            st.result = raw["Result"]
    elif typ == "Task":
        st.resource = raw["Resource"]
        st.timeout_seconds = _number_or_expr(raw.get("TimeoutSeconds"), "TimeoutSeconds", jsonata)
        st.heartbeat_seconds = _number_or_expr(raw.get("HeartbeatSeconds"), "HeartbeatSeconds", jsonata)
        st.timeout_seconds_path = _opt_ref(raw, "TimeoutSecondsPath")
        st.heartbeat_seconds_path = _opt_ref(raw, "HeartbeatSecondsPath")
        if "Credentials" in raw:
            st.credentials = (
                compile_jsonata_template(raw["Credentials"], "Credentials")
                if jsonata
                else compile_template(raw["Credentials"], "Credentials")
            )
        st.retry = _parse_retry(raw)
        st.catch = _parse_catch(raw, jsonata)
    elif typ == "Choice":
        rules = []
        for i, rule in enumerate(raw["Choices"]):
            rule_pointer = f"{pointer}/Choices/{i}"
            predicate: Fn
            if jsonata:
                predicate = compile_jsonata_template(rule["Condition"], "Condition")
            else:
                predicate = compile_choice_rule(rule, rule_pointer)
            rules.append(
                ChoiceRule(
                    predicate=predicate,
                    next=rule["Next"],
                    assign=_parse_assign(rule, jsonata),
                    output=compile_jsonata_template(rule["Output"], "Output")
                    if jsonata and "Output" in rule
                    else None,
                )
            )
        st.choices = tuple(rules)
        st.default = raw.get("Default")
    elif typ == "Wait":
        st.seconds = _number_or_expr(raw.get("Seconds"), "Seconds", jsonata)
        st.timestamp = _number_or_expr(raw.get("Timestamp"), "Timestamp", jsonata)
        st.seconds_path = _opt_ref(raw, "SecondsPath")
        st.timestamp_path = _opt_ref(raw, "TimestampPath")
    elif typ == "Fail":
        st.error = _number_or_expr(raw.get("Error"), "Error", jsonata)
        st.cause = _number_or_expr(raw.get("Cause"), "Cause", jsonata)
        if "ErrorPath" in raw:
            st.error_path = compile_value(raw["ErrorPath"], "ErrorPath")
        if "CausePath" in raw:
            st.cause_path = compile_value(raw["CausePath"], "CausePath")
    elif typ == "Parallel":
        st.branches = tuple(
            parse_state_machine(b, f"{pointer}/Branches/{i}", language) for i, b in enumerate(raw["Branches"])
        )
        st.retry = _parse_retry(raw)
        st.catch = _parse_catch(raw, jsonata)
    elif typ == "Map":
        key = "ItemProcessor" if "ItemProcessor" in raw else "Iterator"
        processor = raw[key]
        # A DISTRIBUTED processor without ItemReader/ResultWriter has the same semantics as an inline
        # one; it runs inline here (its child-execution bookkeeping, MapRun events, is not modelled).
        if "ItemReader" in raw or "ResultWriter" in raw or "ItemBatcher" in raw:
            raise ExpressionError(f"Map '{name}': ItemReader/ResultWriter/ItemBatcher (Distributed Map) "
                                  "are not supported by this runtime", "")
        st.processor = parse_state_machine(processor, f"{pointer}/{key}", language)
        st.distributed = processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED"
        if jsonata:
            if "Items" in raw:
                st.items = compile_jsonata_template(raw["Items"], "Items")
                if is_jsonata(raw["Items"]):
                    st.items_text = raw["Items"][2:-2].strip()
            if "ItemSelector" in raw:
                st.item_selector = compile_jsonata_template(raw["ItemSelector"], "ItemSelector")
        else:
            st.items_path = _path_field(raw, "ItemsPath")
            selector = raw.get("ItemSelector", raw.get("Parameters"))
            st.parameters = None
            if selector is not None:
                st.item_selector = compile_template(selector, "ItemSelector")
        st.max_concurrency = _number_or_expr(raw.get("MaxConcurrency", 0), "MaxConcurrency", jsonata)
        st.max_concurrency_path = _opt_ref(raw, "MaxConcurrencyPath")
        st.tolerated_count = _number_or_expr(
            raw.get("ToleratedFailureCount"), "ToleratedFailureCount", jsonata
        )
        st.tolerated_count_path = _opt_ref(raw, "ToleratedFailureCountPath")
        st.tolerated_percentage = _number_or_expr(
            raw.get("ToleratedFailurePercentage"), "ToleratedFailurePercentage", jsonata
        )
        st.tolerated_percentage_path = _opt_ref(raw, "ToleratedFailurePercentagePath")
        st.label = raw.get("Label")
        st.retry = _parse_retry(raw)
        st.catch = _parse_catch(raw, jsonata)
    return st
