"""Light stages stay light: a lambda-class stage's process imports only what its preflight needs.

Each lambda-compute stage of the shipped graph (taken from ``SATURDAY_GRAPH``, never listed here)
runs as ``python -m alpha_engine stage run SLUG --preflight-only`` in its own process, wrapped so
that it reports the top-level packages in ``sys.modules`` when it exits. Behaviour only: how long
it takes is measured by ``bench/bench_light_stages.py``, never asserted here.

No lambda stage's preflight imports any of :data:`HEAVY`, on an empty workspace (a first shell
run) or after a real run: the runner probes a required market store without ArcticDB
(``probe_market_store``), and the Scanner checks the universe through DataPhase1's manifest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.pipeline import Compute
from conftest import SaturdayRun

RUN_DATE = "2022-12-31"  # the sample's default run date
HEAVY = frozenset({"pandas", "arcticdb", "lightgbm", "sklearn", "scipy", "matplotlib", "exchange_calendars"})
LAMBDA_STAGES = [stage for stage in SATURDAY_GRAPH.stages() if stage.compute is Compute.LAMBDA]

# Runs the CLI as `python -m alpha_engine` does, then writes the top-level packages it imported.
REPORT_IMPORTS = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted({m.split(".")[0] for m in sys.modules}))))
sys.argv[0] = "alpha_engine"
runpy.run_module("alpha_engine", run_name="__main__", alter_sys=True)
"""

def _stage_ids(stages: list[Any]) -> list[str]:
    return [stage.slug for stage in stages]


def _preflight_imports(slug: str, workspace: Path, tmp_path: Path) -> set[str]:
    """Top-level packages imported by a preflight-only run of ``slug``, which must pass."""
    out = tmp_path / f"{slug}-imports.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHA_ENGINE_")}
    env["ALPHA_ENGINE_HOME"] = str(workspace)
    done = subprocess.run(
        [sys.executable, "-c", REPORT_IMPORTS, str(out), "stage", "run", slug, "--run-date", RUN_DATE,
         "--preflight-only"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    if done.returncode != 0:  # not an AssertionError: an expected failure never hides a broken preflight
        pytest.fail(f"{slug}: exit code {done.returncode}\n{done.stdout}\n{done.stderr}")
    return set(json.loads(out.read_text()))


def test_the_graph_has_lambda_stages() -> None:
    assert LAMBDA_STAGES, "no lambda-compute stage in SATURDAY_GRAPH: the tests below check nothing"


@pytest.mark.parametrize("stage", LAMBDA_STAGES, ids=_stage_ids(LAMBDA_STAGES))
def test_a_lambda_stage_preflight_on_an_empty_workspace_imports_no_heavy_library(
        stage: Any, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    imported = _preflight_imports(stage.slug, workspace, tmp_path)
    assert not imported & HEAVY, f"{stage.name} imported {sorted(imported & HEAVY)}"


@pytest.mark.xdist_group("saturday_run")
@pytest.mark.parametrize("stage", LAMBDA_STAGES, ids=_stage_ids(LAMBDA_STAGES))
def test_a_lambda_stage_preflight_after_a_run_imports_no_heavy_library(
        stage: Any, saturday_run: SaturdayRun, tmp_path: Path) -> None:
    workspace = saturday_run.copy(tmp_path / "ws")
    imported = _preflight_imports(stage.slug, workspace, tmp_path)
    assert not imported & HEAVY, f"{stage.name} imported {sorted(imported & HEAVY)}"
