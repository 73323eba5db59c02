"""Fixtures of the evaluator tests (helpers in evaluator_support.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from evaluator_support import RUN_DATE, settings_for, write_history

from alpha_engine.pipeline import run_stage


@pytest.fixture(scope="session")
def ingested_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after DataPhase1 on the bundled sample (run date 2022-12-31), nothing else."""
    workspace = tmp_path_factory.mktemp("evaluator-ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=settings_for(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="session")
def history_workspace(ingested_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ingested sample plus the synthetic 2022 history (tests copy it before changing it)."""
    workspace = tmp_path_factory.mktemp("evaluator-history") / "ws"
    shutil.copytree(ingested_sample, workspace, ignore=shutil.ignore_patterns("lock.mdb"))
    write_history(workspace)
    return workspace


@pytest.fixture(scope="session")
def graded(history_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The history workspace after one Evaluator run for 2022-12-31."""
    workspace = tmp_path_factory.mktemp("graded") / "ws"
    shutil.copytree(history_workspace, workspace, ignore=shutil.ignore_patterns("lock.mdb"))
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(workspace))
    assert report.status == "ok", report.error
    return workspace
