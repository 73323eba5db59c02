"""Specification of the ASL validator (and of definition loading)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn._errors import DefinitionInvalid, DefinitionParseError, Diagnostic
from alpha_engine.sfn._loader import load_definition
from alpha_engine.sfn._validator import check_definition, validate_definition

LAMBDA = "arn:aws:states:::lambda:invoke"


def errors(definition: Any, **kwargs: Any) -> list[Diagnostic]:
    return [d for d in validate_definition(definition, **kwargs) if d.severity == "ERROR"]


def warnings(definition: Any) -> list[Diagnostic]:
    return [d for d in validate_definition(definition) if d.severity == "WARNING"]


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "A", "States": {"A": state}, **top}


def locations(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.location for d in diagnostics]


def assert_error_at(definition: Any, location: str, *words: str, code: str | None = None) -> Diagnostic:
    found = [d for d in errors(definition) if d.location == location]
    assert found, f"no error at {location}; got {[str(d) for d in validate_definition(definition)]}"
    match = [d for d in found if all(w in d.message for w in words) and (code is None or d.code == code)]
    assert match, f"errors at {location} do not mention {words} / {code}: {[str(d) for d in found]}"
    return match[0]


# --- the 36-case corpus ---------------------------------------------------------------------

# case -> (pointer of the diagnostic naming the problem, words the message must contain)
EXPECTED_INVALID: dict[str, tuple[str, tuple[str, ...]]] = {
    "bad_choice_default_dangling": ("/States/A/Default", ("Nope",)),
    "bad_choice_rule_no_next": ("/States/A/Choices/0", ("Next",)),
    "bad_choice_two_comparators": ("/States/A/Choices/0", ("NumericEquals", "StringEquals")),
    "bad_end_and_next": ("/States/A", ("Next", "End")),
    "bad_fail_error_and_errorpath": ("/States/A/ErrorPath", ("Error", "ErrorPath")),
    "bad_heartbeat_ge_timeout": ("/States/A/HeartbeatSeconds", ("HeartbeatSeconds", "TimeoutSeconds")),
    "bad_inputpath_not_path": ("/States/A/InputPath", ("InputPath", "a.b")),
    "bad_jsonata_syntax": ("/States/A/Output", ("JSONata", "$states.input.x +")),
    "bad_jsonata_with_parameters": ("/States/A/Parameters", ("JSONata", "Parameters")),
    "bad_map_no_processor": ("/States/A", ("ItemProcessor",)),
    "bad_next_dangling": ("/States/A/Next", ("Nope",)),
    "bad_no_terminal": ("/States/A", ("Next", "End")),
    "bad_parallel_branch_dangling": ("/States/A/Branches/0/States/B/Next", ("Nope",)),
    "bad_param_dollar_non_path": ("/States/A/Parameters/x.$", ("x.$", "hello")),
    "bad_resultpath_wildcard": ("/States/A/ResultPath", ("ResultPath", "$.a[*]")),
    "bad_retry_negative_interval": ("/States/A/Retry/0/IntervalSeconds", ("IntervalSeconds",)),
    "bad_startat_missing_state": ("/StartAt", ("Nope",)),
    "bad_states_all_not_alone": ("/States/A/Catch/0/ErrorEquals", ("States.ALL", "alone")),
    "bad_states_all_not_last": ("/States/A/Retry/0/ErrorEquals", ("States.ALL", "last")),
    "bad_task_no_resource": ("/States/A", ("Resource",)),
    "bad_timeout_and_timeoutpath": ("/States/A/TimeoutSecondsPath", ("TimeoutSeconds", "TimeoutSecondsPath")),
    "bad_unknown_field": ("/States/A/Foo", ("Foo",)),
    "bad_unknown_intrinsic": ("/States/A/Parameters/x.$", ("States.Nope",)),
    "bad_unknown_type": ("/States/A/Type", ("Nope",)),
    "bad_unreachable_state": ("/States/B", ("B", "not reachable")),
    "bad_wait_seconds_and_path": ("/States/A/SecondsPath", ("Seconds", "SecondsPath")),
}


def test_validator_corpus_is_complete(validator_cases: list[dict[str, Any]]) -> None:
    assert len(validator_cases) == 36
    invalid = {case["name"] for case in validator_cases} & set(EXPECTED_INVALID)
    assert invalid == set(EXPECTED_INVALID)


def test_validator_corpus_verdict_and_location(validator_case: dict[str, Any]) -> None:
    case = validator_case
    found = errors(case["definition"])
    if case["expected_valid"]:
        assert found == [], [str(d) for d in found]
        return
    location, words = EXPECTED_INVALID[case["name"]]
    assert_error_at(case["definition"], location, *words)


# --- AWS-accepted definitions ---------------------------------------------------------------

_OUT_OF_SCOPE_KEYS = ("ItemReader", "ResultWriter", "ItemBatcher", '"DISTRIBUTED"', ":activity:")


def _out_of_scope(case: dict[str, Any]) -> bool:
    text = json.dumps(case["definition"])
    # The activity cases carry a placeholder ('activity_arn') instead of a real activity ARN.
    return any(key in text for key in _OUT_OF_SCOPE_KEYS) or case["group"] == "activities"


def test_every_definition_aws_accepted_validates_without_errors(aws_cases: list[dict[str, Any]]) -> None:
    cases = aws_cases
    in_scope = [c for c in cases if not _out_of_scope(c)]
    # 847 recorded executions; 39 use Distributed Map / ItemReader / ResultWriter / ItemBatcher
    # or activities, which this runtime does not support.
    assert len(cases) - len(in_scope) == 39
    failures = {c["id"]: [str(d) for d in errors(c["definition"])] for c in in_scope}
    failures = {k: v for k, v in failures.items() if v}
    assert failures == {}


def test_out_of_scope_aws_definitions_are_reported_as_unsupported(aws_cases: list[dict[str, Any]]) -> None:
    for case in aws_cases:
        if _out_of_scope(case) and case["group"] != "activities":
            codes = {d.code for d in errors(case["definition"])}
            assert codes == {"UNSUPPORTED_FEATURE"}, case["id"]


# --- structure ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", [], 3, "text", [{"StartAt": "A"}]])
def test_non_object_definition_is_one_error(value: Any) -> None:
    found = errors(value)
    assert len(found) == 1 and found[0].location == ""


def test_minimal_definition_is_valid() -> None:
    assert validate_definition(one({"Type": "Succeed"})) == []


def test_start_at_and_states_are_required() -> None:
    found = errors({})
    assert {d.message.split(" ")[0] for d in found} == {"StartAt", "States"}


def test_states_must_not_be_empty() -> None:
    assert_error_at({"StartAt": "A", "States": {}}, "/States", "at least one")


def test_unknown_top_level_field_is_rejected() -> None:
    assert_error_at({**one({"Type": "Succeed"}), "Foo": 1}, "/Foo", "Foo", code="SCHEMA_VALIDATION_FAILED")


def test_top_level_timeout_must_be_positive_integer() -> None:
    assert_error_at(one({"Type": "Succeed"}, TimeoutSeconds=0), "/TimeoutSeconds", "positive")
    assert errors(one({"Type": "Succeed"}, TimeoutSeconds=60)) == []


def test_state_name_longer_than_80_characters_is_invalid() -> None:
    name = "x" * 81
    d = assert_error_at({"StartAt": name, "States": {name: {"Type": "Succeed"}}}, f"/States/{name}", "80")
    assert d.code == "INVALID_STATE_NAME"


def test_state_names_with_slash_and_tilde_are_escaped_in_pointers() -> None:
    definition = {"StartAt": "a/b~c", "States": {"a/b~c": {"Type": "Pass", "Next": "gone"}}}
    assert_error_at(definition, "/States/a~1b~0c/Next", "gone")


def test_state_names_with_spaces_quotes_and_unicode_are_valid() -> None:
    definition = machine(
        **{'Fetch "prices" é': {"Type": "Pass", "Next": "Done ✓"}, "Done ✓": {"Type": "Succeed"}}
    )
    assert errors(definition) == []


def test_duplicate_state_name_across_parallel_branch_is_rejected() -> None:
    definition = machine(
        P={
            "Type": "Parallel",
            "Branches": [{"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}],
            "End": True,
        }
    )
    d = assert_error_at(definition, "/States/P/Branches/0/States/P", "P", code="DUPLICATE_STATE_NAME")
    assert "/States/P" in d.message


def test_duplicate_state_name_across_map_processor_is_rejected() -> None:
    inner = {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}}
    definition = machine(
        M1={"Type": "Map", "ItemProcessor": inner, "Next": "M2"},
        M2={"Type": "Map", "ItemProcessor": copy.deepcopy(inner), "End": True},
    )
    assert_error_at(definition, "/States/M2/ItemProcessor/States/X", code="DUPLICATE_STATE_NAME")


def test_unknown_type_lists_the_known_types() -> None:
    d = assert_error_at(one({"Type": "Lambda", "End": True}), "/States/A/Type", "Lambda")
    assert "Task" in d.message and "Parallel" in d.message


def test_missing_type_is_rejected_without_graph_noise() -> None:
    found = errors(one({"End": True}))
    assert [d.location for d in found] == ["/States/A"]


def test_non_object_state_is_rejected() -> None:
    assert_error_at(one([]), "/States/A", "object")  # type: ignore[arg-type]


@pytest.mark.parametrize("state_type", ["Pass", "Task", "Wait", "Parallel", "Map"])
def test_non_terminal_state_needs_next_or_end(state_type: str) -> None:
    definition = one({"Type": state_type})
    assert_error_at(definition, "/States/A", "Next", "End")


@pytest.mark.parametrize("state_type", ["Choice", "Succeed", "Fail"])
def test_choice_succeed_fail_take_no_next(state_type: str) -> None:
    definition = machine(A={"Type": "Pass", "Next": "B"}, B={"Type": state_type, "Next": "A"})
    assert_error_at(definition, "/States/B/Next", "Next", state_type)


def test_end_must_be_boolean() -> None:
    assert_error_at(one({"Type": "Pass", "End": "yes"}), "/States/A/End", "boolean")


# --- graph ----------------------------------------------------------------------------------


def test_next_into_a_parallel_branch_is_a_cross_scope_error() -> None:
    definition = machine(
        P={
            "Type": "Parallel",
            "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Succeed"}}}],
            "Next": "Inner",
        }
    )
    d = assert_error_at(definition, "/States/P/Next", "Inner", code="MISSING_TRANSITION_TARGET")
    assert "namespaces" in d.message


def test_next_out_of_a_map_processor_is_a_cross_scope_error() -> None:
    definition = machine(
        Out={"Type": "Succeed"},
        M={
            "Type": "Map",
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Out"}}},
            "End": True,
        },
    )
    assert_error_at(definition, "/States/M/ItemProcessor/States/I/Next", "Out")


def test_catch_next_must_name_a_state() -> None:
    definition = one(
        {"Type": "Task", "Resource": LAMBDA, "End": True, "Catch": [{"ErrorEquals": ["X"], "Next": "Nope"}]}
    )
    assert_error_at(definition, "/States/A/Catch/0/Next", "Nope")


def test_choice_rule_next_must_name_a_state() -> None:
    definition = machine(
        C={
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Nope"}],
            "Default": "D",
        },
        D={"Type": "Succeed"},
    )
    assert_error_at(definition, "/States/C/Choices/0/Next", "Nope")


def test_state_reachable_only_through_catch_is_reachable() -> None:
    definition = machine(
        T={
            "Type": "Task",
            "Resource": LAMBDA,
            "End": True,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
        },
        H={"Type": "Fail", "Error": "Handled"},
    )
    assert errors(definition) == []


def test_loop_without_terminal_state_is_missing_end_state() -> None:
    definition = machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Next": "A"})
    found = errors(definition)
    assert [(d.code, d.location) for d in found] == [("MISSING_END_STATE", "")]


def test_unreachable_terminal_is_reported_as_unreachable_not_missing_end() -> None:
    definition = machine(
        A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Next": "A"}, C={"Type": "Succeed"}
    )
    found = errors(definition)
    assert ("MISSING_TRANSITION_TARGET", "/States/C") in [(d.code, d.location) for d in found]
    assert "MISSING_END_STATE" not in {d.code for d in found}


def test_branch_without_terminal_reports_at_the_branch() -> None:
    definition = machine(
        P={
            "Type": "Parallel",
            "Branches": [{"StartAt": "L", "States": {"L": {"Type": "Pass", "Next": "L"}}}],
            "End": True,
        }
    )
    assert_error_at(definition, "/States/P/Branches/0", code="MISSING_END_STATE")


# --- query languages ------------------------------------------------------------------------


def test_jsonpath_state_rejects_jsonata_only_field() -> None:
    d = assert_error_at(one({"Type": "Pass", "Output": {"a": 1}, "End": True}), "/States/A/Output", "JSONata")
    assert d.message.startswith("The QueryLanguage is set to 'JSONPath'")


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath", "Parameters", "Result"])
def test_jsonata_state_rejects_jsonpath_only_fields(field: str) -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "End": True, field: "$"}
    assert_error_at(one(state), f"/States/A/{field}", field, "JSONata")


def test_state_can_opt_into_jsonata_under_jsonpath_machine() -> None:
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "End": True}
    assert errors(one(state)) == []


def test_jsonata_machine_forbids_jsonpath_state() -> None:
    definition = one({"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}, QueryLanguage="JSONata")
    assert_error_at(definition, "/States/A/QueryLanguage", "JSONPath", "JSONata")


def test_unknown_query_language_is_rejected() -> None:
    assert_error_at(one({"Type": "Succeed"}, QueryLanguage="XPath"), "/QueryLanguage", "XPath")


def test_processor_cannot_declare_query_language() -> None:
    processor = {"QueryLanguage": "JSONata", "StartAt": "I", "States": {"I": {"Type": "Succeed"}}}
    definition = one({"Type": "Map", "ItemProcessor": processor, "End": True})
    assert_error_at(definition, "/States/A/ItemProcessor/QueryLanguage", "QueryLanguage")


def test_jsonata_choice_rule_needs_condition_and_rejects_variable() -> None:
    rule = {"Variable": "$.x", "IsPresent": True, "Next": "D"}
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"}, "D": {"Type": "Succeed"}},
    }
    assert_error_at(definition, "/States/C/Choices/0", "Condition")
    assert_error_at(definition, "/States/C/Choices/0/Variable", "JSONPath")


def test_jsonata_expressions_are_compiled_everywhere() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Arguments": {"deep": ["{% 1 + %}"]},
        "TimeoutSeconds": "{% ) %}",
        "End": True,
    }
    definition = one(state, QueryLanguage="JSONata")
    assert_error_at(definition, "/States/A/Arguments/deep/0", "1 +")
    assert_error_at(definition, "/States/A/TimeoutSeconds", ")")


def test_jsonata_fields_accept_expressions_where_numbers_are_expected() -> None:
    state = {
        "Type": "Map",
        "Items": "{% $states.input.items %}",
        "MaxConcurrency": "{% $states.input.n %}",
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    assert errors(one(state, QueryLanguage="JSONata")) == []


# --- paths and payload templates ------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["$", "$.a.b", "$['a b'][0]", "$.items[?(@.x > 1)]", "$$.Execution.Input", "$var.x"]
)
def test_input_path_accepts_paths(path: str) -> None:
    assert errors(one({"Type": "Pass", "InputPath": path, "End": True})) == []


@pytest.mark.parametrize("field", ["InputPath", "OutputPath", "ResultPath"])
def test_io_paths_may_be_null(field: str) -> None:
    assert errors(one({"Type": "Pass", field: None, "End": True})) == []


@pytest.mark.parametrize("path", ["$$.Execution.Id", "$var", "$.a..b", "$.a[0:2]", "x"])
def test_result_path_rejects_non_reference_paths(path: str) -> None:
    assert_error_at(
        one({"Type": "Pass", "ResultPath": path, "End": True}), "/States/A/ResultPath", "ResultPath"
    )


@pytest.mark.parametrize(
    "value",
    [
        "$.a",
        "$",
        "$$.Map.Item.Value",
        "$myVar.field[0]",
        "States.Format('{} and {}', $.a, $.b)",
        "States.ArrayLength(States.Array(1, 2))",
    ],
)
def test_dollar_key_accepts_paths_variables_and_intrinsics(value: str) -> None:
    assert errors(one({"Type": "Pass", "Parameters": {"nested": [{"v.$": value}]}, "End": True})) == []


@pytest.mark.parametrize("value", [42, None, "literal", "States.ArrayLength()", "$.a[", "States.Hash($.a)"])
def test_dollar_key_rejects_non_paths_and_bad_intrinsics(value: Any) -> None:
    definition = one({"Type": "Pass", "Parameters": {"v.$": value}, "End": True})
    assert_error_at(definition, "/States/A/Parameters/v.$", "v.$")


def test_result_selector_and_item_selector_templates_are_checked() -> None:
    state = {
        "Type": "Map",
        "ItemSelector": {"i.$": "nope"},
        "ResultSelector": {"r.$": "nope"},
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    assert_error_at(one(state), "/States/A/ItemSelector/i.$")
    assert_error_at(one(state), "/States/A/ResultSelector/r.$")


def test_assign_checks_variable_names_and_dollar_values() -> None:
    state = {"Type": "Pass", "Assign": {"ok.$": "$.a", "9bad": 1, "v.$": "nope"}, "End": True}
    assert_error_at(one(state), "/States/A/Assign/9bad", "9bad")
    assert_error_at(one(state), "/States/A/Assign/v.$", "nope")


# --- per state type -------------------------------------------------------------------------


def test_task_resource_must_be_an_arn() -> None:
    d = assert_error_at(one({"Type": "Task", "Resource": "my-function", "End": True}), "/States/A/Resource")
    assert d.code == "INVALID_RESOURCE"


def test_activity_resource_is_unsupported() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:activity:work"
    d = assert_error_at(
        one({"Type": "Task", "Resource": arn, "End": True}), "/States/A/Resource", "activities"
    )
    assert d.code == "UNSUPPORTED_FEATURE"


def test_resource_hook_marks_unbound_resources() -> None:
    definition = one({"Type": "Task", "Resource": LAMBDA, "End": True})
    assert errors(definition, resource_supported=lambda arn: True) == []
    found = errors(definition, resource_supported=lambda arn: False)
    assert [(d.code, d.location) for d in found] == [("INVALID_RESOURCE", "/States/A/Resource")]


def test_an_unbound_resource_can_be_a_warning_as_aws_accepts_it() -> None:
    definition = one({"Type": "Task", "Resource": LAMBDA, "End": True})
    found = validate_definition(definition, resource_supported=lambda arn: False, unbound_is_error=False)
    assert [(d.severity, d.code, d.location) for d in found] == [
        ("WARNING", "NO_LOCAL_BINDING", "/States/A/Resource")]
    assert "AWS accepts it" in found[0].message
    assert validate_definition(definition, resource_supported=lambda arn: True, unbound_is_error=False) == []


def test_resource_hook_that_raises_becomes_a_diagnostic() -> None:
    def hook(arn: str) -> bool:
        raise RuntimeError("registry down")

    found = errors(one({"Type": "Task", "Resource": LAMBDA, "End": True}), resource_supported=hook)
    assert "registry down" in found[0].message


@pytest.mark.parametrize("field", ["TimeoutSeconds", "HeartbeatSeconds"])
@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
def test_task_timeouts_must_be_positive_integers(field: str, value: Any) -> None:
    state = {"Type": "Task", "Resource": LAMBDA, field: value, "End": True}
    assert_error_at(one(state), f"/States/A/{field}", field)


def test_heartbeat_below_timeout_is_valid() -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": 10, "HeartbeatSeconds": 5, "End": True}
    assert errors(one(state)) == []


def test_heartbeat_path_and_heartbeat_are_exclusive() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "HeartbeatSeconds": 5,
        "HeartbeatSecondsPath": "$.h",
        "End": True,
    }
    assert_error_at(one(state), "/States/A/HeartbeatSecondsPath", "HeartbeatSeconds")


def test_choice_needs_non_empty_choices() -> None:
    definition = machine(C={"Type": "Choice", "Choices": [], "Default": "D"}, D={"Type": "Succeed"})
    assert_error_at(definition, "/States/C/Choices", "non-empty")


def test_nested_choice_rule_cannot_have_next() -> None:
    rule = {"Not": {"Variable": "$.x", "IsNull": True, "Next": "D"}, "Next": "D"}
    definition = machine(C={"Type": "Choice", "Choices": [rule], "Default": "D"}, D={"Type": "Succeed"})
    assert_error_at(definition, "/States/C/Choices/0/Not/Next", "nested")


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("StringEquals", 1),
        ("NumericEquals", "1"),
        ("NumericLessThan", True),
        ("BooleanEquals", "true"),
        ("IsPresent", 1),
        ("TimestampEquals", 20240101),
        ("StringEqualsPath", "x"),
        ("NumericGreaterThanPath", "$.a[*]"),
    ],
)
def test_choice_comparator_value_types(operator: str, value: Any) -> None:
    rule = {"Variable": "$.x", operator: value, "Next": "D"}
    definition = machine(C={"Type": "Choice", "Choices": [rule], "Default": "D"}, D={"Type": "Succeed"})
    assert_error_at(definition, f"/States/C/Choices/0/{operator}", operator)


def test_choice_rule_needs_variable_for_comparison() -> None:
    definition = machine(
        C={"Type": "Choice", "Choices": [{"StringEquals": "a", "Next": "D"}], "Default": "D"},
        D={"Type": "Succeed"},
    )
    assert_error_at(definition, "/States/C/Choices/0", "Variable")


def test_choice_variable_may_be_context_or_variable_path() -> None:
    rules = [
        {"Variable": "$$.Execution.Name", "IsString": True, "Next": "D"},
        {"Variable": "$counter", "NumericGreaterThanPath": "$limit", "Next": "D"},
        {
            "And": [{"Variable": "$.a", "IsPresent": True}, {"Or": [{"Variable": "$.b", "IsNull": False}]}],
            "Next": "D",
        },
    ]
    definition = machine(C={"Type": "Choice", "Choices": rules, "Default": "D"}, D={"Type": "Succeed"})
    assert errors(definition) == []


def test_wait_needs_exactly_one_duration() -> None:
    assert_error_at(one({"Type": "Wait", "End": True}), "/States/A", "Seconds")


def test_wait_seconds_may_be_zero_but_not_negative() -> None:
    assert errors(one({"Type": "Wait", "Seconds": 0, "End": True})) == []
    assert_error_at(one({"Type": "Wait", "Seconds": -1, "End": True}), "/States/A/Seconds", "Seconds")


def test_wait_timestamp_must_be_rfc3339() -> None:
    assert errors(one({"Type": "Wait", "Timestamp": "2016-03-05T21:29:29.243167252Z", "End": True})) == []
    assert_error_at(
        one({"Type": "Wait", "Timestamp": "tomorrow", "End": True}), "/States/A/Timestamp", "RFC 3339"
    )


def test_fail_cause_and_cause_path_are_exclusive() -> None:
    assert_error_at(one({"Type": "Fail", "Cause": "c", "CausePath": "$.c"}), "/States/A/CausePath", "Cause")


def test_fail_error_path_rejects_intrinsics_aws_does_not_allow_there() -> None:
    d = assert_error_at(one({"Type": "Fail", "ErrorPath": "States.ArrayLength($.a)"}), "/States/A/ErrorPath")
    assert "States.Format" in d.message


def test_fail_error_path_accepts_variables_and_context() -> None:
    assert errors(one({"Type": "Fail", "ErrorPath": "$errorVar", "CausePath": "$$.State.Name"})) == []


def test_parallel_needs_branches() -> None:
    assert_error_at(one({"Type": "Parallel", "Branches": [], "End": True}), "/States/A/Branches", "non-empty")


def test_parallel_branch_must_be_a_machine() -> None:
    assert_error_at(
        one({"Type": "Parallel", "Branches": [{"States": {}}], "End": True}), "/States/A/Branches/0"
    )


def test_map_legacy_iterator_and_parameters_are_accepted() -> None:
    state = {
        "Type": "Map",
        "Parameters": {"v.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    assert errors(one(state)) == []


def test_map_item_selector_and_parameters_are_exclusive() -> None:
    state = {
        "Type": "Map",
        "ItemSelector": {},
        "Parameters": {},
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    assert_error_at(one(state), "/States/A/Parameters", "ItemSelector")


@pytest.mark.parametrize("value", [-1, 101, "50"])
def test_map_tolerated_failure_percentage_range(value: Any) -> None:
    state = {
        "Type": "Map",
        "ToleratedFailurePercentage": value,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    assert_error_at(one(state), "/States/A/ToleratedFailurePercentage", "0 to 100")


@pytest.mark.parametrize("field", ["ItemReader", "ResultWriter", "ItemBatcher"])
def test_distributed_map_fields_are_unsupported(field: str) -> None:
    state = {
        "Type": "Map",
        field: {},
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Succeed"}}},
        "End": True,
    }
    d = assert_error_at(one(state), f"/States/A/{field}", "not supported by this runtime")
    assert d.code == "UNSUPPORTED_FEATURE"


def test_distributed_mode_is_unsupported() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "I",
        "States": {"I": {"Type": "Succeed"}},
    }
    state = {"Type": "Map", "ItemProcessor": processor, "End": True}
    d = assert_error_at(one(state), "/States/A/ItemProcessor/ProcessorConfig/Mode", "Distributed")
    assert d.code == "UNSUPPORTED_FEATURE"


# --- Retry / Catch --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("IntervalSeconds", 0),
        ("MaxAttempts", -1),
        ("BackoffRate", 0.5),
        ("MaxDelaySeconds", 0),
        ("JitterStrategy", "SOME"),
        ("Unknown", 1),
    ],
)
def test_retrier_field_bounds(field: str, value: Any) -> None:
    retrier = {"ErrorEquals": ["X"], field: value}
    state = {"Type": "Task", "Resource": LAMBDA, "Retry": [retrier], "End": True}
    assert_error_at(one(state), f"/States/A/Retry/0/{field}", field)


def test_retrier_with_zero_attempts_and_full_jitter_is_valid() -> None:
    retrier = {
        "ErrorEquals": ["X"],
        "MaxAttempts": 0,
        "JitterStrategy": "FULL",
        "BackoffRate": 1,
        "MaxDelaySeconds": 5,
    }
    assert errors(one({"Type": "Task", "Resource": LAMBDA, "Retry": [retrier], "End": True})) == []


@pytest.mark.parametrize("value", [[], "States.ALL", [1]])
def test_error_equals_must_be_non_empty_list_of_strings(value: Any) -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": value}], "End": True}
    found = [d for d in errors(one(state)) if d.location.startswith("/States/A/Retry/0/ErrorEquals")]
    assert found


@pytest.mark.parametrize("state_type", ["Pass", "Wait", "Choice", "Succeed", "Fail"])
def test_retry_and_catch_only_on_task_parallel_map(state_type: str) -> None:
    definition = one({"Type": state_type, "Retry": [], "Catch": []})
    assert_error_at(definition, "/States/A/Retry", "Retry")
    assert_error_at(definition, "/States/A/Catch", "Catch")


def test_catcher_needs_next() -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "Catch": [{"ErrorEquals": ["X"]}], "End": True}
    assert_error_at(one(state), "/States/A/Catch/0", "Next")


def test_catcher_result_path_must_be_reference_path() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Catch": [{"ErrorEquals": ["X"], "Next": "A", "ResultPath": "$.e[*]"}],
        "End": True,
    }
    assert_error_at(one(state), "/States/A/Catch/0/ResultPath", "ResultPath")


# --- lint warnings --------------------------------------------------------------------------


def test_choice_without_default_is_a_warning() -> None:
    definition = machine(
        C={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "D"}]},
        D={"Type": "Succeed"},
    )
    assert errors(definition) == []
    assert [d.code for d in warnings(definition)] == ["CHOICE_WITHOUT_DEFAULT"]


def test_catch_all_that_discards_error_into_succeed_warns() -> None:
    definition = machine(
        T={
            "Type": "Task",
            "Resource": LAMBDA,
            "End": True,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Log"}],
        },
        Log={"Type": "Pass", "Next": "Ok"},
        Ok={"Type": "Succeed"},
    )
    found = warnings(definition)
    assert [(d.code, d.location) for d in found] == [("CATCH_ALL_SWALLOWS_ERROR", "/States/T/Catch/0")]
    assert "silently" in found[0].message


def test_catch_all_that_records_the_error_does_not_warn() -> None:
    definition = machine(
        T={
            "Type": "Task",
            "Resource": LAMBDA,
            "End": True,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Ok"}],
        },
        Ok={"Type": "Succeed"},
    )
    assert warnings(definition) == []


def test_retry_on_deterministic_error_warns() -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "Retry": [{"ErrorEquals": ["States.Runtime"]}], "End": True}
    assert [(d.code, d.location) for d in warnings(one(state))] == [
        ("RETRY_NON_RETRIABLE", "/States/A/Retry/0/ErrorEquals")
    ]


def test_pass_result_with_path_warns_static() -> None:
    state = {"Type": "Pass", "Result": {"v.$": "$.x"}, "End": True}
    assert [d.code for d in warnings(one(state))] == ["PASS_RESULT_IS_STATIC"]
    assert warnings(one({"Type": "Pass", "Result": {"v": 1}, "End": True})) == []


def test_path_looking_literal_without_dollar_key_warns_no_dollar() -> None:
    state = {"Type": "Pass", "Parameters": {"v": "$.x", "w": "States.UUID()"}, "End": True}
    found = warnings(one(state))
    assert [(d.code, d.location) for d in found] == [
        ("NO_DOLLAR", "/States/A/Parameters/v"),
        ("NO_DOLLAR", "/States/A/Parameters/w"),
    ]


def test_fail_error_that_looks_like_a_path_warns_no_path() -> None:
    assert [d.code for d in warnings(one({"Type": "Fail", "Error": "$.error"}))] == ["NO_PATH"]


# --- check_definition -----------------------------------------------------------------------


def test_check_definition_raises_with_all_errors() -> None:
    with pytest.raises(DefinitionInvalid) as info:
        check_definition(machine(A={"Type": "Pass", "Next": "X"}, B={"Type": "Nope"}))
    assert len([d for d in info.value.diagnostics if d.severity == "ERROR"]) >= 2
    assert "/States/A/Next" in str(info.value)


def test_check_definition_returns_warnings_when_valid() -> None:
    definition = one({"Type": "Pass", "Result": {"v.$": "$"}, "End": True})
    assert [d.code for d in check_definition(definition)] == ["PASS_RESULT_IS_STATIC"]


# --- performance (reported, not asserted) ----------------------------------------------------


def pass_chain(n: int) -> dict[str, Any]:
    states: dict[str, Any] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(n - 1)}
    states[f"S{n - 1}"] = {"Type": "Pass", "End": True}
    states["S0"].update({"Result": {"v": 1}, "ResultPath": "$.r"})
    return {"Comment": "linear", "StartAt": "S0", "States": states}


def test_thousand_state_chain_validates_clean(capsys: pytest.CaptureFixture[str]) -> None:
    definition = pass_chain(1000)
    started = time.perf_counter()
    assert validate_definition(definition) == []
    elapsed_ms = (time.perf_counter() - started) * 1000
    with capsys.disabled():
        print(f"\n[validator] 1,000-state Pass chain: {elapsed_ms:.1f} ms")


# --- loader ---------------------------------------------------------------------------------

MINIMAL = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}


def test_load_mapping_returns_a_dict_copy() -> None:
    loaded = load_definition(MINIMAL)
    assert loaded == MINIMAL and loaded is not MINIMAL


def test_load_json_text_and_bytes() -> None:
    text = json.dumps(MINIMAL)
    assert load_definition(text) == MINIMAL
    assert load_definition(text.encode()) == MINIMAL


def test_load_yaml_text_keeps_timestamps_as_strings() -> None:
    text = "StartAt: W\nStates:\n  W:\n    Type: Wait\n    Timestamp: 2024-01-31T12:00:00Z\n    End: true\n"
    loaded = load_definition(text)
    assert loaded["States"]["W"]["Timestamp"] == "2024-01-31T12:00:00Z"


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_load_file_by_path_and_by_str(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"machine{suffix}"
    path.write_text(json.dumps(MINIMAL))  # JSON is valid YAML too
    assert load_definition(path) == MINIMAL
    assert load_definition(str(path)) == MINIMAL


def test_bad_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "StartAt": "A",\n  "States": {,}\n}')
    with pytest.raises(DefinitionParseError) as info:
        load_definition(path)
    message = str(info.value)
    assert str(path) in message and "line 3" in message and "column" in message


def test_bad_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("StartAt: A\nStates:\n  A: [unclosed\n")
    with pytest.raises(DefinitionParseError) as info:
        load_definition(path)
    assert str(path) in str(info.value) and "line" in str(info.value)


@pytest.mark.parametrize("text", ["[1, 2]", "42", "just words", "null"])
def test_top_level_must_be_an_object(text: str) -> None:
    with pytest.raises(DefinitionParseError, match="object"):
        load_definition(text)


def test_duplicate_json_key_is_a_parse_error() -> None:
    text = '{"StartAt": "A", "States": {"A": {"Type": "Succeed"},\n "A": {"Type": "Fail"}}}'
    with pytest.raises(DefinitionParseError, match='duplicate key "A".*line 2'):
        load_definition(text)


def test_duplicate_yaml_key_is_a_parse_error() -> None:
    with pytest.raises(DefinitionParseError, match="line 4.*duplicate key 'A'"):
        load_definition("StartAt: A\nStates:\n  A: {Type: Succeed}\n  A: {Type: Fail}\n")


def test_missing_file_named_like_a_definition_is_reported() -> None:
    with pytest.raises(DefinitionParseError, match="does not exist"):
        load_definition("no/such/machine.asl.json")


def test_nan_is_not_json() -> None:
    with pytest.raises(DefinitionParseError):
        load_definition('{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": NaN, "End": true}}}')
