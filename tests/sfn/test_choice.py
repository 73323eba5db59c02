"""Choice rules: every operator against AWS's recorded verdicts, plus the edges around them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpha_engine.sfn._choice import compile_choice_rule, parse_timestamp_ns
from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._template import Scope
from alpha_engine.sfn._vocabulary import COMPARISON_OPERATORS


def check(rule: dict[str, Any], data: Any, variables: dict[str, Any] | None = None) -> bool:
    return compile_choice_rule(rule, "/States/C/Choices/0")(
        Scope(data, {"State": {"Name": "C"}}, variables or {})
    )


# --- recorded AWS executions: 371 operator x value verdicts -------------------------------------


@pytest.mark.aws_cases(
    lambda case: case["group"] == "choice_operators",
    ids=lambda case: "::".join(case["id"].split("::")[-2:]),
)
def test_recorded_choice_verdicts_match_aws(aws_case: dict[str, Any]) -> None:
    rule = aws_case["definition"]["States"]["CheckValues"]["Choices"][0]
    expected = aws_case["expected"]["output"]["TestResult.$"] == "ConditionTrue"
    assert check(rule, aws_case["input"]) is expected


# --- operators --------------------------------------------------------------------------------


def test_there_are_39_data_test_operators() -> None:
    assert len(COMPARISON_OPERATORS) == 39


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"NumericEquals": 1, "Variable": "$.v"}, {"v": 1.0}, True),
        ({"NumericEquals": 1, "Variable": "$.v"}, {"v": True}, False),
        ({"NumericLessThan": 2.5, "Variable": "$.v"}, {"v": 2}, True),
        ({"StringEquals": "a", "Variable": "$.v"}, {"v": 1}, False),
        ({"StringLessThan": "b", "Variable": "$.v"}, {"v": "a"}, True),
        ({"BooleanEquals": False, "Variable": "$.v"}, {"v": 0}, False),
        ({"BooleanEqualsPath": "$.w", "Variable": "$.v"}, {"v": True, "w": True}, True),
        ({"StringEqualsPath": "$.w", "Variable": "$.v"}, {"v": "a", "w": 1}, False),
        ({"IsTimestamp": True, "Variable": "$.v"}, {"v": "2016-03-14T01:59:00Z"}, True),
        ({"IsTimestamp": True, "Variable": "$.v"}, {"v": "2016-03-14 01:59:00Z"}, False),
        ({"IsTimestamp": False, "Variable": "$.v"}, {"v": 5}, True),
        (
            {"TimestampEquals": "2016-03-14T02:59:00+01:00", "Variable": "$.v"},
            {"v": "2016-03-14T01:59:00Z"},
            True,
        ),
        (
            {"TimestampLessThan": "2016-03-14T01:59:00.5Z", "Variable": "$.v"},
            {"v": "2016-03-14T01:59:00Z"},
            True,
        ),
        ({"TimestampGreaterThan": "2016-03-14T01:59:00Z", "Variable": "$.v"}, {"v": "not a date"}, False),
        ({"IsPresent": True, "Variable": "$.missing"}, {}, False),
        ({"IsPresent": False, "Variable": "$.missing"}, {}, True),
        ({"IsNull": True, "Variable": "$.v"}, {"v": None}, True),
    ],
)
def test_operator_semantics(rule: dict[str, Any], data: Any, expected: bool) -> None:
    assert check(rule, data) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-1.csv", False),
        ("*", "", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("a\\\\b", "a\\b", True),
        ("a.b", "axb", False),
        ("*x*", "line1\nx", True),
    ],
)
def test_string_matches_wildcards_and_escapes(pattern: str, value: str, expected: bool) -> None:
    assert check({"StringMatches": pattern, "Variable": "$.v"}, {"v": value}) is expected


def test_and_or_not_combine_rules() -> None:
    rule = {
        "And": [
            {"Variable": "$.n", "NumericGreaterThan": 1},
            # Or stops at the first true rule, so the missing $.s is never compared.
            {
                "Or": [
                    {"Not": {"Variable": "$.s", "IsPresent": True}},
                    {"Variable": "$.s", "StringEquals": "a"},
                ]
            },
        ]
    }
    assert check(rule, {"n": 2, "s": "a"})
    assert check(rule, {"n": 2})
    assert not check(rule, {"n": 2, "s": "b"})
    assert not check(rule, {"n": 0, "s": "a"})


def test_variable_may_be_a_context_or_workflow_variable_path() -> None:
    assert check({"Variable": "$$.State.Name", "StringEquals": "C"}, {})
    assert check({"Variable": "$limits.max", "NumericGreaterThanEquals": 10}, {}, {"limits": {"max": 10}})
    assert check({"Variable": "$.v", "NumericLessThanPath": "$limits.max"}, {"v": 1}, {"limits": {"max": 10}})


def test_missing_variable_is_a_runtime_error_for_comparisons() -> None:
    with pytest.raises(StatesError) as info:
        check({"Variable": "$.x", "StringEquals": "a"}, {})
    assert info.value.error == "States.Runtime"
    assert (
        info.value.cause
        == "Invalid path '$.x': The choice state's condition path references an invalid value."
    )


def test_missing_operand_path_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as info:
        check({"Variable": "$.v", "NumericEqualsPath": "$.w"}, {"v": 1})
    assert "'$.w'" in (info.value.cause or "")


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.v"},
        {"Variable": "$.v", "StringEquals": "a", "NumericEquals": 1},
        {"StringEquals": "a"},
        {"Variable": "$.v[*]", "StringEquals": "a"},
        {"Variable": "$.v", "NumericEquals": "1"},
        {"Variable": "$.v", "TimestampEquals": "yesterday"},
        {"Variable": "$.v", "IsNull": "yes"},
        {"Variable": "$.v", "StringEqualsPath": "not a path"},
        {"And": []},
        {"Not": {"Variable": "$.v"}},
    ],
)
def test_malformed_rules_fail_at_compile_time(rule: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError):
        compile_choice_rule(rule, "/States/C/Choices/0")


def test_compile_errors_name_the_rule_location() -> None:
    with pytest.raises(ExpressionError, match="/States/C/Choices/0/And/1"):
        compile_choice_rule(
            {"And": [{"Variable": "$.a", "IsNull": True}, {"Variable": "$.b"}]}, "/States/C/Choices/0"
        )


# --- timestamps -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2016-03-14T01:59:00Z",
        "2016-03-05T21:29:29.243167252Z",
        "2012-10-09T19:00:55+01:00",
        "2012-10-09T19:00:55.5-05:30",
    ],
)
def test_accepted_timestamps(text: str) -> None:
    assert parse_timestamp_ns(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "2016-13-05T21:29:29Z",  # month 13 (recorded AWS rejection)
        "2016-12-05T25:29:29Z",  # hour 25 (recorded)
        "2016-12-05 21:29:29Z",  # no T (recorded)
        "2016-12-05T21:29:29",  # no zone (recorded)
        "2016-12-05t21:29:29z",
        "2023-02-24",
        "",
    ],
)
def test_rejected_timestamps(text: str) -> None:
    assert parse_timestamp_ns(text) is None


def test_fractional_seconds_keep_nanosecond_order() -> None:
    a = parse_timestamp_ns("2016-03-05T21:29:29.000000001Z")
    b = parse_timestamp_ns("2016-03-05T21:29:29.000000002Z")
    assert a is not None and b is not None and a < b


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2300, 1, 1)), st.integers(-720, 720))
def test_timestamp_parsing_matches_datetime_instants(moment: datetime, offset_minutes: int) -> None:
    sign = "+" if offset_minutes >= 0 else "-"
    hh, mm = divmod(abs(offset_minutes), 60)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{hh:02d}:{mm:02d}"
    expected = moment.replace(tzinfo=UTC) - timedelta(minutes=offset_minutes)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_timestamp_ns(text) == (expected - epoch) // timedelta(microseconds=1) * 1000


@given(
    st.floats(allow_nan=False, allow_infinity=False) | st.integers(),
    st.floats(allow_nan=False) | st.integers(),
)
def test_numeric_operators_agree_with_arithmetic(a: float, b: float) -> None:
    assert check({"Variable": "$.v", "NumericLessThanPath": "$.w"}, {"v": a, "w": b}) is (a < b)
    assert check({"Variable": "$.v", "NumericEqualsPath": "$.w"}, {"v": a, "w": b}) is (a == b)
