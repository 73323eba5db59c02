"""Upstream's notification routing quirks (saturday-sf.md §1d a-c), designed out and pinned.

(a) A health-check failure under a shell run still sends the Preflight subject: no state but
    ``CheckShellRunNotify`` leads to either success notice.
(b) A health check's verdict is read before the success notification: its Task is synchronous
    and every path to a success notice runs it (or skips it at its own gate).
(c) A failure to send one health check never skips the next: a soft stage's Catch goes where its
    success goes.

Each invariant is checked on the committed definition and on a fresh composition, and shown to
fail on a definition with the quirk planted back in.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from alpha_engine.app import DEFINITION_FILE, SATURDAY_GRAPH
from alpha_engine.pipeline import ComposeOptions, compose_definition

SUCCESS_NOTICES = ("NotifyComplete", "NotifyShellRunComplete")
SYNCHRONOUS = ("arn:aws:states:::lambda:invoke", "arn:aws:states:::batch:submitJob.sync")


def successors(state: dict[str, Any]) -> set[str]:
    out = {state["Next"]} if "Next" in state else set()
    out |= {c["Next"] for c in state.get("Choices", [])} | {c["Next"] for c in state.get("Catch", [])}
    if "Default" in state:
        out.add(state["Default"])
    return out


def health_checks(states: dict[str, Any]) -> list[str]:
    return [name for name, state in states.items() if name.endswith("HealthCheck") and state["Type"] == "Task"]


def check_a(definition: dict[str, Any]) -> None:
    states = definition["States"]
    for notice in SUCCESS_NOTICES:
        before = {name for name, state in states.items() if notice in successors(state)}
        assert before == {"CheckShellRunNotify"}, f"{notice} is reached from {sorted(before)}"


def check_b(definition: dict[str, Any]) -> None:
    states = definition["States"]
    checks = health_checks(states)
    assert checks, "the definition has no health check"
    for check in checks:
        assert states[check]["Resource"] in SYNCHRONOUS, f"{check} does not wait for its verdict"
        # without the check, and with its own gate's skip choice not taken, no success notice is
        # reachable from the start
        gate = f"CheckSkip{check}"
        seen, todo = set(), [definition["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen or name == check:
                continue
            seen.add(name)
            todo.extend([states[name]["Default"]] if name == gate else successors(states[name]))
        reached = seen & set(SUCCESS_NOTICES)
        assert not reached, f"{sorted(reached)} reachable without running {check}"


def check_c(definition: dict[str, Any]) -> None:
    for name, state in definition["States"].items():
        soft = [c for c in state.get("Catch", []) if str(c.get("ResultPath", "")).endswith("_error")]
        for catch in soft:
            assert catch["Next"] == state["Next"], f"{name}: a failure goes to {catch['Next']}, success to {state['Next']}"


CHECKS = {"a": check_a, "b": check_b, "c": check_c}


@pytest.fixture(params=["committed", "composed"])
def definition(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "committed":
        return dict(json.loads(DEFINITION_FILE.read_text(encoding="utf-8")))
    return compose_definition(SATURDAY_GRAPH, ComposeOptions())


@pytest.mark.parametrize("quirk", sorted(CHECKS))
def test_the_quirk_is_designed_out(definition: dict[str, Any], quirk: str) -> None:
    CHECKS[quirk](definition)


def _catch_to_notify_complete(d: dict[str, Any]) -> None:  # upstream's (a): Catch straight to NotifyComplete
    check = health_checks(d["States"])[0]
    d["States"][check]["Catch"][0]["Next"] = "NotifyComplete"


def _success_before_the_check(d: dict[str, Any]) -> None:  # upstream's (b): the flow moves on before the verdict
    check = health_checks(d["States"])[0]
    d["States"][f"CheckSkip{check}"]["Default"] = d["States"][check]["Next"]


def _asynchronous_check(d: dict[str, Any]) -> None:  # (b) again: a fire-and-forget start
    check = health_checks(d["States"])[0]
    d["States"][check]["Resource"] = "arn:aws:states:::batch:submitJob"


def _failure_skips_the_next(d: dict[str, Any]) -> None:  # upstream's (c): a failure jumps past the next check
    check = health_checks(d["States"])[0]
    d["States"][check]["Catch"][0]["Next"] = "CheckShellRunNotify"
    d["States"][check]["Next"] = "WeeklySubstrateHealthCheck"


PLANTED: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("a", _catch_to_notify_complete), ("b", _success_before_the_check), ("b", _asynchronous_check),
    ("c", _failure_skips_the_next),
]


@pytest.mark.parametrize(("quirk", "plant"), PLANTED, ids=[p.__name__ for _, p in PLANTED])
def test_each_check_fails_on_the_planted_quirk(quirk: str, plant: Callable[[dict[str, Any]], None]) -> None:
    flawed = copy.deepcopy(compose_definition(SATURDAY_GRAPH, ComposeOptions()))
    plant(flawed)
    with pytest.raises(AssertionError):
        CHECKS[quirk](flawed)
