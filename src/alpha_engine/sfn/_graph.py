"""Render a state machine as a Mermaid flowchart or a Graphviz DOT graph.

States become nodes shaped by type; ``Next``/``Default``/choice-rule edges are solid, ``Catch``
edges dashed and labelled with the error names; Parallel branches and Map processors are
nested subgraphs (clusters in DOT). ``outcomes`` (state name -> ``SUCCEEDED``, ``FAILED``,
``CAUGHT``, ``RUNNING`` or ``NOT_RUN``) colours the nodes, e.g. from an execution's history.

Node ids are generated (``n0``, ``n1``... in definition order), never derived from state names,
so any name (spaces, quotes, unicode, ``-->``) renders; the name is kept as the label. The same
definition always renders to the same text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._vocabulary import COMPARISON_KINDS, COMPARISON_RELATIONS, TERMINAL_STATE_TYPES, TYPE_TESTS, is_jsonata

__all__ = ["OUTCOMES", "render_graph", "state_outcomes"]

# outcome -> (fill, stroke, text colour)
OUTCOMES: Mapping[str, tuple[str, str, str]] = {
    "SUCCEEDED": ("#c8e6c9", "#2e7d32", "#1b5e20"),
    "FAILED": ("#ffcdd2", "#c62828", "#b71c1c"),
    "CAUGHT": ("#ffe0b2", "#ef6c00", "#e65100"),
    "RUNNING": ("#bbdefb", "#1565c0", "#0d47a1"),
    "NOT_RUN": ("#eeeeee", "#9e9e9e", "#757575"),
}

_LABEL_LIMIT = 40

# Mermaid node shape delimiters by state type.
_MERMAID_SHAPES: Mapping[str, tuple[str, str]] = {
    "Task": ("[", "]"),
    "Pass": ("(", ")"),
    "Choice": ("{", "}"),
    "Wait": ("{{", "}}"),
    "Succeed": ("([", "])"),
    "Fail": ("[[", "]]"),
    "Parallel": ("[/", "\\]"),
    "Map": ("[\\", "/]"),
}
_DOT_SHAPES: Mapping[str, str] = {
    "Task": 'shape=box, style="filled"',
    "Pass": 'shape=box, style="rounded,filled"',
    "Choice": 'shape=diamond, style="filled"',
    "Wait": 'shape=hexagon, style="filled"',
    "Succeed": 'shape=oval, peripheries=2, style="filled"',
    "Fail": 'shape=octagon, style="filled"',
    "Parallel": 'shape=trapezium, style="filled"',
    "Map": 'shape=invtrapezium, style="filled"',
}
_DEFAULT_FILL = "#ffffff"

# How a Choice rule reads in a label: relation -> symbol, type test -> the word after "is".
_COMPARISONS = dict(zip(COMPARISON_RELATIONS, ("==", "<", ">", "<=", ">="), strict=True))
_TESTS = {test: test[2:].lower() for test in TYPE_TESTS}


@dataclass(frozen=True, slots=True)
class _Node:
    id: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class _Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass(slots=True)
class _Cluster:
    id: str
    label: str
    nodes: list[_Node] = field(default_factory=list)
    clusters: list[_Cluster] = field(default_factory=list)


@dataclass(slots=True)
class _Graph:
    root: _Cluster
    edges: list[_Edge] = field(default_factory=list)
    nodes: list[_Node] = field(default_factory=list)
    start: str | None = None
    ends: list[str] = field(default_factory=list)


def render_graph(
    definition: Mapping[str, Any],
    fmt: Literal["mermaid", "dot"],
    outcomes: Mapping[str, str] | None = None,
) -> str:
    """The definition as Mermaid (``flowchart TD``) or DOT (``digraph``) text."""
    if fmt not in ("mermaid", "dot"):
        raise ValueError(f"render_graph: unknown format {fmt!r}; expected 'mermaid' or 'dot'")
    outcomes = dict(outcomes or {})
    for name, outcome in outcomes.items():
        if outcome not in OUTCOMES:
            raise ValueError(
                f"render_graph: outcome {outcome!r} for state {name!r} is not one of {', '.join(OUTCOMES)}"
            )
    graph = _build(definition)
    return _mermaid(graph, outcomes) if fmt == "mermaid" else _dot(graph, outcomes)


# --- model ----------------------------------------------------------------------------------


class _Builder:
    def __init__(self) -> None:
        self.counter = 0
        self.graph = _Graph(root=_Cluster("root", ""))

    def new_id(self, prefix: str = "n") -> str:
        ident = f"{prefix}{self.counter}"
        self.counter += 1
        return ident

    def add_machine(self, machine: Any, cluster: _Cluster) -> str | None:
        """Add a (sub-)machine's states into ``cluster``; return the node id of its StartAt."""
        states = machine.get("States") if isinstance(machine, Mapping) else None
        if not isinstance(states, Mapping):
            return None
        ids: dict[str, str] = {}
        for name in states:
            ids[str(name)] = self.new_id()
        for name, state in states.items():
            state = state if isinstance(state, Mapping) else {}
            node = _Node(ids[str(name)], str(name), str(state.get("Type", "?")))
            cluster.nodes.append(node)
            self.graph.nodes.append(node)
            self.add_state_edges(node, state, ids)
            if node.type in ("Parallel", "Map"):
                self.add_children(node, state, cluster)
        start = machine.get("StartAt")
        return ids.get(start) if isinstance(start, str) else None

    def add_state_edges(self, node: _Node, state: Mapping[str, Any], ids: Mapping[str, str]) -> None:
        def link(target: Any, label: str = "", dashed: bool = False) -> None:
            if isinstance(target, str) and target in ids:
                self.graph.edges.append(_Edge(node.id, ids[target], label, dashed))

        if node.type == "Choice":
            choices = state.get("Choices")
            for rule in choices if isinstance(choices, list) else []:
                if isinstance(rule, Mapping):
                    link(rule.get("Next"), _shorten(_describe_rule(rule)))
            link(state.get("Default"), "Default")
        else:
            link(state.get("Next"))
        catchers = state.get("Catch")
        for catcher in catchers if isinstance(catchers, list) else []:
            if isinstance(catcher, Mapping):
                errors = catcher.get("ErrorEquals")
                names = ", ".join(str(e) for e in errors) if isinstance(errors, list) else ""
                link(catcher.get("Next"), _shorten(names), dashed=True)
        if state.get("End") is True or node.type in TERMINAL_STATE_TYPES:
            self.graph.ends.append(node.id)

    def add_children(self, node: _Node, state: Mapping[str, Any], parent: _Cluster) -> None:
        if node.type == "Parallel":
            branches = state.get("Branches")
            machines = list(branches) if isinstance(branches, list) else []
            labels = [f"{node.name}: branch {i + 1}" for i in range(len(machines))]
        else:
            processor = state.get("ItemProcessor", state.get("Iterator"))
            machines = [processor] if processor is not None else []
            labels = [f"{node.name}: each item"]
        for machine, label in zip(machines, labels, strict=False):
            cluster = _Cluster(self.new_id("c"), label)
            parent.clusters.append(cluster)
            start = self.add_machine(machine, cluster)
            if start is not None:
                self.graph.edges.append(_Edge(node.id, start, "", dashed=False))


