"""Specification of the Mermaid / DOT renderer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_engine.sfn._graph import OUTCOMES, render_graph

LAMBDA = "arn:aws:states:::lambda:invoke"

PIPELINE: dict[str, Any] = {
    "StartAt": "Fetch prices",
    "States": {
        "Fetch prices": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Catch": [{"ErrorEquals": ["States.Timeout", "States.TaskFailed"], "Next": "Alert"}],
            "Next": "Enough data?",
        },
        "Enough data?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.rows", "NumericGreaterThanEquals": 100, "Next": "Train"},
                {"Not": {"Variable": "$.stale", "BooleanEquals": True}, "Next": "Wait a day"},
            ],
            "Default": "Alert",
        },
        "Wait a day": {"Type": "Wait", "Seconds": 86400, "Next": "Fetch prices"},
        "Train": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Fit", "States": {"Fit": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Per ticker",
                    "States": {
                        "Per ticker": {
                            "Type": "Map",
                            "ItemProcessor": {
                                "StartAt": "Score",
                                "States": {"Score": {"Type": "Pass", "End": True}},
                            },
                            "End": True,
                        }
                    },
                },
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
        "Alert": {"Type": "Fail", "Error": "NoData"},
    },
}

ALL_NAMES = [
    "Fetch prices",
    "Enough data?",
    "Wait a day",
    "Train",
    "Done",
    "Alert",
    "Fit",
    "Per ticker",
    "Score",
]


def mermaid_node_ids(text: str) -> dict[str, str]:
    """label -> node id, from node declaration lines."""
    found = {}
    for line in text.splitlines():
        m = re.match(r'^\s+(n\d+)[\[\(\{/\\]+"([^"]*)"', line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def dot_node_ids(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        m = re.match(r'^\s+(n\d+) \[label="((?:[^"\\]|\\.)*)"', line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


# --- Mermaid --------------------------------------------------------------------------------


def test_mermaid_has_a_node_per_state_with_its_name_as_label() -> None:
    text = render_graph(PIPELINE, "mermaid")
    assert text.startswith("flowchart TD\n")
    assert sorted(mermaid_node_ids(text)) == sorted(ALL_NAMES)


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("Fetch prices", '["Fetch prices"]'),
        ("Enough data?", '{"Enough data?"}'),
        ("Wait a day", '{{"Wait a day"}}'),
        ("Done", '(["Done"])'),
        ("Alert", '[["Alert"]]'),
        ("Fit", '("Fit")'),
    ],
)
def test_mermaid_shape_follows_state_type(name: str, shape: str) -> None:
    assert shape in render_graph(PIPELINE, "mermaid")


def test_mermaid_choice_edges_carry_short_conditions_and_default() -> None:
    text = render_graph(PIPELINE, "mermaid")
    ids = mermaid_node_ids(text)
    assert f'{ids["Enough data?"]} -->|"$.rows #gt;= 100"| {ids["Train"]}' in text
    assert f'{ids["Enough data?"]} -->|"not ($.stale == true)"| {ids["Wait a day"]}' in text
    assert f'{ids["Enough data?"]} -->|"Default"| {ids["Alert"]}' in text


def test_mermaid_catch_edges_are_dashed_and_name_the_errors() -> None:
    text = render_graph(PIPELINE, "mermaid")
    ids = mermaid_node_ids(text)
    assert f'{ids["Fetch prices"]} -.->|"States.Timeout, States.TaskFailed"| {ids["Alert"]}' in text


def test_mermaid_branches_and_processors_are_nested_subgraphs() -> None:
    text = render_graph(PIPELINE, "mermaid")
    lines = text.splitlines()
    opened = [i for i, line in enumerate(lines) if line.strip().startswith("subgraph ")]
    closed = [i for i, line in enumerate(lines) if line.strip() == "end"]
    assert len(opened) == len(closed) == 3  # two Parallel branches + one Map processor
    score = next(i for i, line in enumerate(lines) if '"Score"' in line)
    per_ticker_sub = next(i for i, line in enumerate(lines) if "Per ticker: each item" in line)
    assert per_ticker_sub < score
    assert lines[score].startswith(" " * 12)  # nested two levels deep


def test_mermaid_start_and_end_markers() -> None:
    text = render_graph(PIPELINE, "mermaid")
    ids = mermaid_node_ids(text)
    assert f"start_ --> {ids['Fetch prices']}" in text
    assert f"{ids['Done']} --> end_" in text and f"{ids['Alert']} --> end_" in text
    assert f"{ids['Fit']} --> end_" not in text  # inner End states end their branch, not the machine


def test_mermaid_outcomes_become_class_definitions() -> None:
    text = render_graph(
        PIPELINE, "mermaid", {"Fetch prices": "SUCCEEDED", "Train": "FAILED", "Done": "NOT_RUN"}
    )
    ids = mermaid_node_ids(text)
    assert "classDef succeeded fill:#c8e6c9" in text
    assert f"class {ids['Fetch prices']} succeeded" in text
    assert f"class {ids['Train']} failed" in text
    assert f"class {ids['Done']} not_run" in text
    assert "classDef running" not in text  # only the outcomes in use


@pytest.mark.parametrize(
    "name",
    ['say "hi"', "a --> b", "naïve ✓ 名前", "x#y", "<b>bold</b>", "back`tick", "end", "subgraph", "a|b"],
)
def test_mermaid_escapes_awkward_names_and_keeps_them_readable(name: str) -> None:
    definition = {"StartAt": name, "States": {name: {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}
    text = render_graph(definition, "mermaid")
    declaration = next(line for line in text.splitlines() if line.strip().startswith("n0"))
    label = declaration.split('"')[1]
    decoded = (
        label.replace("#quot;", '"')
        .replace("#lt;", "<")
        .replace("#gt;", ">")
        .replace("#96;", "`")
        .replace("#35;", "#")
    )
    assert decoded == name
    assert declaration.count('"') == 2  # no raw quote inside the label
    assert re.fullmatch(r"\s+n0\(\"[^\"<>`]*\"\)", declaration)


# --- DOT ------------------------------------------------------------------------------------


def test_dot_has_a_node_per_state_and_balanced_clusters() -> None:
    text = render_graph(PIPELINE, "dot")
    assert text.startswith("digraph StateMachine {\n") and text.rstrip().endswith("}")
    assert sorted(dot_node_ids(text)) == sorted(ALL_NAMES)
    assert text.count("{") == text.count("}")
    assert text.count("subgraph cluster_") == 3


def test_dot_catch_edges_are_dashed_with_error_label() -> None:
    text = render_graph(PIPELINE, "dot")
    ids = dot_node_ids(text)
    assert (
        f'{ids["Fetch prices"]} -> {ids["Alert"]} [label="States.Timeout, States.TaskFailed", style=dashed];'
        in text
    )


def test_dot_outcomes_set_fillcolor() -> None:
    text = render_graph(PIPELINE, "dot", {"Alert": "FAILED", "Fetch prices": "CAUGHT"})
    alert = next(line for line in text.splitlines() if 'label="Alert"' in line)
    fetch = next(line for line in text.splitlines() if 'label="Fetch prices"' in line)
    assert 'fillcolor="#ffcdd2"' in alert
    assert f'fillcolor="{OUTCOMES["CAUGHT"][0]}"' in fetch


def test_dot_escapes_quotes_and_backslashes() -> None:
    name = 'a "quoted" \\ name'
    definition = {"StartAt": name, "States": {name: {"Type": "Succeed"}}}
    text = render_graph(definition, "dot")
    assert 'label="a \\"quoted\\" \\\\ name"' in text
    assert list(dot_node_ids(text)) == ['a \\"quoted\\" \\\\ name']


# --- both -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_rendering_is_deterministic(fmt: Any) -> None:
    outcomes = {"Train": "RUNNING", "Fit": "SUCCEEDED", "Score": "RUNNING"}
    assert render_graph(PIPELINE, fmt, outcomes) == render_graph(
        PIPELINE, fmt, dict(reversed(outcomes.items()))
    )


def test_unknown_outcome_is_rejected() -> None:
    with pytest.raises(ValueError, match="DONE"):
        render_graph(PIPELINE, "mermaid", {"Train": "DONE"})


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="svg"):
        render_graph(PIPELINE, "svg")  # type: ignore[arg-type]


def test_jsonata_condition_label_drops_the_braces() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "D"}],
                "Default": "D",
            },
            "D": {"Type": "Succeed"},
        },
    }
    assert 'label="$states.input.n > 1"' in render_graph(definition, "dot")


def test_long_conditions_are_shortened() -> None:
    rule = {"Variable": "$.a_really_long_field_name.with.many.parts", "StringEquals": "x" * 50, "Next": "D"}
    definition = {
        "StartAt": "C",
        "States": {"C": {"Type": "Choice", "Choices": [rule], "Default": "D"}, "D": {"Type": "Succeed"}},
    }
    label = re.search(r'label="([^"]*…)"', render_graph(definition, "dot"))
    assert label is not None and len(label.group(1)) == 40


names = st.text(min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=6, unique=True))
def test_any_state_names_render_one_declaration_each(state_names: list[str]) -> None:
    states: dict[str, Any] = {
        n: {"Type": "Pass", "Next": m} for n, m in zip(state_names, state_names[1:], strict=False)
    }
    states[state_names[-1]] = {"Type": "Succeed"}
    definition = {"StartAt": state_names[0], "States": states}
    mermaid = render_graph(definition, "mermaid")
    dot = render_graph(definition, "dot")
    # Count declarations, not labels: distinct names may share a label once whitespace is folded.
    assert len(re.findall(r'^\s+n\d+[\[({]+"', mermaid, re.MULTILINE)) == len(state_names)
    assert len(re.findall(r"^\s+n\d+ \[label=", dot, re.MULTILINE)) == len(state_names)
    for line in mermaid.splitlines()[1:]:
        assert line.count('"') % 2 == 0


def test_malformed_definition_renders_what_it_can() -> None:
    definition = {"StartAt": "A", "States": {"A": "not a state", "B": {"Type": "Pass", "Next": "missing"}}}
    text = render_graph(definition, "mermaid")
    assert sorted(mermaid_node_ids(text)) == ["A", "B"]
