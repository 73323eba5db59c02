"""PredictorTraining and DriftDetection preflights: each failure names what is wrong and writes nothing."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from alpha_engine.config import ConfigError, Settings, load_settings
from alpha_engine.pipeline import run_stage
from alpha_engine.predictor import ModelRegistry
from alpha_engine.store import ArtifactStore

RUN_DATE = date(2022, 12, 31)


def _settings(workspace: Path, options: str = "") -> Settings:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.toml").write_text(f"[stages.predictor-training]\n{options}", encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def _files(workspace: Path) -> dict[str, bytes]:
    """Every file's bytes, except LMDB's lock.mdb (its reader table changes on any read)."""
    return {str(p.relative_to(workspace)): p.read_bytes() for p in sorted(workspace.rglob("*"))
            if p.is_file() and p.name != "lock.mdb"}


def test_on_an_empty_workspace_a_shell_run_passes_and_says_what_it_would_consume(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    training = run_stage("predictor-training", RUN_DATE, settings=settings, preflight_only=True)
    assert training.status == "ok", training.error
    assert training.summary["would_consume"] == ["market_data/weekly/2022-12-31/manifest.json from DataPhase1"]
    drift = run_stage("drift-detection", RUN_DATE, settings=settings, preflight_only=True)
    assert drift.status == "ok", drift.error
    assert "predictor/registry/champion.json from PredictorTraining" in drift.summary["would_consume"]
    assert _files(settings.workspace) == {"config.toml": b"[stages.predictor-training]\n"}


def test_on_an_empty_workspace_a_real_run_names_the_stage_that_produces_what_is_missing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    training = run_stage("predictor-training", RUN_DATE, settings=settings)
    assert training.status == "preflight_failed"
    assert "market_data/weekly/2022-12-31/manifest.json is missing: DataPhase1 produces it" in (training.error or "")
    drift = run_stage("drift-detection", RUN_DATE, settings=settings)
    assert drift.status == "preflight_failed" and "DataPhase1 produces it" in (drift.error or "")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.mark.parametrize(("options", "message"), [
    ('serve_provisional = "maybe"\n', "stages.predictor-training.serve_provisional: Input should be a valid boolean"),
    ("n_trees = 5\n", "stages.predictor-training.n_trees: Extra inputs are not permitted"),
    ('calibration = "sigmoid"\n', "stages.predictor-training.calibration: String should match pattern"),
])
def test_bad_options_are_config_errors_naming_the_file_and_field(ingested: Path, options: str, message: str) -> None:
    settings = _settings(ingested, options)
    with pytest.raises(ConfigError) as info:
        run_stage("predictor-training", RUN_DATE, settings=settings, preflight_only=True)
    assert message in str(info.value) and str(settings.source) in str(info.value)
    _settings(ingested)  # the config as it was


def test_a_short_history_fails_the_preflight_and_writes_nothing(ingested: Path) -> None:
    before = _files(ingested)
    settings = _settings(ingested, "min_train_dates = 5000\n")
    report = run_stage("predictor-training", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "preflight_failed" and "training needs at least" in (report.error or "")
    _settings(ingested)  # the config as it was
    assert _files(ingested) == before


def test_an_unwritable_registry_fails_the_preflight(ingested: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(ingested)
    assert run_stage("predictor-training", RUN_DATE, settings=settings, preflight_only=True).status == "ok"
    real_access = os.access
    artifacts = settings.workspace / "artifacts"

    def deny_artifacts(path: os.PathLike[str] | str, mode: int) -> bool:  # tests run as root: simulate
        return False if mode == os.W_OK and Path(path) == artifacts else real_access(path, mode)

    monkeypatch.setattr("alpha_engine.predictor._stages.os.access", deny_artifacts)
    report = run_stage("predictor-training", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "preflight_failed"
    assert f"not writable at {artifacts}" in (report.error or "") and "predictor/registry" in (report.error or "")


FAST = "vol_estimators = 10\nrandomization_draws = 5\nn_boot = 5\n"


def test_a_champion_that_fails_re_validation_is_demoted_and_the_operators_are_told_once(
        ingested: Path, tmp_path: Path) -> None:
    """On the sample no model shows skill: the first one serves provisionally; an operator confirms
    it by hand; next run, a refresh of its config fails the skill gate, so the champion is demoted,
    a notification goes out, and a rerun neither undoes an override nor notifies again."""
    workspace = tmp_path / "ws"
    shutil.copytree(ingested, workspace)
    first = run_stage("predictor-training", RUN_DATE, settings=_settings(workspace, FAST + "threads = 1\n"))
    assert first.status == "ok" and first.summary["action"] == "promote_provisional", first.error
    settings = _settings(workspace, FAST + "threads = 1\n")
    registry = ModelRegistry(ArtifactStore(settings.artifacts_uri))
    champion = registry.champion()
    assert champion is not None
    registry.promote(champion, reason="reviewed by an operator")
    again = run_stage("predictor-training", RUN_DATE, settings=settings)  # the same week: the same challenger
    assert again.status == "ok" and not registry.champion_is_provisional()  # the override stands

    refresh = run_stage("predictor-training", RUN_DATE, settings=_settings(workspace, FAST + "threads = 2\n"))
    assert refresh.status == "ok", refresh.error
    assert refresh.summary["action"] == "demote" and refresh.summary["champion"] == champion
    assert refresh.summary["model_status"] == "provisional" and registry.champion_is_provisional()
    assert any(f"{champion} was demoted to provisional" in w for w in refresh.warnings)
    outbox = [json.loads(line) for line in (workspace / "notifications" / "outbox.jsonl").read_text().splitlines()]
    assert [m["subject"] for m in outbox] == ["Alpha Engine — champion model demoted (2022-12-31)"]
    assert "no detectable skill" in outbox[0]["message"] and "IC 95% CI" in outbox[0]["message"]
    decision = registry.decision("2022-12-31", refresh.summary["challenger"])
    assert decision is not None and decision["action"] == "demote" and decision["champion_revalidation"] is not None
    report = (workspace / "artifacts" / "predictor" / "reports" / refresh.summary["challenger"] / "report.md").read_text()
    assert "**No detectable skill**" in report and "**demote**" in report

    rerun = run_stage("predictor-training", RUN_DATE, settings=_settings(workspace, FAST + "threads = 2\n"))
    assert rerun.status == "ok" and rerun.summary["action"] == "demote"
    assert len((workspace / "notifications" / "outbox.jsonl").read_text().splitlines()) == 1
    _settings(workspace)
