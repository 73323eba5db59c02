"""Shared fixtures for the Step Functions runtime tests, and the one place that knows where the
bundled conformance data lives (``tests/sfn/data``, see its README for provenance).

Recorded AWS executions reach tests in two ways:

- the session fixtures ``aws_cases`` (every case) and ``validator_cases`` (every validator case);
- parametrization: a test that takes an ``aws_case`` argument and is marked
  ``@pytest.mark.aws_cases(select, ids=...)`` runs once per case ``select(case)`` accepts; a test
  that takes ``validator_case`` runs once per validator case.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn._clock import FakeClock, IdSource
from alpha_engine.sfn._sources import EvaluationSources, use_sources

DATA_DIR = Path(__file__).resolve().parent / "data"
_AWS_CASES_FILE = DATA_DIR / "aws" / "cases.jsonl"
_VALIDATOR_CASES_DIR = DATA_DIR / "validator_cases"


@functools.cache
def _load_aws_cases() -> tuple[dict[str, Any], ...]:
    lines = _AWS_CASES_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@functools.cache
def _load_validator_cases() -> tuple[dict[str, Any], ...]:
    paths = sorted(_VALIDATOR_CASES_DIR.glob("*.json"))
    return tuple(json.loads(path.read_text(encoding="utf-8")) for path in paths)


def _short_id(case: dict[str, Any]) -> str:
    return str(case["id"]).split("stepfunctions/v2/", 1)[-1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "aws_cases(select, ids=None): run the test once per recorded AWS case that select(case) accepts",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "aws_case" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("aws_cases")
        if marker is None:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: an aws_case test needs @pytest.mark.aws_cases")
        select: Callable[[dict[str, Any]], bool] = marker.args[0] if marker.args else marker.kwargs["select"]
        ids: Callable[[dict[str, Any]], str] = marker.kwargs.get("ids", _short_id)
        cases = [case for case in _load_aws_cases() if select(case)]
        assert cases, f"{metafunc.definition.nodeid}: the selection matched no recorded case"
        metafunc.parametrize("aws_case", cases, ids=[ids(case) for case in cases])
    if "validator_case" in metafunc.fixturenames:
        cases = list(_load_validator_cases())
        metafunc.parametrize("validator_case", cases, ids=[str(case["name"]) for case in cases])


@pytest.fixture(scope="session")
def aws_cases() -> list[dict[str, Any]]:
    """Every recorded AWS execution (847), in file order."""
    return list(_load_aws_cases())


@pytest.fixture(scope="session")
def validator_cases() -> list[dict[str, Any]]:
    """Every validator case (36): ``{"name", "expected_valid", "definition"}``."""
    return list(_load_validator_cases())


@pytest.fixture
def sources() -> Iterator[EvaluationSources]:
    """Evaluate expressions as inside an execution: a fake clock and an id source seeded with 0."""
    with use_sources(FakeClock(), IdSource(0)) as current:
        yield current


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "executions.sqlite3"
