"""Step Functions Local's ``MockConfigFile`` format, as a :class:`Binding`.

::

    {"StateMachines": {SM: {"TestCases": {TC: {StateName: MockedResponseName}}}},
     "MockedResponses": {Name: {"0": {"Return": ...}, "1-2": {"Throw": {"Error": .., "Cause": ..}}}}}

``MockConfig.binding(SM, TC)`` matches every resource but answers only for the states the test
case lists: the n-th call (0-based) of a state gets the entry whose key is ``n`` or a range
``a-b`` holding ``n``. ``Throw`` raises ``StatesError(Error, Cause)`` as the task's error. A
state not in the test case, or a call past the last entry, is a :class:`BindingError`. Put the
binding first in the registry (``default_registry(ctx, extra=[binding])``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import BindingError, StatesError
from ._base import BindingContext, TaskRequest

__all__ = ["MockConfig", "MockConfigBinding", "MockedResponse", "load_mock_config", "parse_mock_config"]


@dataclass(frozen=True, slots=True)
class MockedResponse:
    """One entry: calls ``first..last`` (inclusive) return ``value`` or throw ``error``/``cause``."""

    first: int
    last: int
    returns: bool
    value: Any = None
    error: str = ""
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class MockConfig:
    """A validated mock configuration; ``source`` names the file in error messages."""

    test_cases: Mapping[str, Mapping[str, Mapping[str, str]]]  # SM -> TC -> state -> response name
    responses: Mapping[str, tuple[MockedResponse, ...]]  # response name -> entries by ``first``
    source: str = "<mock config>"

    def binding(self, state_machine: str, test_case: str) -> MockConfigBinding:
        """The binding for one execution of ``state_machine`` under ``test_case``."""
        cases = self.test_cases.get(state_machine)
        if cases is None:
            raise BindingError(f"{self.source}: no state machine {state_machine!r} in StateMachines")
        states = cases.get(test_case)
        if states is None:
            raise BindingError(
                f"{self.source}: no test case {test_case!r} in StateMachines/{state_machine}/TestCases"
            )
        where = f"{self.source} StateMachines/{state_machine}/TestCases/{test_case}"
        return MockConfigBinding({s: (r, self.responses[r]) for s, r in states.items()}, where)


class MockConfigBinding:
    """Answers Task states from one test case; counts calls per state (see module docstring)."""

    def __init__(self, states: Mapping[str, tuple[str, tuple[MockedResponse, ...]]], where: str) -> None:
        self.states = dict(states)
        self.where = where
        self.calls: dict[str, int] = {}

    def matches(self, resource: str) -> bool:
        return True

    async def invoke(self, request: TaskRequest, ctx: BindingContext) -> Any:
        entry = self.states.get(request.state_name)
        if entry is None:
            raise BindingError(f"state {request.state_name!r} is not mocked in {self.where}")
        name, responses = entry
        n = self.calls.get(request.state_name, 0)
        self.calls[request.state_name] = n + 1
        for response in responses:
            if response.first <= n <= response.last:
                if response.returns:
                    return response.value
                raise StatesError(response.error, response.cause, in_state=False)
        raise BindingError(
            f"state {request.state_name!r} was called {n + 1} time(s) but MockedResponses/{name} "
            f"has no entry for call {n} ({self.where})"
        )


def load_mock_config(path: str | Path) -> MockConfig:
    """Read and validate a mock config file; ``BindingError`` lists every problem with its place."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BindingError(f"{path}: cannot read mock config: {exc}") from exc
    except ValueError as exc:
        raise BindingError(f"{path}: mock config is not JSON: {exc}") from exc
    return parse_mock_config(data, source=str(path))


