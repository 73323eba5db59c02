"""Public test helpers: a time-skipping environment, the AWS conformance runner and the
nondeterminism source scan.

``SfnTestEnvironment`` runs definitions on an in-memory (or SQLite) store with a
:class:`FakeClock`, so Waits and retry backoff take no real time.

``scan_for_nondeterminism`` / ``check_determinism`` find code that reads the wall clock or a
random source directly (see :mod:`alpha_engine.sfn._nondeterminism`); the sfn test suite runs
them over ``src/alpha_engine/sfn``, and other packages can run them over their own code.

``run_conformance_case`` replays one execution recorded against real AWS (the
``tests/sfn/data/aws/cases.jsonl`` format, see the README there) and says whether this runtime agrees.
Recorded values were masked by the recorder (``<ArnPart_0idx>``, ``<uuid:1>``,
``<json-input:1>``...): a masked string in the expectation matches any text in its place.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._clock import FakeClock, IdSource
from ._errors import SfnError
from ._lifecycle import Engine
from ._nondeterminism import NondeterminismFinding, check_determinism, scan_for_nondeterminism
from ._run import ExecutionResult, TaskInvoker
from ._store import ExecutionStore, MemoryStore
from ._vocabulary import TIMESTAMP_RE

__all__ = [
    "CaseOutcome",
    "NondeterminismFinding",
    "SfnTestEnvironment",
    "check_determinism",
    "run_conformance_case",
    "scan_for_nondeterminism",
]


class SfnTestEnvironment:
    """An engine on virtual time. ``advance()``/``now()`` move and read the fake clock."""

    def __init__(self, *, store: ExecutionStore | None = None, start: datetime | None = None,
                 auto_advance: bool = True, seed: int = 0,
                 task_invoker: TaskInvoker | None = None) -> None:
        """``task_invoker`` runs Task resources: a plain function or a coroutine function."""
        self.clock = FakeClock(start, auto_advance=auto_advance)
        self.engine = Engine(store=store or MemoryStore(), clock=self.clock, ids=IdSource(seed),
                             task_invoker=task_invoker)

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def run(self, definition: Mapping[str, Any] | str, input_value: Any = None, **kwargs: Any) -> ExecutionResult:
        return asyncio.run(self.engine.start(definition, input_value, **kwargs))

    def history(self, arn: str) -> list[dict[str, Any]]:
        return self.engine.store.events(arn)


@dataclass
class CaseOutcome:
    """Whether a recorded case matched, and if not, what differed."""

    case_id: str
    group: str
    query_language: str
    passed: bool
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None


_PLACEHOLDER = re.compile(r"<[^<>]+>")
_CAUSE_INPUT = re.compile(r"(in the input ')(.*)(')$", re.S)


def _pattern(expected: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(expected)
    return re.compile(".*".join(re.escape(p) for p in parts), re.S)


# Whole values the recorder replaced by a fixed word (timestamps, random numbers, uuids, role ARN).
_MASK_WORDS = {
    "start-time": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"),
    "entered-time": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"),
    "date": TIMESTAMP_RE,
    "RandomNumberGenerated": re.compile(r"-?\d+(\.\d+)?"),
    "generated-uuid": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "snf_role_arn": re.compile(r"arn:aws:iam::\d{12}:role/.+"),
}


def _matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and expected in _MASK_WORDS:
        return _MASK_WORDS[expected].fullmatch(str(actual)) is not None
    if isinstance(expected, str):
        if isinstance(actual, (dict, list)) and expected.startswith(("{", "[")):
            return False
        if not isinstance(actual, str):
            return False
        if "<" in expected:
            return _pattern(expected).fullmatch(actual) is not None
        return expected == actual
    if isinstance(expected, dict):
        if isinstance(actual, str) and actual.startswith("{"):
            try:
                actual = json.loads(actual)
            except ValueError:
                return False
        if not isinstance(actual, dict) or set(expected) != set(actual):
            return False
        return all(_matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(expected) == len(actual)
                and all(_matches(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return expected == actual
    return bool(expected == actual)


def run_conformance_case(case: Mapping[str, Any], *, compare_events: bool = True,
                         task_invoker: TaskInvoker | None = None) -> CaseOutcome:
    """Run one recorded case and compare status, output, error, cause and event types."""
    outcome = CaseOutcome(case["id"], case["group"], case["query_language"], passed=False)
    if case.get("input_normalized") and case.get("pure_asl"):
        outcome.skipped = "input was masked by the recorder (a timestamp computed at recording time)"
        return outcome
    env = SfnTestEnvironment(task_invoker=task_invoker)
    expected = case["expected"]
    try:
        result = env.run(case["definition"], case["input"])
    except SfnError as exc:
        outcome.problems.append(f"engine refused the definition: {exc}")
        return outcome
    if result.status != expected["status"]:
        outcome.problems.append(f"status {result.status} != {expected['status']} ({result.error}: {result.cause})")
    if expected["status"] == "SUCCEEDED" and result.status == "SUCCEEDED":
        if not _matches(expected["output"], result.output):
            outcome.problems.append(
                f"output {json.dumps(result.output)[:300]} != {json.dumps(expected['output'])[:300]}"
            )
    elif expected["status"] == "FAILED":
        if expected["error"] != result.error and not _matches(expected["error"], result.error):
            outcome.problems.append(f"error {result.error!r} != {expected['error']!r}")
        exp_cause = expected["cause"]
        act_cause: Any = result.cause
        if isinstance(exp_cause, str) and isinstance(act_cause, str):
            act_cause = _CAUSE_INPUT.sub(r"\1<json-input:1>\3", act_cause) if "<json-input" in exp_cause \
                else act_cause
        if not (exp_cause == act_cause or _matches(exp_cause, act_cause)):
            outcome.problems.append(f"cause {str(result.cause)[:300]!r} != {str(exp_cause)[:300]!r}")
    if compare_events and expected.get("events") is not None:
        want = [e["type"] for e in expected["events"]]
        got = [e["type"] for e in env.history(result.arn)]
        if case.get("events_parallel_normalized"):
            want, got = sorted(want), sorted(got)
        if want != got:
            outcome.problems.append(f"events {got} != {want}")
    outcome.passed = not outcome.problems
    return outcome