def _build(definition: Mapping[str, Any]) -> _Graph:
    builder = _Builder()
    # Only the top-level machine's End states lead to the overall end marker.
    start = builder.add_machine(definition, builder.graph.root)
    top_ids = {n.id for n in builder.graph.root.nodes}
    builder.graph.ends = [e for e in builder.graph.ends if e in top_ids]
    builder.graph.start = start
    return builder.graph


def _describe_rule(rule: Mapping[str, Any]) -> str:
    if "Condition" in rule:
        condition = str(rule["Condition"]).strip()
        if is_jsonata(condition):
            condition = condition[2:-2].strip()
        return condition
    for combinator in ("And", "Or"):
        if isinstance(rule.get(combinator), list):
            parts = [_describe_rule(r) for r in rule[combinator] if isinstance(r, Mapping)]
            return f" {combinator.lower()} ".join(parts)
    if isinstance(rule.get("Not"), Mapping):
        return f"not ({_describe_rule(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in _TESTS:
            return f"{variable} {'is' if value is True else 'is not'} {_TESTS[key]}"
        if key in ("StringMatches",):
            return f"{variable} matches {_literal(value)}"
        for prefix in (*COMPARISON_KINDS, "Boolean"):
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                path = rest.endswith("Path")
                op = _COMPARISONS.get(rest[:-4] if path else rest)
                if op is not None:
                    return f"{variable} {op} {value if path else _literal(value)}"
    return variable


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LABEL_LIMIT else text[: _LABEL_LIMIT - 1] + "…"


# --- Mermaid --------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    """Text for a quoted Mermaid label: entity codes for the characters Mermaid would parse."""
    out = []
    for char in " ".join(text.split()):
        if char == "#":
            out.append("#35;")
        elif char == '"':
            out.append("#quot;")
        elif char == "<":
            out.append("#lt;")
        elif char == ">":
            out.append("#gt;")
        elif char == "`":
            out.append("#96;")
        else:
            out.append(char)
    return "".join(out)


