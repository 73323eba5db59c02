"""Property tests: the validator answers any input with diagnostics and never raises."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpha_engine.sfn._errors import Diagnostic
from alpha_engine.sfn._validator import validate_definition

LAMBDA = "arn:aws:states:::lambda:invoke"

BUILT_IN_VALID: list[dict[str, Any]] = [
    {
        "StartAt": "Fetch",
        "States": {
            "Fetch": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": "$.fetched",
                "TimeoutSeconds": 30,
                "HeartbeatSeconds": 10,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2, "BackoffRate": 2.0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.fetched.body", "IsPresent": True, "Next": "Fan"},
                    {"Not": {"Variable": "$.x", "StringMatches": "a*"}, "Next": "Wait"},
                ],
                "Default": "Failed",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Fan"},
            "Fan": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
                    {
                        "StartAt": "Each",
                        "States": {
                            "Each": {
                                "Type": "Map",
                                "ItemsPath": "$.items",
                                "ItemSelector": {"v.$": "$$.Map.Item.Value"},
                                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
                                "End": True,
                            }
                        },
                    },
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Fail", "ErrorPath": "$.error.Error", "Cause": "failed"},
        },
    },
    {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Output": "{% $states.input.x %}", "Assign": {"y": "{% 1 %}"}, "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Condition": "{% $y > 0 %}", "Next": "D"}], "Default": "D"},
            "D": {"Type": "Succeed"},
        },
    },
]


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "$",
            "$.a",
            "$$.Execution",
            "$v",
            "States.ALL",
            "States.Format('{}', $.a)",
            "{% 1 %}",
            "{% ) %}",
            LAMBDA,
        ]
    ),
    st.sampled_from(["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "JSONata"]),
)
FIELD_NAMES = st.sampled_from(
    [
        "Type", "Next", "End", "StartAt", "States", "Branches", "ItemProcessor", "Iterator", "Choices",
        "Default", "Variable", "Retry", "Catch", "ErrorEquals", "Parameters", "x.$", "Assign", "Output",
        "QueryLanguage", "ResultPath", "InputPath", "Resource", "Seconds", "TimeoutSeconds", "And", "Not",
    ]
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(FIELD_NAMES, st.text(max_size=6)), children, max_size=4),
    ),
    max_leaves=25,
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of every object/array inside ``node`` (including the root)."""
    found = [path] if isinstance(node, (dict, list)) else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_containers(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_containers(value, (*path, i)))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


@st.composite
def mutated_definitions(draw: st.DrawFn, seeds: list[Any]) -> Any:
    definition = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        containers = _containers(definition)
        if not containers:
            break
        target = _get(definition, draw(st.sampled_from(containers)))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        op = draw(st.sampled_from(["delete", "duplicate", "retype", "insert", "rename"]))
        if isinstance(target, dict):
            if op == "delete" and keys:
                del target[draw(st.sampled_from(keys))]
            elif op == "duplicate" and keys:
                key = draw(st.sampled_from(keys))
                target[f"{key}_copy" if draw(st.booleans()) else draw(FIELD_NAMES)] = copy.deepcopy(
                    target[key]
                )
            elif op == "retype" and keys:
                target[draw(st.sampled_from(keys))] = draw(json_values)
            elif op == "rename" and keys:
                key = draw(st.sampled_from(keys))
                target[draw(FIELD_NAMES)] = target.pop(key)
            else:
                target[draw(FIELD_NAMES)] = draw(json_values)
        else:
            if op == "delete" and keys:
                target.pop(draw(st.sampled_from(keys)))
            elif op == "duplicate" and keys:
                target.append(copy.deepcopy(target[draw(st.sampled_from(keys))]))
            elif op == "retype" and keys:
                target[draw(st.sampled_from(keys))] = draw(json_values)
            else:
                target.append(draw(json_values))
    return definition


def _resolves(document: Any, pointer: str) -> bool:
    if pointer == "":
        return True
    node = document
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _assert_well_formed(definition: Any, diagnostics: list[Diagnostic]) -> None:
    assert isinstance(diagnostics, list)
    for d in diagnostics:
        assert isinstance(d, Diagnostic)
        assert d.severity in ("ERROR", "WARNING")
        assert d.code and d.code == d.code.upper()
        assert d.code != "VALIDATOR_INTERNAL_ERROR", d.message
        assert d.message
        assert _resolves(definition, d.location), f"{d.location!r} does not resolve ({d})"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_definitions_only_ever_produce_diagnostics(
    validator_cases: list[dict[str, Any]], data: st.DataObject
) -> None:
    # Seeds: the built-in valid definitions plus every validator case (valid or not).
    seeds = [*BUILT_IN_VALID, *(case["definition"] for case in validator_cases)]
    definition = data.draw(mutated_definitions(seeds))
    _assert_well_formed(definition, validate_definition(definition))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_only_ever_produces_diagnostics(value: Any) -> None:
    _assert_well_formed(value, validate_definition(value))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(FIELD_NAMES, json_values, max_size=6))
def test_random_top_level_objects_only_ever_produce_diagnostics(value: dict[str, Any]) -> None:
    _assert_well_formed(value, validate_definition(value))


def test_seed_definitions_are_valid() -> None:
    for definition in BUILT_IN_VALID:
        assert [d for d in validate_definition(definition) if d.severity == "ERROR"] == []


def test_deeply_nested_template_is_a_diagnostic_not_a_recursion_error() -> None:
    deep: Any = {"v.$": "$"}
    for _ in range(3000):
        deep = {"k": deep}
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": deep, "End": True}}}
    diagnostics = validate_definition(definition)
    assert any("nested" in d.message for d in diagnostics)
    assert all(d.code != "VALIDATOR_INTERNAL_ERROR" for d in diagnostics)


def test_deeply_nested_parallels_are_a_diagnostic_not_a_recursion_error() -> None:
    inner: Any = {"StartAt": "L0", "States": {"L0": {"Type": "Succeed"}}}
    for depth in range(1, 400):
        inner = {
            "StartAt": f"L{depth}",
            "States": {f"L{depth}": {"Type": "Parallel", "Branches": [inner], "End": True}},
        }
    diagnostics = validate_definition(inner)
    assert any("nested" in d.message for d in diagnostics)
    assert all(d.code != "VALIDATOR_INTERNAL_ERROR" for d in diagnostics)


def test_non_string_keys_and_odd_python_values_do_not_crash() -> None:
    odd = {"StartAt": "A", "States": {1: {"Type": "Pass"}, "A": {"Type": object(), "End": True}}}
    assert validate_definition(odd)
