"""DynamoDB condition/update expressions over items in DynamoDB JSON."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpha_engine.sfn.services._dynamodb_expr import (
    ValidationError,
    canonical_number,
    compile_condition,
    compile_update,
)

ITEM: dict[str, Any] = {
    "id": {"S": "a1"},
    "n": {"N": "5"},
    "tags": {"SS": ["x", "y"]},
    "m": {"M": {"deep": {"S": "v"}}},
    "l": {"L": [{"N": "1"}, {"S": "two"}]},
    "flag": {"BOOL": True},
}
VALUES = {
    ":five": {"N": "5.0"},
    ":three": {"N": "3"},
    ":a": {"S": "a"},
    ":x": {"S": "x"},
    ":S": {"S": "S"},
    ":two": {"S": "two"},
    ":t": {"BOOL": True},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute_exists(id)", True),
        ("attribute_not_exists(id)", False),
        ("attribute_not_exists(#missing)", True),
        ("n = :five", True),
        ("n <> :five", False),
        ("n > :three AND n >= :five", True),
        ("n < :three OR NOT n <= :three", True),
        ("NOT (n = :five)", False),
        ("n BETWEEN :three AND :five", True),
        ("n IN (:three, :five)", True),
        ("begins_with(id, :a)", True),
        ("contains(tags, :x)", True),
        ("contains(l, :two)", True),
        ("size(tags) < :three", True),
        ("attribute_type(id, :S)", True),
        ("m.deep = :x", False),
        ("attribute_exists(l[1])", True),
        ("flag = :t", True),
        ("id > :five", False),  # different types never compare
    ],
)
def test_condition_expression(expression: str, expected: bool) -> None:
    names = {"#missing": "nope"}
    assert compile_condition(expression, names, VALUES)(ITEM) is expected


def test_condition_on_an_absent_item_sees_no_attributes() -> None:
    assert compile_condition("attribute_not_exists(id)", {}, {})({}) is True


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("n = :nope", "attribute value used in expression is not defined; attribute value: :nope"),
        ("#nope = :five", "attribute name used in the document path is not defined; attribute name: #nope"),
        ("n = = :five", 'Syntax error; token: "="'),
        ("attribute_exists(id", 'Syntax error; token: "<EOF>"'),
        ("n = :five extra", 'Syntax error; token: "extra"'),
    ],
)
def test_malformed_condition_is_a_validation_error(expression: str, message: str) -> None:
    with pytest.raises(
        ValidationError, match="Invalid ConditionExpression: .*" + message.replace("(", r"\(")
    ):
        compile_condition(expression, {}, VALUES)


def test_update_expression_reads_the_item_as_it_was_before() -> None:
    update = compile_update("SET a = n, n = n + :three", {}, VALUES)
    new, touched = update({"n": {"N": "1"}})
    assert new == {"a": {"N": "1"}, "n": {"N": "4"}}
    assert touched == {"a", "n"}


def test_update_functions_and_set_clauses() -> None:
    update = compile_update(
        "SET c = if_not_exists(c, :three), l = list_append(l, :l) ADD tags :more DELETE old :x",
        {},
        {":three": {"N": "3"}, ":l": {"L": [{"N": "9"}]}, ":more": {"SS": ["z"]}, ":x": {"SS": ["x"]}},
    )
    new, _ = update({"l": {"L": []}, "tags": {"SS": ["y"]}, "old": {"SS": ["x"]}})
    assert new == {"c": {"N": "3"}, "l": {"L": [{"N": "9"}]}, "tags": {"SS": ["y", "z"]}}


def test_update_nested_map_path() -> None:
    new, touched = compile_update("SET m.deep = :x", {}, VALUES)(ITEM)
    assert new["m"] == {"M": {"deep": {"S": "x"}}} and touched == {"m"}
    assert ITEM["m"] == {"M": {"deep": {"S": "v"}}}  # the input item is not mutated


def test_update_clause_may_not_repeat() -> None:
    with pytest.raises(ValidationError, match="Syntax error"):
        compile_update("SET a = :x SET b = :x", {}, VALUES)


def test_update_arithmetic_on_a_string_is_rejected() -> None:
    with pytest.raises(ValidationError, match="incorrect data type"):
        compile_update("SET id = id + :three", {}, VALUES)(ITEM)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**12), max_value=10**12))
def test_canonical_number_keeps_the_value_and_is_idempotent(number: Decimal) -> None:
    text = canonical_number(str(number))
    assert Decimal(text) == number
    assert canonical_number(text) == text
    assert "E" not in text and "e" not in text


def test_canonical_number_rejects_text() -> None:
    with pytest.raises(ValidationError, match="cannot be converted to a numeric value"):
        canonical_number("abc")
