"""Replays every pure-ASL execution recorded against real AWS and compares the outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn.testing import run_conformance_case

KNOWN = {k: v for k, v in json.loads((Path(__file__).parent / "conformance_known_failures.json").read_text()).items()
         if not k.startswith("_")}


def _short(case_id: str) -> str:
    return case_id.split("stepfunctions/v2/", 1)[-1]


@pytest.mark.aws_cases(lambda case: case["pure_asl"])
def test_recorded_aws_execution(aws_case: dict[str, Any]) -> None:
    outcome = run_conformance_case(aws_case)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    key = _short(aws_case["id"])
    if key in KNOWN:
        assert not outcome.passed, f"{key} now passes: remove it from conformance_known_failures.json"
        return
    assert outcome.passed, "\n".join(outcome.problems)


def test_every_known_failure_names_a_recorded_case(aws_cases: list[dict[str, Any]]) -> None:
    recorded = {_short(case["id"]) for case in aws_cases}
    assert set(KNOWN) <= recorded
