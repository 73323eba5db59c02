from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
CASES_FILE = SHARED / "conformance" / "aws" / "cases.jsonl"
VALIDATOR_CASES = SHARED / "conformance" / "validator_cases"


def load_cases() -> list[dict[str, Any]]:
    if not CASES_FILE.exists():
        return []
    return [json.loads(line) for line in CASES_FILE.read_text().splitlines() if line.strip()]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "executions.sqlite3"
