from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from alpha_engine.sfn.services import BindingContext

HERE = Path(__file__).resolve().parent


@pytest.fixture
def log_lines() -> list[str]:
    return []


@pytest.fixture
def ctx(tmp_path: Path, log_lines: list[str]) -> BindingContext:
    return BindingContext(
        workspace=tmp_path / "ws",
        functions={
            "echo": "sfn_fixture_handlers:echo",
            "arn:aws:lambda:eu-west-1:111111111111:function:ctxfn": "sfn_fixture_handlers:describe_context",
            "noisy": "sfn_fixture_handlers:noisy",
            "raises": "sfn_fixture_handlers:raises",
            "raises_custom": "sfn_fixture_handlers:raises_custom",
            "exits": "sfn_fixture_handlers:exits",
            "killed": "sfn_fixture_handlers:killed",
            "unserialisable": "sfn_fixture_handlers:unserialisable",
            "hangs": "sfn_fixture_handlers:hangs",
            "lease_env": "sfn_fixture_handlers:lease_env",
            "missing_module": "no_such_module_xyz:handler",
            "missing_handler": "sfn_fixture_handlers:nope",
        },
        env={"PYTHONPATH": str(HERE), "SFN_FIXTURE_FLAG": "on"},
        ssm_not_found_window_seconds=0.0,
        log=log_lines.append,
    )


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer runs: absent, or a zombie left for a reaper we do not own.

    Polls briefly because a killed grandchild is reparented and reaped asynchronously.
    """
    for _ in range(250):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def gone() -> Callable[[int], bool]:
    return _gone