def parse_mock_config(data: Any, source: str = "<mock config>") -> MockConfig:
    """Validate an already-parsed mock config (see :func:`load_mock_config`)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise BindingError(f"{source}: mock config must be a JSON object")
    for key in data:
        if key not in ("StateMachines", "MockedResponses"):
            problems.append(f"/{key}: unknown field (expected StateMachines, MockedResponses)")
    responses = _parse_responses(data.get("MockedResponses"), problems)
    test_cases = _parse_state_machines(data.get("StateMachines"), responses, problems)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise BindingError(f"{source}: invalid mock config ({len(problems)} problem(s)):\n{lines}")
    return MockConfig(test_cases, responses, source)


def _parse_responses(raw: Any, problems: list[str]) -> dict[str, tuple[MockedResponse, ...]]:
    if not isinstance(raw, dict):
        problems.append("/MockedResponses: required, must be an object")
        return {}
    out: dict[str, tuple[MockedResponse, ...]] = {}
    for name, entries in raw.items():
        where = f"/MockedResponses/{name}"
        if not isinstance(entries, dict) or not entries:
            problems.append(f"{where}: must be a non-empty object of invocation entries")
            continue
        parsed: list[MockedResponse] = []
        for key, entry in entries.items():
            response = _parse_entry(key, entry, f"{where}/{key}", problems)
            if response is not None:
                parsed.append(response)
        parsed.sort(key=lambda r: r.first)
        for before, after in zip(parsed, parsed[1:], strict=False):
            if after.first <= before.last:
                problems.append(
                    f"{where}: invocation ranges overlap ({before.first}-{before.last} and "
                    f"{after.first}-{after.last})"
                )
        out[name] = tuple(parsed)
    return out


def _parse_entry(key: str, entry: Any, where: str, problems: list[str]) -> MockedResponse | None:
    first_text, dash, last_text = key.partition("-")
    if not first_text.isdigit() or (dash and not last_text.isdigit()):
        problems.append(f"{where}: key must be an invocation index 'N' or range 'N-M'")
        return None
    first, last = int(first_text), int(last_text) if dash else int(first_text)
    if last < first:
        problems.append(f"{where}: range end {last} is before its start {first}")
        return None
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ("Return", "Throw"):
        problems.append(f"{where}: must hold exactly one of Return or Throw")
        return None
    if "Return" in entry:
        return MockedResponse(first, last, True, value=entry["Return"])
    throw = entry["Throw"]
    if not isinstance(throw, dict) or not isinstance(throw.get("Error"), str):
        problems.append(f"{where}/Throw: must be an object with a string Error (and a string Cause)")
        return None
    cause = throw.get("Cause")
    if cause is not None and not isinstance(cause, str):
        problems.append(f"{where}/Throw/Cause: must be a string")
        return None
    extra = set(throw) - {"Error", "Cause"}
    if extra:
        problems.append(f"{where}/Throw: unknown field(s) {sorted(extra)}")
    return MockedResponse(first, last, False, error=throw["Error"], cause=cause)


def _parse_state_machines(
    raw: Any, responses: Mapping[str, Any], problems: list[str]
) -> dict[str, dict[str, dict[str, str]]]:
    if not isinstance(raw, dict):
        problems.append("/StateMachines: required, must be an object")
        return {}
    out: dict[str, dict[str, dict[str, str]]] = {}
    for machine, body in raw.items():
        where = f"/StateMachines/{machine}"
        cases = body.get("TestCases") if isinstance(body, dict) else None
        if not isinstance(cases, dict):
            problems.append(f"{where}/TestCases: required, must be an object")
            continue
        out[machine] = {}
        for case, states in cases.items():
            case_where = f"{where}/TestCases/{case}"
            if not isinstance(states, dict):
                problems.append(f"{case_where}: must map state names to MockedResponses names")
                continue
            for state, response in states.items():
                if not isinstance(response, str):
                    problems.append(f"{case_where}/{state}: must be the name of a mocked response")
                elif response not in responses:
                    problems.append(
                        f"{case_where}/{state}: no mocked response {response!r} in MockedResponses"
                    )
            out[machine][case] = {s: r for s, r in states.items() if isinstance(r, str) and r in responses}
    return out
