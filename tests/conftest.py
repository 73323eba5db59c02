"""Settings and fixtures for the whole test session (every test directory)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Two xdist workers share two cores and LightGBM trains on two OpenMP threads (TrainingConfig.threads):
# with OpenMP's default active wait policy, oversubscribed threads spin and a fit can take 50x longer.
# Set before any test module imports LightGBM; stage subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# An EDGAR identity in the developer's environment would send DataPhase2 of the end-to-end runs to
# sec.gov: tests never touch the network (the EDGAR tests inject theirs through settings).
for _variable in ("ALPHA_ENGINE_EDGAR_IDENTITY", "ALPHA_ENGINE_EDGAR_BASE_URL"):
    os.environ.pop(_variable, None)

# Operational records carry wall-clock times (health markers, logs, execution history, the mutex
# table, the heartbeats each completed stage emits to metrics.db, alarm states, the substrate report:
# its check time and metric windows follow the wall clock); LMDB's lock.mdb is
# its reader table and the writer lock file holds a pid while held. Everything else in a workspace is data.
OPERATIONAL = ("sfn/", "notifications/", "dynamodb.sqlite3", "logs/", "artifacts/_logs/", "artifacts/health/",
               "artifacts/monitoring/substrate/", "run.lock", "metrics.db", "alarms.db")
OPERATIONAL_NAMES = ("lock.mdb", ".alpha-engine-writer.lock")


def data_snapshot(workspace: Path, operational: tuple[str, ...] = OPERATIONAL) -> dict[str, str]:
    """sha256 of every data file in a workspace (operational records left out)."""
    out = {}
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace).as_posix()
        if path.is_file() and not rel.startswith(operational) and path.name not in OPERATIONAL_NAMES:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class SaturdayRun:
    """A workspace after one real run of the shipped Saturday pipeline on the bundled sample."""

    workspace: Path
    report: dict[str, Any]  # `alpha-engine run --json` of that run

    def copy(self, destination: Path) -> Path:
        """A private copy of the workspace, for a test that changes it."""
        shutil.copytree(self.workspace, destination, ignore=shutil.ignore_patterns("lock.mdb"))
        return destination


@pytest.fixture(scope="session")
def saturday_run(tmp_path_factory: pytest.TempPathFactory) -> SaturdayRun:
    """One real run of the shipped pipeline, shared by the end-to-end and contract tests (mark
    them ``xdist_group("saturday_run")`` so one worker runs them all and the run happens once).
    Tests must not change this workspace: take ``.copy()`` to do so."""
    from typer.testing import CliRunner

    from alpha_engine.cli import app

    workspace = tmp_path_factory.mktemp("saturday") / "ws"
    result = CliRunner().invoke(app, ["run", "--json", "--workspace", str(workspace)],
                                env={"ALPHA_ENGINE_CONFIG": None})
    assert result.exit_code == 0, result.output
    return SaturdayRun(workspace, json.loads(result.stdout))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``cli(workspace, *args)``: invoke the CLI on a workspace; returns the click Result."""
    from typer.testing import CliRunner

    from alpha_engine.cli import app

    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(workspace: Path, *args: str) -> Any:
        return runner.invoke(app, [*args, "--workspace", str(workspace)], catch_exceptions=False)

    return invoke
