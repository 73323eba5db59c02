"""The JSONata layer: compile once, evaluate against $states and variables, AWS's errors."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_engine.sfn._clock import FakeClock, IdSource
from alpha_engine.sfn._errors import ExpressionError, NondeterminismError, StatesError
from alpha_engine.sfn._jsonata import (
    CompiledJsonata,
    JsonataScope,
    compile_jsonata,
    compile_jsonata_template,
    java_random_double,
    unexpected_type_error,
)
from alpha_engine.sfn._sources import use_sources
from alpha_engine.sfn._vocabulary import is_jsonata


def scope(input_: Any = None, **variables: Any) -> JsonataScope:
    return JsonataScope(states={"input": input_, "context": {}}, variables=variables)


def evaluate(text: str, input_: Any = None, **variables: Any) -> Any:
    return compile_jsonata(text).evaluate(scope(input_, **variables), "Output")


def failure(text: str, input_: Any = None, **variables: Any) -> StatesError:
    with pytest.raises(StatesError) as info:
        evaluate(text, input_, **variables)
    assert info.value.error == "States.QueryEvaluationError"
    return info.value


# ------------------------------------------------------------------------------------------
# Recognising and compiling
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{% $x %}", "{%$x%}", "{% %}"])
def test_is_jsonata_accepts_delimited_strings(value: str) -> None:
    assert is_jsonata(value)


@pytest.mark.parametrize("value", [" {% $x %}", "{% $x %} ", "{% $x", "$x %}", "{%}", 1, None, ["{% $x %}"]])
def test_is_jsonata_rejects_padding_and_non_strings(value: Any) -> None:
    assert not is_jsonata(value)


def test_compile_strips_delimiters_and_whitespace() -> None:
    assert compile_jsonata("{%   $states.input  %}").text == "$states.input"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{% [1,2 %}", 'S0203: Expected "]" before end of expression'),
        ("{% a[1,2) %}", 'S0202: Expected "]", got ","'),
        ("{% 1 + %}", "S0207: Unexpected end of expression"),
        ("{% 'open %}", "S0101: String literal must be terminated by a matching quote"),
    ],
)
def test_compile_rejects_syntax_errors_naming_expression_and_reason(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_jsonata(text)
    assert reason in str(info.value)
    assert text[2:-2].strip() in str(info.value)
    assert info.value.text == text


def test_compile_rejects_empty_expression() -> None:
    with pytest.raises(ExpressionError, match="empty"):
        compile_jsonata("{%  %}")


def test_compile_rejects_text_without_delimiters() -> None:
    with pytest.raises(ExpressionError, match="not a JSONata expression"):
        compile_jsonata("$states.input")


# ------------------------------------------------------------------------------------------
# Values: $states, variables, null versus undefined, numbers
# ------------------------------------------------------------------------------------------


def test_states_input_path_reads_nested_value() -> None:
    assert evaluate("{% $states.input.a.b %}", {"a": {"b": [1, 2]}}) == [1, 2]


def test_variables_are_bound_by_name() -> None:
    assert evaluate("{% $sum($states.input.v) + $k %}", {"v": [1, 2, 3]}, k=1) == 7


def test_json_null_in_input_is_null_not_undefined() -> None:
    assert evaluate("{% $states.input.items %}", {"items": None}) is None


def test_variable_holding_null_is_null_not_undefined() -> None:
    assert evaluate("{% $v %}", v=None) is None
    assert evaluate("{% $type($v) %}", v=None) == "null"


def test_single_element_array_from_input_stays_an_array() -> None:
    assert evaluate("{% $states.input.items %}", {"items": [0]}) == [0]
    assert evaluate("{% $states.input.items %}", {"items": []}) == []


def test_integral_float_results_become_ints() -> None:
    result = evaluate("{% {'a': 6 / 2, 'b': [1.0, 2.5]} %}")
    assert result == {"a": 3, "b": [1, 2.5]}
    assert type(result["a"]) is int and type(result["b"][0]) is int


def test_null_inside_constructed_values_becomes_none() -> None:
    assert evaluate("{% {'a': null, 'b': [null, 1]} %}") == {"a": None, "b": [None, 1]}


def test_result_is_plain_json_types() -> None:
    result = evaluate("{% [1..3].($ * 2) %}")
    assert result == [2, 4, 6] and type(result) is list


def test_regex_literal_works_inside_functions() -> None:
    assert evaluate('{% $contains("hello$world", /^hello\\$/) %}') is True
    assert evaluate("{% $contains('hello$world', /^hello\\ /) %}") is False


def test_states_mapping_need_not_be_a_dict() -> None:
    from types import MappingProxyType

    frozen = JsonataScope(states=MappingProxyType({"input": {"a": 1}}), variables={})
    assert compile_jsonata("{% $states.input.a %}").evaluate(frozen, "Output") == 1
    assert compile_jsonata("{% $states %}").evaluate(frozen, "Output") == {"input": {"a": 1}}


# ------------------------------------------------------------------------------------------
# Errors, worded as AWS words them
# ------------------------------------------------------------------------------------------


def test_undefined_result_fails_naming_expression_and_field() -> None:
    err = failure("{% $doesNotExist %}")
    assert err.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output' returned nothing (undefined)."
    )


def test_missing_key_is_undefined() -> None:
    err = failure("{% $states.input.missing %}", {})
    assert "returned nothing (undefined)." in (err.cause or "")


def test_calling_a_non_function_fails_with_t1006() -> None:
    err = failure("{% $randomSeeded($states.input.x) %}", {"x": "fst"})
    assert err.cause == (
        "The JSONata expression '$randomSeeded($states.input.x)' specified for the field 'Output' "
        "threw an error during evaluation. T1006: Attempted to invoke a non-function"
    )


def test_eval_is_not_available() -> None:
    assert (failure("{% $eval('1 + 1') %}").cause or "").endswith("T1006: Attempted to invoke a non-function")


def test_signature_errors_name_the_function_like_jsonata_js() -> None:
    assert (failure("{% $sum(['a']) %}").cause or "").endswith(
        'T0412: Argument 1 of function "sum" must be an array of "numbers"'
    )
    assert (failure("{% $abs('a') %}").cause or "").endswith(
        'T0410: Argument 1 of function "abs" does not match function signature'
    )


def test_operator_type_error_names_the_operator() -> None:
    assert (failure("{% 1 + 'a' %}").cause or "").endswith(
        'T2002: The right side of the "+" operator must evaluate to a number'
    )


def test_division_by_zero_is_out_of_range() -> None:
    assert "D1001: Number out of range" in (failure("{% 1 / 0 %}").cause or "")


def test_function_result_is_unsupported() -> None:
    err = failure("{% $fn := function($x){$x} %}")
    assert err.cause == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Output' "
        "returned an unsupported result type."
    )


def test_errors_are_in_state_errors() -> None:
    assert failure("{% $nope %}").in_state


def test_unexpected_type_error_matches_aws_map_items_wording() -> None:
    compiled = compile_jsonata("{% {'foo': 'bar'} %}")
    err = unexpected_type_error(compiled.text, "Items", "array", {"foo": "bar"})
    assert err.cause == (
        "The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected "
        "result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
    )


# ------------------------------------------------------------------------------------------
# Step Functions functions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "size", "expected"),
    [([0], 2, [[0]]), ([0, 1, 2], 2, [[0, 1], [2]]), ([0, 1, 2, 3], 5, [[0, 1, 2, 3]]), ([], 2, [])],
)
def test_partition_chunks_keep_their_arrays(array: list[int], size: int, expected: Any) -> None:
    assert evaluate("{% $partition($states.input.a, $states.input.n) %}", {"a": array, "n": size}) == expected


def test_partition_rejects_non_positive_size() -> None:
    assert "threw an error during evaluation" in (failure("{% $partition([1], 0) %}").cause or "")


@pytest.mark.parametrize(
    ("args", "expected"),
    [((0, 9, 3), [0, 3, 6, 9]), ((0, 10, 3), [0, 3, 6, 9]), ((1, 9, 2), [1, 3, 5, 7, 9]), ((1, 9, 9), 1),
     ((10, 0, -5), [10, 5, 0])],
)
def test_range_includes_end_when_step_lands_on_it(args: tuple[int, int, int], expected: Any) -> None:
    start, end, step = args
    assert evaluate(f"{{% $range({start}, {end}, {step}) %}}") == expected


def test_range_rejects_zero_step() -> None:
    assert "step of $range" in (failure("{% $range(0, 3, 0) %}").cause or "")


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("SHA-1", "140f86aae51ab9e1cda9b4254fe98a74eb54c1a1"),
        ("MD5", "a43c1b0aa53a0c908810c06ab1ff3967"),
        ("SHA-256", "c96c6d5be8d08a12e7b5cdc1b207fa6b2430974c86803d8891675e76fd992c20"),
    ],
)
def test_hash_hex_digest(algorithm: str, digest: str) -> None:
    assert evaluate(f"{{% $hash('input', '{algorithm}') %}}") == digest


def test_hash_rejects_unknown_algorithm() -> None:
    assert "MD5, SHA-1, SHA-256, SHA-384, SHA-512" in (failure("{% $hash('a', 'MD4') %}").cause or "")


@pytest.mark.parametrize(
    ("seed", "expected"),
    # First nextDouble() of new java.util.Random(seed).
    [(42, 0.7275636800328681), (0, 0.730967787376657), (123, 0.7231742029971469)],
)
def test_seeded_random_is_java_util_random(seed: int, expected: float) -> None:
    assert java_random_double(seed) == expected
    assert evaluate(f"{{% $random({seed}) %}}") == expected


def test_unseeded_random_and_uuid_come_from_the_execution_id_source() -> None:
    compiled = compile_jsonata("{% [$random(), $uuid()] %}")
    with use_sources(FakeClock(), IdSource(7)):
        first = compiled.evaluate(scope(), "O")
    with use_sources(FakeClock(), IdSource(7)):
        second = compiled.evaluate(scope(), "O")
    with use_sources(FakeClock(), IdSource(8)):
        other = compiled.evaluate(scope(), "O")
    assert first == second
    assert first[1] != other[1] and uuid.UUID(first[1]).version == 4


@pytest.mark.parametrize("text", ["{% $random() %}", "{% $uuid() %}", "{% $now() %}", "{% $millis() %}"])
def test_time_and_entropy_outside_an_execution_raise_nondeterminism_error(text: str) -> None:
    with pytest.raises(NondeterminismError, match="no execution is being evaluated"):
        compile_jsonata(text).evaluate(scope(), "O")


def test_now_and_millis_read_the_engine_clock() -> None:
    clock = FakeClock(datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
    with use_sources(clock, IdSource(0)):
        assert compile_jsonata("{% $millis() %}").evaluate(scope(), "O") == 1_700_000_000_000
        assert compile_jsonata("{% $now() %}").evaluate(scope(), "O") == "2023-11-14T22:13:20.000Z"


class _TickingClock(FakeClock):
    """A clock that moves one millisecond every time it is read."""

    def now(self) -> datetime:
        self.advance(0.001)
        return super().now()


def test_now_and_millis_are_constant_within_one_expression() -> None:
    # JSONata: "All invocations of $now() within an evaluation of an expression will all return
    # the same timestamp value" (and $millis likewise), even on a clock that moves when read.
    compiled = compile_jsonata("{% [$millis(), $millis(), $toMillis($now()), $toMillis($now())] %}")
    with use_sources(_TickingClock(datetime(2024, 1, 1, tzinfo=UTC)), IdSource(0)):
        first = compiled.evaluate(scope(), "O")
        second = compiled.evaluate(scope(), "O")
    assert len(set(first)) == 1
    assert second[0] > first[0]  # a new evaluation reads the clock again


@pytest.mark.parametrize(("text", "expected"), [("-0", 0), ("1", 1), ('"HelloWorld"', "HelloWorld"),
                                                ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]), ("null", None)])
def test_parse_reads_json_text(text: str, expected: Any) -> None:
    assert evaluate("{% $parse($states.input.s) %}", {"s": text}) == expected


def test_parse_rejects_invalid_json() -> None:
    assert "$parse could not parse" in (failure("{% $parse('{') %}").cause or "")


# ------------------------------------------------------------------------------------------
# References, for the validator
# ------------------------------------------------------------------------------------------


def test_references_lists_workflow_variables_only() -> None:
    compiled = compile_jsonata(
        "{% ($a := $states.input.x; $f := function($y){$y + $v}; $sum([$a]) + $f(1) + $w.q) %}"
    )
    assert compiled.references() == frozenset({"v", "w"})


def test_states_references_lists_states_fields() -> None:
    assert compile_jsonata("{% $states.result.x & $states.input %}").states_references() == {"result", "input"}


# ------------------------------------------------------------------------------------------
# Templates
# ------------------------------------------------------------------------------------------


def test_template_evaluates_nested_expressions_and_keeps_literals() -> None:
    template = compile_jsonata_template(
        {"a": "{% $states.input.x %}", "lit": ["$", " {% no %} ", {"k": "{% true %}"}], "n": None},
        "Output",
    )
    assert template(scope({"x": 5})) == {"a": 5, "lit": ["$", " {% no %} ", {"k": True}], "n": None}


def test_template_field_path_names_object_keys_and_array_indexes() -> None:
    template = compile_jsonata_template({"result": [1, {"deep": "{% $nope %}"}]}, "Output")
    with pytest.raises(StatesError) as info:
        template(scope())
    assert "specified for the field 'Output/result[1]/deep' returned nothing" in (info.value.cause or "")


def test_top_level_expression_template_is_its_value() -> None:
    assert compile_jsonata_template("{% $states.input %}", "Output")(scope({"a": 1})) == {"a": 1}


def test_static_template_results_are_fresh_copies() -> None:
    template = compile_jsonata_template({"a": [1]}, "Output")
    first = template(scope())
    first["a"].append(2)
    assert template(scope()) == {"a": [1]}


def test_template_compiles_expressions_up_front() -> None:
    with pytest.raises(ExpressionError):
        compile_jsonata_template({"a": ["{% 1 + %}"]}, "Output")


# ------------------------------------------------------------------------------------------
# The dictionary-walk fast path agrees with the engine
# ------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 2.0]) | st.sampled_from(["a", "b"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["a", "b"]), children,
                                                                     max_size=2),
    max_leaves=8,
)


def _engine_only(text: str) -> CompiledJsonata:
    compiled = compile_jsonata(text)
    compiled._path = None  # force the full JSONata evaluator
    return compiled


@settings(max_examples=300, deadline=None)
@given(value=json_values, path=st.lists(st.sampled_from(["a", "b"]), max_size=3))
def test_fast_path_matches_full_evaluator(value: Any, path: list[str]) -> None:
    text = "{% $states.input" + "".join(f".{key}" for key in path) + " %}"
    fast, slow = compile_jsonata(text), _engine_only(text)
    results = []
    for compiled in (fast, slow):
        try:
            results.append(("ok", compiled.evaluate(scope(value), "Output")))
        except StatesError as err:
            results.append(("error", err.cause))
    assert results[0] == results[1]


# ------------------------------------------------------------------------------------------
# Conformance: AWS-recorded executions whose outcome the evaluation layer alone decides
# ------------------------------------------------------------------------------------------

_PREFIX = re.compile(r"^An error occurred while executing the state '[^']*' \(entered at the event id #\d+\)\. ")


def _is_replayable_here(case: dict[str, Any]) -> bool:
    return case["query_language"] == "JSONata" and case["pure_asl"] and _runnable(case)


def _language(definition: dict[str, Any], state: dict[str, Any]) -> str:
    return str(state.get("QueryLanguage", definition.get("QueryLanguage", "JSONPath")))


_JSONPATH_OK = {"Type", "Next", "End", "Assign", "QueryLanguage", "Comment"}


def _runnable(case: dict[str, Any]) -> bool:
    """Pass/Succeed/Choice/Fail states and a final Map with ``Items``: nothing an engine adds."""
    definition = case["definition"]
    for state in definition["States"].values():
        kind = state["Type"]
        if kind == "Map":
            if "Items" not in state or not state.get("End"):
                return False
            continue
        if kind not in ("Pass", "Succeed", "Choice", "Fail"):
            return False
        if _language(definition, state) == "JSONPath" and (
            set(state) - _JSONPATH_OK or any(key.endswith(".$") for key in state.get("Assign", {}))
        ):
            return False
    return True


def _template(value: Any, field: str, current: JsonataScope) -> Any:
    return compile_jsonata_template(value, field)(current)


def _run(case: dict[str, Any]) -> tuple[str, Any]:
    """A tiny interpreter for the states ``_runnable`` admits, built only on this module."""
    definition = case["definition"]
    data: Any = case["input"]
    variables: dict[str, Any] = {}
    name: str | None = definition["StartAt"]
    try:
        while name is not None:
            state = definition["States"][name]
            jsonata = _language(definition, state) == "JSONata"
            current = JsonataScope({"input": data, "context": {}}, dict(variables))
            kind = state["Type"]
            if kind == "Fail":
                error = _template(state["Error"], "Error", current) if "Error" in state else None
                cause = _template(state["Cause"], "Cause", current) if "Cause" in state else None
                return "FAILED", (error, cause)
            if kind == "Map":
                items = _template(state["Items"], "Items", current)
                if not isinstance(items, list):
                    raise unexpected_type_error(compile_jsonata(state["Items"]).text, "Items", "array", items)
                return "SUCCEEDED", items  # every iteration is a bare Pass
            carrier = state
            following = state.get("Next")
            if kind == "Choice":
                # A matching rule's Assign/Output apply; otherwise the state's own, with Default.
                carrier = {**state, "Next": state.get("Default")}
                for index, rule in enumerate(state["Choices"]):
                    if _template(rule["Condition"], f"Choices[{index}]/Condition", current) is True:
                        carrier = rule
                        break
                following = carrier["Next"]
            assigned = {
                key: _template(value, f"Assign/{key}", current) if jsonata else value
                for key, value in carrier.get("Assign", {}).items()
            }
            if "Output" in carrier:
                data = _template(carrier["Output"], "Output", current)
            variables.update(assigned)
            name = None if state.get("End") or kind == "Succeed" else following
    except StatesError as err:
        return "FAILED", (err.error, err.cause)
    return "SUCCEEDED", data


@pytest.mark.aws_cases(_is_replayable_here, ids=lambda case: case["id"].split("::", 2)[-1])
@pytest.mark.usefixtures("sources")
def test_conformance_case(aws_case: dict[str, Any]) -> None:
    case = aws_case
    expected = case["expected"]
    status, outcome = _run(case)
    assert status == expected["status"]
    if status == "SUCCEEDED":
        assert outcome == expected["output"]
    else:
        cause = expected["cause"]
        assert outcome == (expected["error"], None if cause is None else _PREFIX.sub("", cause))


def test_conformance_selection_is_not_empty(aws_cases: list[dict[str, Any]]) -> None:
    assert sum(1 for case in aws_cases if _is_replayable_here(case)) >= 50
