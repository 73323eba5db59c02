"""Payload templates and '.$' values: roots, literals, copies and AWS's not-found messages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._jsonpath import PathNotFound
from alpha_engine.sfn._template import Scope, compile_scoped_path, compile_template, compile_value

SCOPE = Scope(
    input={"a": {"b": 1}, "xs": [1, 2, 3]},
    context={"Execution": {"Id": "arn:exec", "Input": {"k": "v"}}, "Map": {"Item": {"Index": 2}}},
    variables={"x": {"a": [{"b": "deep"}]}, "n": 7, "nothing": None},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", {"a": {"b": 1}, "xs": [1, 2, 3]}),
        ("$.a.b", 1),
        ("$.xs[*]", [1, 2, 3]),
        ("$$.Execution.Id", "arn:exec"),
        ("$$.Map.Item.Index", 2),
        ("$$", SCOPE.context),
        ("$x.a[0].b", "deep"),
        ("$n", 7),
        ("$nothing", None),
        ("States.ArrayLength($.xs)", 3),
    ],
)
def test_value_dispatches_on_its_root(text: str, expected: Any) -> None:
    assert compile_value(text, "v.$")(SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (
            "$.no_such_jsonpath",
            "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found",
        ),
        (
            "$$.Execution.Input.nope",
            "The JSONPath '$$.Execution.Input.nope' specified for the field 'value.$'",
        ),
        ("$undefined", "The JSONPath '$undefined' specified for the field 'value.$' could not be found"),
        ("$x.zzz", "The JSONPath '$x.zzz' specified for the field 'value.$' could not be found"),
    ],
)
def test_value_not_found_is_a_runtime_error_naming_path_field_and_input(text: str, cause: str) -> None:
    with pytest.raises(StatesError) as info:
        compile_value(text, "value.$")(SCOPE)
    assert info.value.error == "States.Runtime"
    assert info.value.in_state
    assert info.value.cause is not None
    assert info.value.cause.startswith(cause)
    assert info.value.cause.endswith(""" in the input '{"a":{"b":1},"xs":[1,2,3]}'""")


@pytest.mark.parametrize("text", ["no dollar", "$.a[", "States.Nope()"])
def test_malformed_value_is_an_expression_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_value(text, "value.$")


def test_template_evaluates_dollar_keys_and_drops_the_suffix() -> None:
    template = {
        "lit": "$.not_a_path",
        "b.$": "$.a.b",
        "nested": {"id.$": "$$.Execution.Id", "list": [{"v.$": "$n"}, 5]},
    }
    assert compile_template(template, "Parameters")(SCOPE) == {
        "lit": "$.not_a_path",
        "b": 1,
        "nested": {"id": "arn:exec", "list": [{"v": 7}, 5]},
    }


def test_literal_template_returns_a_fresh_copy_each_time() -> None:
    template = {"a": [1, {"b": 2}]}
    build = compile_template(template, "Parameters")
    first = build(SCOPE)
    first["a"][1]["b"] = 99
    assert build(SCOPE) == {"a": [1, {"b": 2}]}
    assert template == {"a": [1, {"b": 2}]}


def test_literal_parts_of_a_dynamic_template_are_copied_too() -> None:
    build = compile_template({"x.$": "$.a.b", "lit": {"k": [1]}}, "Parameters")
    first = build(SCOPE)
    first["lit"]["k"].append(2)
    assert build(SCOPE)["lit"] == {"k": [1]}


def test_scalar_and_null_templates_are_returned_as_is() -> None:
    assert compile_template(None, "Parameters")(SCOPE) is None
    assert compile_template("text", "Parameters")(SCOPE) == "text"


def test_dollar_key_with_a_non_string_value_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="'x.\\$'"):
        compile_template({"x.$": 5}, "Parameters")


def test_scoped_path_raises_path_not_found_with_the_path_as_written() -> None:
    path = compile_scoped_path("$$.Execution.Nope")
    with pytest.raises(PathNotFound) as info:
        path.find(SCOPE)
    assert info.value.path_text == "$$.Execution.Nope"
    with pytest.raises(PathNotFound):
        compile_scoped_path("$ghost.a").find(SCOPE)


def test_scoped_reference_path_rejects_wildcards() -> None:
    with pytest.raises(ExpressionError):
        compile_scoped_path("$$.Map[*]", reference=True)


# --- recorded AWS executions ------------------------------------------------------------------


def _cases(cases: list[dict[str, Any]], fragment: str) -> list[dict[str, Any]]:
    return [c for c in cases if fragment in c["id"] and c["query_language"] == "JSONPath"]


def test_recorded_escaped_bracket_key_matches_aws(aws_cases: list[dict[str, Any]]) -> None:
    (case,) = _cases(aws_cases, "ESCAPE_SEQUENCES_JSONPATH")
    state = case["definition"]["States"]["JsonPathEscapeTest"]
    assert (
        compile_template(state["Parameters"], "Parameters")(Scope(case["input"], {}, {}))
        == case["expected"]["output"]
    )


@pytest.mark.parametrize("kind", ["STRING_EXPR_JSONPATH]", "STRING_EXPR_CONTEXTPATH]"])
def test_recorded_value_not_found_causes_match_aws(kind: str, aws_cases: list[dict[str, Any]]) -> None:
    (case,) = _cases(aws_cases, kind)
    state = case["definition"]["States"]["pass"]
    scope = Scope(case["input"], {"Execution": {"Input": case["input"]}}, {})
    with pytest.raises(StatesError) as info:
        compile_template(state["Parameters"], "Parameters")(scope)
    expected = case["expected"]["cause"].split(". ", 1)[1]  # drop the engine's state prefix
    assert info.value.cause == expected.replace(
        "<json-input:1>", json.dumps(case["input"], separators=(",", ":"))
    )
