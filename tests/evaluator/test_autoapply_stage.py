"""The config auto-apply through the Evaluator stage on the bundled sample, after a real (small)
Backtester run: the sample's own recommendation (keep) applies nothing; a planted ``apply`` with an
interval above 0 is applied once, a rerun changes no byte, the next Backtester reads it, and
``freeze`` writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from evaluator_support import RUN_DATE, copy_workspace

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.backtest import EXECUTOR_PARAMS, EXECUTOR_REC, PORTFOLIO_STATS
from alpha_engine.config import Settings, load_settings
from alpha_engine.evaluator import CONFIG_CHANGES, EvaluatorOptions
from alpha_engine.pipeline import run_stage
from alpha_engine.store import ArtifactStore

SMALL = "[stages.backtester]\nn_trials = 6\nn_bootstrap = 200\n"


def _settings(workspace: Path, extra: str = "") -> Settings:
    (workspace / "config.toml").write_text(SMALL + extra, encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def _store(workspace: Path) -> ArtifactStore:
    return ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts())


def _config_files(workspace: Path) -> dict[str, bytes]:
    root = workspace / "artifacts" / "config"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} \
        if root.exists() else {}


def _auto(workspace: Path) -> dict[str, Any]:
    evaluation = json.loads((workspace / f"artifacts/evaluator/{RUN_DATE}/evaluation.json").read_text())
    return dict(evaluation["modules"]["auto_apply"])


@pytest.fixture(scope="module")
def backtested(ingested_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = copy_workspace(ingested_sample, tmp_path_factory.mktemp("backtested") / "ws")
    report = run_stage("backtester", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


def _plant_apply(workspace: Path) -> dict[str, Any]:
    """The sample's executor_rec turned into an apply whose holdout interval lies above 0, with a small change."""
    store = _store(workspace)
    key = EXECUTOR_REC.format(RUN_DATE)
    rec = dict(store.read_json(key))
    proposed = {**rec["current"], "min_score": 75.0}
    rec.update(recommendation="apply", proposed=proposed, changed={"min_score": 75.0},
               holdout_sharpe_difference={"estimate": 0.3, "ci_low": 0.05, "ci_high": 0.6, "confidence": 0.95})
    store.write_json(key, rec)
    return proposed


def test_the_samples_own_recommendation_applies_nothing(backtested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(backtested, tmp_path / "ws")
    report = run_stage("evaluator", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    auto = _auto(workspace)
    assert auto["status"] == "degraded" and auto["reason"] == f"no backtest/{RUN_DATE}/predictor_rec.json"
    executor = auto["data"]["executor_params"]
    assert executor["apply"] is False and "recommends 'keep'" in executor["failed"][0]
    assert list(_config_files(workspace)) == [f"metrics_history/{RUN_DATE}.json"]
    assert report.summary["auto_apply"] == {"applied": [], "frozen": False, "regression": "not_applicable"}


def test_a_planted_apply_is_applied_once_and_the_next_backtest_reads_it(backtested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(backtested, tmp_path / "ws")
    proposed = _plant_apply(workspace)
    report = run_stage("evaluator", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    assert _auto(workspace)["data"]["applied"] == ["executor_params"]
    store = _store(workspace)
    assert store.read_json(EXECUTOR_PARAMS.key)["values"] == proposed
    assert [c["action"] for c in store.read_json(CONFIG_CHANGES.key)["changes"]] == ["apply"]
    written = _config_files(workspace)
    evaluation = (workspace / f"artifacts/evaluator/{RUN_DATE}/evaluation.json").read_bytes()
    again = run_stage("evaluator", RUN_DATE, settings=_settings(workspace))
    assert again.status == "ok", again.error
    assert _config_files(workspace) == written
    assert (workspace / f"artifacts/evaluator/{RUN_DATE}/evaluation.json").read_bytes() == evaluation
    rerun = run_stage("backtester", RUN_DATE, settings=_settings(workspace))
    assert rerun.status == "ok", rerun.error
    stats = store.read_json(PORTFOLIO_STATS.format(RUN_DATE))
    assert stats["config"]["min_score"] == 75.0 and stats["config_source"].startswith("config/executor_params.json")


def test_freeze_set_in_the_config_file_reports_would_apply_and_writes_nothing(backtested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(backtested, tmp_path / "ws")
    _plant_apply(workspace)
    report = run_stage("evaluator", RUN_DATE,
                       settings=_settings(workspace, "[stages.evaluator.auto_apply]\nfreeze = true\n"))
    assert report.status == "ok", report.error
    data = _auto(workspace)["data"]
    assert data["frozen"] is True and data["executor_params"]["would_apply"] is True and data["applied"] == []
    assert _config_files(workspace) == {}


def test_the_freeze_flag_on_stage_run_writes_no_config(backtested: Path, tmp_path: Path) -> None:
    """``alpha-engine stage run evaluator --freeze``: the settings' freeze_config (what ``run --freeze``
    passes on to every stage process) freezes the auto-apply as the config file's option does."""
    from typer.testing import CliRunner

    from alpha_engine.cli import app

    workspace = copy_workspace(backtested, tmp_path / "ws")
    _plant_apply(workspace)
    _settings(workspace)
    result = CliRunner().invoke(app, ["stage", "run", "evaluator", "--run-date", RUN_DATE.isoformat(), "--freeze",
                                      "--workspace", str(workspace), "--config", str(workspace / "config.toml")])
    assert result.exit_code == 0, result.output
    data = _auto(workspace)["data"]
    assert data["frozen"] is True and data["executor_params"]["would_apply"] is True and data["applied"] == []
    assert _config_files(workspace) == {}
    # without the flag the same planted recommendation is applied (the flag is what froze it)
    report = run_stage("evaluator", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok" and "config/executor_params.json" in [
        f"config/{name}" for name in _config_files(workspace)]


def test_freeze_config_comes_from_the_environment_and_is_passed_to_stage_processes(tmp_path: Path) -> None:
    assert load_settings(workspace=tmp_path, env={}).freeze_config is False
    frozen = load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_FREEZE_CONFIG": "1"})
    assert frozen.freeze_config is True
    assert frozen.child_environment()["ALPHA_ENGINE_FREEZE_CONFIG"] == "1"
    assert "ALPHA_ENGINE_FREEZE_CONFIG" not in load_settings(workspace=tmp_path, env={}).child_environment()


def test_an_unknown_auto_apply_option_is_refused() -> None:
    assert EvaluatorOptions.model_validate({"auto_apply": {"freeze": True}}).auto_apply.freeze is True
    with pytest.raises(ValueError, match="frezee"):
        EvaluatorOptions.model_validate({"auto_apply": {"frezee": True}})