def _mermaid(graph: _Graph, outcomes: Mapping[str, str]) -> str:
    lines = ["flowchart TD"]
    lines.append('    start_(("start"))')
    lines.append('    end_(("end"))')

    def emit_cluster(cluster: _Cluster, indent: str) -> None:
        for node in cluster.nodes:
            opening, closing = _MERMAID_SHAPES.get(node.type, ("[", "]"))
            lines.append(f'{indent}{node.id}{opening}"{_mermaid_text(node.name)}"{closing}')
        for child in cluster.clusters:
            lines.append(f'{indent}subgraph {child.id}["{_mermaid_text(child.label)}"]')
            lines.append(f"{indent}    direction TB")
            emit_cluster(child, indent + "    ")
            lines.append(f"{indent}end")

    emit_cluster(graph.root, "    ")
    if graph.start is not None:
        lines.append(f"    start_ --> {graph.start}")
    for edge in graph.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    for node_id in graph.ends:
        lines.append(f"    {node_id} --> end_")
    used = sorted({outcomes[n.name] for n in graph.nodes if n.name in outcomes})
    for outcome in used:
        fill, stroke, color = OUTCOMES[outcome]
        lines.append(f"    classDef {outcome.lower()} fill:{fill},stroke:{stroke},color:{color}")
    for outcome in used:
        members = [n.id for n in graph.nodes if outcomes.get(n.name) == outcome]
        lines.append(f"    class {','.join(members)} {outcome.lower()}")
    return "\n".join(lines) + "\n"


# --- DOT ------------------------------------------------------------------------------------


def _dot_text(text: str) -> str:
    """A double-quoted DOT string on one physical line: backslashes and quotes escaped,
    newlines as ``\\n``, other control and line-separator characters as spaces."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F or char in "\u2028\u2029":
            out.append(" ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _dot(graph: _Graph, outcomes: Mapping[str, str]) -> str:
    lines = [
        "digraph StateMachine {",
        "    rankdir=TB;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=9];',
        '    start_ [label="start", shape=circle, width=0.3, style=filled, fillcolor="#000000", fontcolor="#ffffff"];',
        '    end_ [label="end", shape=doublecircle, width=0.3, style=filled, fillcolor="#000000", fontcolor="#ffffff"];',
    ]

    def emit_cluster(cluster: _Cluster, indent: str) -> None:
        for node in cluster.nodes:
            shape = _DOT_SHAPES.get(node.type, 'shape=box, style="filled"')
            outcome = outcomes.get(node.name)
            if outcome is None:
                colours = f'fillcolor="{_DEFAULT_FILL}"'
            else:
                fill, stroke, color = OUTCOMES[outcome]
                colours = f'fillcolor="{fill}", color="{stroke}", fontcolor="{color}"'
            lines.append(f"{indent}{node.id} [label={_dot_text(node.name)}, {shape}, {colours}];")
        for child in cluster.clusters:
            lines.append(f"{indent}subgraph cluster_{child.id} {{")
            lines.append(f"{indent}    label={_dot_text(child.label)};")
            lines.append(f'{indent}    style="rounded,dashed";')
            emit_cluster(child, indent + "    ")
            lines.append(f"{indent}}}")

    emit_cluster(graph.root, "    ")
    if graph.start is not None:
        lines.append(f"    start_ -> {graph.start};")
    for edge in graph.edges:
        attrs = []
        if edge.label:
            attrs.append(f"label={_dot_text(edge.label)}")
        if edge.dashed:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {edge.source} -> {edge.target}{suffix};")
    for node_id in graph.ends:
        lines.append(f"    {node_id} -> end_;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def state_outcomes(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """State name -> SUCCEEDED / FAILED / CAUGHT / RUNNING from an execution history (the
    ``outcomes`` that :func:`render_graph` colours states by)."""
    outcomes: dict[str, str] = {}
    failed_in: str | None = None
    last_entered: str | None = None
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            last_entered = event["stateEnteredEventDetails"]["name"]
            outcomes[last_entered] = "RUNNING"
            failed_in = None
        elif kind in ("TaskFailed", "TaskTimedOut", "ParallelStateFailed", "MapStateFailed"):
            failed_in = last_entered
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            outcomes[name] = "CAUGHT" if failed_in == name else "SUCCEEDED"
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            for state, status in outcomes.items():
                if status == "RUNNING":
                    outcomes[state] = "FAILED"
    return outcomes
