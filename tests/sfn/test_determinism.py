"""Determinism: a seeded run on a fake clock repeats itself exactly, and the source scan that keeps
it so (``scan_for_nondeterminism``, run over sfn and stage code by tests/test_determinism_scan.py)
catches every kind of direct wall-clock or random call."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.sfn import FakeClock, NondeterminismError
from alpha_engine.sfn.testing import (
    NondeterminismFinding,
    SfnTestEnvironment,
    check_determinism,
    scan_for_nondeterminism,
)


@pytest.mark.parametrize(("source", "name"), [
    ("import time\nstamp = time.time()\n", "time.time"),
    ("from time import time as now\nstamp = now()\n", "time.time"),
    ("import datetime as dt\nstamp = dt.datetime.now(dt.UTC)\n", "datetime.datetime.now"),
    ("from datetime import datetime\nclock = datetime.utcnow\n", "datetime.datetime.utcnow"),
    ("from datetime import date\nday = date.today()\n", "datetime.date.today"),
    ("import uuid\nname = str(uuid.uuid4())\n", "uuid.uuid4"),
    ("import random\nx = random.randint(1, 6)\n", "random.randint"),
    ("from random import choice\nx = choice([1, 2])\n", "random.choice"),
    ("import random\nrng = random.Random()\n", "random.Random()"),
    ("import os\nseed = os.urandom(8)\n", "os.urandom"),
    ("import secrets\ntoken = secrets.token_hex()\n", "secrets.token_hex"),
])
def test_scan_reports_a_planted_violation(tmp_path: Path, source: str, name: str) -> None:
    planted = tmp_path / "stage.py"
    planted.write_text(source)
    findings = scan_for_nondeterminism([tmp_path])
    assert [(f.path, f.name) for f in findings] == [(planted, name)]
    assert findings[0].line == 2


def test_scan_ignores_seeded_generators_comments_and_strings(tmp_path: Path) -> None:
    (tmp_path / "fine.py").write_text(
        '"""Never call time.time() here."""\n'
        "import random\n"
        "from datetime import datetime, UTC\n"
        "# uuid.uuid4() would be wrong\n"
        "rng = random.Random(42)\n"
        "def pick(r: random.Random) -> float:\n"
        "    return r.random()\n"
        "epoch = datetime(1970, 1, 1, tzinfo=UTC)\n"
    )
    assert scan_for_nondeterminism([tmp_path]) == []


def test_the_allowlist_names_a_file_and_a_function(tmp_path: Path) -> None:
    (tmp_path / "clock.py").write_text("import time\nnow = time.time()\nlater = time.time_ns()\n")
    findings = scan_for_nondeterminism([tmp_path], allow=[("clock.py", "time.time")])
    assert [f.name for f in findings] == ["time.time_ns"]


def test_check_determinism_raises_nondeterminism_error(tmp_path: Path) -> None:
    (tmp_path / "stage.py").write_text("import time\nstamp = time.time()\n")
    with pytest.raises(NondeterminismError, match=r"stage\.py:2: time\.time"):
        check_determinism([tmp_path])
    finding = scan_for_nondeterminism([tmp_path])[0]
    assert isinstance(finding, NondeterminismFinding)
    assert isinstance(finding.to_error(), NondeterminismError)


# --- a seeded run on a fake clock repeats itself ------------------------------------------------

DETERMINISTIC = {
    "StartAt": "Ids",
    "States": {
        "Ids": {
            "Type": "Pass",
            "Parameters": {"uuid.$": "States.UUID()", "dice.$": "States.MathRandom(1, 1000000)"},
            "ResultPath": "$.ids",
            "Next": "Nap",
        },
        "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Fan"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "B0", "States": {"B0": {"Type": "Pass", "Parameters": {"u.$": "States.UUID()"},
                                                    "End": True}}},
                {"StartAt": "B1", "States": {"B1": {"Type": "Wait", "Seconds": 60, "End": True}}},
            ],
            "ResultPath": "$.branches",
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {
                    "Item": {"Type": "Pass",
                             "Parameters": {"item.$": "$$.Map.Item.Value", "r.$": "States.MathRandom(0, 1000000)"},
                             "Next": "Pause"},
                    "Pause": {"Type": "Wait", "Seconds": 5, "End": True},
                },
            },
            "ResultPath": "$.mapped",
            "Next": "Jsonata",
        },
        "Jsonata": {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {
                "previous": "{% $states.input %}",
                "random": "{% $random() %}",
                "uuid": "{% $uuid() %}",
                "now": "{% $now() %}",
                "millis": "{% $millis() %}",
            },
            "End": True,
        },
    },
}


def _run(seed: int) -> tuple[Any, list[dict[str, Any]]]:
    env = SfnTestEnvironment(seed=seed)
    result = env.run(DETERMINISTIC, {"items": [1, 2, 3]})
    assert result.succeeded, (result.error, result.cause)
    return result.output, env.history(result.arn)


def test_same_seed_same_clock_gives_identical_outputs_and_histories() -> None:
    first_output, first_history = _run(seed=7)
    second_output, second_history = _run(seed=7)
    assert first_output == second_output
    assert len(first_history) == len(second_history)
    for mine, theirs in zip(first_history, second_history, strict=True):
        assert mine == theirs  # ids, types, details and timestamps, event by event
    # The Wait states moved the fake clock: $now()/$millis() report engine time, not wall time,
    # and both name the same instant within the one evaluation.
    now = datetime.fromisoformat(first_output["now"].replace("Z", "+00:00"))
    assert int(now.timestamp() * 1000) == first_output["millis"]
    assert now >= FakeClock().now() + timedelta(seconds=3600 + 60 + 5)


def test_a_different_seed_gives_different_uuids() -> None:
    first, _ = _run(seed=7)
    other, _ = _run(seed=8)
    assert first["uuid"] != other["uuid"]
    assert first["previous"]["ids"]["uuid"] != other["previous"]["ids"]["uuid"]
