"""Replays every pure-ASL execution recorded against real AWS and compares the outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alpha_engine.sfn.testing import run_conformance_case

CASES_FILE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "aws" / "cases.jsonl"


def load_cases() -> list[dict]:
    if not CASES_FILE.exists():
        return []
    return [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]


KNOWN = {k: v for k, v in json.loads((Path(__file__).parent / "conformance_known_failures.json").read_text()).items()
         if not k.startswith("_")}
CASES = [c for c in load_cases() if c["pure_asl"]]


def _short(case_id: str) -> str:
    return case_id.split("stepfunctions/v2/", 1)[-1]


@pytest.mark.skipif(not CASES_FILE.exists(), reason=f"conformance corpus not found at {CASES_FILE}")
@pytest.mark.parametrize("case", CASES, ids=[_short(c["id"]) for c in CASES])
def test_recorded_aws_execution(case: dict) -> None:
    outcome = run_conformance_case(case)
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    key = _short(case["id"])
    if key in KNOWN:
        assert not outcome.passed, f"{key} now passes: remove it from conformance_known_failures.json"
        return
    assert outcome.passed, "\n".join(outcome.problems)
