"""AWS-dialect JSONPath: definite/indefinite selection, reference paths and ResultPath puts."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpha_engine.sfn._errors import ExpressionError, StatesError
from alpha_engine.sfn._json import json_equal
from alpha_engine.sfn._jsonpath import (
    PathNotFound,
    compile_path,
    compile_reference_path,
    format_no_results,
    is_path,
    is_reference_path,
    split_scoped_path,
)
from alpha_engine.sfn._template import Scope, compile_template

DOC: dict[str, Any] = {
    "a": {"b": 1, "c": [10, 20, 30]},
    "items": [{"v": 0, "t": "x"}, {"v": 1, "t": "y"}, {"v": 2}],
    "users": [{"status": 0, "year": 1997}, {"status": 1, "year": 1998}],
    "delivery-partner": "UQS",
    "a b": "spaced",
    "s": "text",
}


# --- definite paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOC),
        ("$.a.b", 1),
        ("$.a.c[0]", 10),
        ("$.a.c[-1]", 30),
        ("$['a b']", "spaced"),
        ('$["a"]["b"]', 1),
        ("$.delivery-partner", "UQS"),
        ("$.items[1].t", "y"),
    ],
)
def test_definite_path_returns_the_node_itself(path: str, expected: Any) -> None:
    compiled = compile_path(path)
    assert compiled.is_definite
    assert compiled.find(DOC) == expected


@pytest.mark.parametrize("path", ["$.nope", "$.a.nope", "$.a.c[3]", "$.a.b.c", "$.s[0]", "$.items.v"])
def test_definite_path_that_selects_nothing_raises_path_not_found(path: str) -> None:
    with pytest.raises(PathNotFound) as info:
        compile_path(path).find(DOC)
    assert info.value.path_text == path


def test_index_on_a_string_does_not_select_a_character() -> None:
    with pytest.raises(PathNotFound):
        compile_path("$[0]").find("abc")


def test_bracket_name_keeps_backslashes_literally_as_aws_does() -> None:
    # Recorded: $['Test\""Name"'] selects the key Test\""Name" (backslash kept).
    key = 'Test\\""Name"'
    assert compile_path('$[\'Test\\""Name"\']').find({key: "Value"}) == "Value"


# --- indefinite paths -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.a.c[*]", [10, 20, 30]),
        ("$.a.*", [1, [10, 20, 30]]),
        ("$.a.c[1:]", [20, 30]),
        ("$.a.c[:1]", [10]),
        ("$.a.c[-2:]", [20, 30]),
        ("$.a.c[0,2]", [10, 30]),
        ("$.items[*].v", [0, 1, 2]),
        ("$.items[*].t", ["x", "y"]),
        ("$..v", [0, 1, 2]),
        ("$.users[?(@.status == 0)]", [{"status": 0, "year": 1997}]),
        ("$.users[?(@.status > 0 && @.year >= 1998)].year", [1998]),
        ("$.users[?(@.status == 5 || @.year == 1997)].year", [1997]),
        ("$.items[?(@.t)].v", [0, 1]),
        ("$.items[?(!@.t)].v", [2]),
        ("$.items[?(@.t == 'y')].v", [1]),
        ("$.items[?(@.t != 'y')].v", [0, 2]),
        ("$.items[?(@.t =~ /x|z/)].v", [0]),
        ("$.items[?(@.v in [0, 2])].v", [0, 2]),
        ("$.items[?(@.v nin [0, 2])].v", [1]),
        ("$.items[?((@.v < 1 || @.v > 1) && @.t)].v", [0]),
    ],
)
def test_indefinite_path_returns_a_list_of_matches(path: str, expected: list[Any]) -> None:
    compiled = compile_path(path)
    assert not compiled.is_definite
    assert compiled.find(DOC) == expected


@pytest.mark.parametrize("path", ["$.item.items[*]", "$.items[1:].itemValue", "$[*]", "$..nothing"])
def test_indefinite_path_on_missing_data_is_an_empty_list(path: str) -> None:
    assert compile_path(path).find({}) == []


def test_filter_on_an_object_tests_the_object_itself() -> None:
    assert compile_path("$.a[?(@.b == 1)]").find(DOC) == [DOC["a"]]


def test_filter_can_compare_with_the_root() -> None:
    data = {"limit": 1, "xs": [{"v": 0}, {"v": 1}, {"v": 2}]}
    assert compile_path("$.xs[?(@.v > $.limit)].v").find(data) == [2]


def test_filter_never_equates_booleans_with_numbers() -> None:
    assert compile_path("$.xs[?(@.v == 1)]").find({"xs": [{"v": True}, {"v": 1.0}]}) == [{"v": 1.0}]


def test_length_function_is_definite() -> None:
    compiled = compile_path("$.a.c.length()")
    assert compiled.is_definite
    assert compiled.find(DOC) == 3


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$.a.c.min()", 10.0), ("$.a.c.max()", 30.0), ("$.a.c.sum()", 60.0), ("$.a.c.avg()", 20.0)],
)
def test_numeric_functions(path: str, expected: float) -> None:
    assert compile_path(path).find(DOC) == expected


@pytest.mark.parametrize(
    "path",
    ["", "a.b", "$.", "$..", "$.a[", "$.a[]", "$.a b", "$.a[?(@.x ==)]", "$.a[1:2:0]", "$.a.nope()", "$$.a"],
)
def test_malformed_path_is_an_expression_error(path: str) -> None:
    with pytest.raises(ExpressionError):
        compile_path(path)


# --- reference paths --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["$", "$.a", "$['a b'].c", "$.a[0].b"])
def test_reference_path_accepts_names_and_indices(path: str) -> None:
    assert is_reference_path(path)
    assert compile_reference_path(path).is_definite


@pytest.mark.parametrize("path", ["$.a[*]", "$.a[?(@.x)]", "$.a[0:1]", "$..a", "$.a[0,1]", "$.a.length()"])
def test_reference_path_rejects_wildcards_filters_slices_and_functions(path: str) -> None:
    assert not is_reference_path(path)
    with pytest.raises(ExpressionError):
        compile_reference_path(path)


def test_scoped_roots_are_paths_but_not_result_paths() -> None:
    assert is_path("$$.Execution.Id")
    assert is_path("$var.a[0]")
    assert not is_path("$$.Execution.Id", scoped=False)
    assert is_reference_path("$var.x", scoped=True)
    assert not is_reference_path("$$.State", scoped=False)


def test_split_scoped_path_separates_root_and_rest() -> None:
    assert split_scoped_path("$.a") == ("input", None, "$.a")
    assert split_scoped_path("$$.Map.Item.Value") == ("context", None, "$.Map.Item.Value")
    assert split_scoped_path("$x.a[0]") == ("variable", "x", "$.a[0]")
    assert split_scoped_path("$x") == ("variable", "x", "$")


def test_put_creates_missing_intermediate_objects() -> None:
    assert compile_reference_path("$.x.y").put({"a": 1}, {"z": 1}) == {"a": 1, "x": {"y": {"z": 1}}}


def test_put_at_root_replaces_the_document() -> None:
    assert compile_reference_path("$").put({"a": 1}, [1]) == [1]


def test_put_replaces_an_array_element() -> None:
    assert compile_reference_path("$.a[1]").put({"a": [1, 2, 3]}, 9) == {"a": [1, 9, 3]}


@pytest.mark.parametrize(("path", "doc"), [("$.a.b", {"a": "text"}), ("$.a[5]", {"a": [1]}), ("$.a", [1])])
def test_put_into_a_non_object_is_a_result_path_match_failure(path: str, doc: Any) -> None:
    with pytest.raises(StatesError) as info:
        compile_reference_path(path).put(doc, 1)
    assert info.value.error == "States.ResultPathMatchFailure"
    assert path in (info.value.cause or "")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)
names = st.lists(st.text(alphabet="abcxyz", min_size=1, max_size=3), min_size=1, max_size=4)


@given(
    doc=st.dictionaries(st.text(alphabet="abc", max_size=2), json_values, max_size=4),
    keys=names,
    value=json_values,
)
def test_put_then_find_returns_the_value_and_leaves_the_target_untouched(
    doc: dict[str, Any], keys: list[str], value: Any
) -> None:
    path = compile_reference_path("$" + "".join(f"['{k}']" for k in keys))
    before = copy.deepcopy(doc)
    try:
        result = path.put(doc, value)
    except StatesError:
        return  # an existing non-object on the way: allowed to fail, must not mutate
    finally:
        assert doc == before
    assert path.find(result) == value


# --- messages ---------------------------------------------------------------------------------


def test_format_no_results_uses_the_normalised_bracket_form() -> None:
    assert (
        format_no_results("$.NoSuchInputPath")
        == "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
    )
    assert format_no_results("$.a[0].b[*]").endswith("$['a'][0]['b'][*]")


def test_json_equal_distinguishes_booleans_from_numbers() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal([False], [0])


# --- recorded AWS executions ------------------------------------------------------------------


@pytest.mark.aws_cases(
    lambda case: "TestSnfBase::test_json_path" in case["id"]
    or "test_state_pass_regex_json_path_base" in case["id"],
    ids=lambda case: case["id"].split("::")[-2],
)
def test_recorded_parameters_paths_match_aws(aws_case: dict[str, Any]) -> None:
    case = aws_case
    state = case["definition"]["States"][case["definition"]["StartAt"]]
    build = compile_template(state["Parameters"], "Parameters")
    assert build(Scope(case["input"], {}, {})) == case["expected"]["output"]
