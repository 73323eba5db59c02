"""PredictorBacktest on the bundled sample, end to end through the stage runner (a small champion
config, a 3-year window and three refits keep it fast): what it writes, that a rerun refits nothing
and writes the same bytes, that a preflight writes nothing, that a missing champion names the stage
to run, that a planted point-in-time mismatch degrades the run, and that the refits are causal (the
predictions up to a date do not change when the data after it exists; a planted leaking feature
makes them change)."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.app._predictor_history import PredictorHistory
from alpha_engine.app._resources import open_artifacts, open_market
from alpha_engine.backtest import PREDICTOR_REC, PREDICTOR_STATS, PREDICTOR_SWEEP, PredictorBacktest
from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import run_stage

from .conftest import copy_workspace, read_artifact, workspace_files

RUN_DATE = date(2022, 12, 31)
SLUG = "predictor-backtest"
TRAINING = ("min_train_dates = 252\ntest_dates = 63\nmeta_min_train_dates = 126\nn_boot = 50\n"
            "randomization_draws = 20\nvol_estimators = 20\n")
SHORT = "years = 3\nrefit_days = 378\nn_bootstrap = 300\n"


def _settings(workspace: Path, options: str = SHORT) -> Settings:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.toml").write_text(f"[stages.predictor-training]\n{TRAINING}[stages.{SLUG}]\n{options}",
                                           encoding="utf-8")
    return load_settings(workspace=workspace, env={})


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="module")
def trained(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = copy_workspace(ingested, tmp_path_factory.mktemp("trained") / "ws")
    report = run_stage("predictor-training", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="module")
def ran(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workspace = copy_workspace(trained, tmp_path_factory.mktemp("ran") / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace, dict(report.summary)


def test_the_stage_is_hard_batch_of_the_backtest_family() -> None:
    assert (PredictorBacktest.slug, PredictorBacktest.skip_flag()) == ("predictor-backtest", "skip_backtester")
    assert PredictorBacktest in SATURDAY_GRAPH.stages()


def test_on_an_empty_workspace_a_shell_run_passes_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    before = workspace_files(settings.workspace)
    report = run_stage(SLUG, RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert "predictor/registry/champion.json from PredictorTraining" in report.summary["would_consume"]
    assert workspace_files(settings.workspace) == before


def test_without_a_champion_a_real_run_names_the_stage_to_run_first(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    before = workspace_files(workspace)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "preflight_failed"
    assert "no champion model in the registry" in (report.error or "")
    assert "run `alpha-engine stage run predictor-training` for this run_date first" in (report.error or "")
    assert workspace_files(workspace) == before


def test_a_shell_run_on_real_data_writes_nothing(trained: Path) -> None:
    before = workspace_files(trained)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(trained), preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(trained) == before


def test_a_run_writes_stats_sweep_and_recommendation(ran: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = ran
    stats = read_artifact(workspace, PREDICTOR_STATS.format(RUN_DATE))
    assert stats["status"] == "ok" and stats["signal_source"] == "predictor"
    meta = stats["predictor_metadata"]
    # a 3-year window with refits every 378 sessions on a grid from the data's first anchor: 3 refits
    assert meta["n_refits"] == summary["refits"] == 3 and summary["refits_cached"] == 0
    assert meta["refits"][0]["anchor"] <= stats["window"]["start"] == meta["refits"][0]["predicts"][0]
    for refit in meta["refits"]:
        assert refit["label_ends"] < refit["anchor"] <= refit["predicts"][0]
    assert stats["pit_parity"]["documents"] == 1 and stats["pit_parity"]["matches"] == 1
    assert stats["intervals"]["sharpe_ratio"][0] <= stats["sharpe_ratio"] <= stats["intervals"]["sharpe_ratio"][1]
    sweep = read_artifact(workspace, PREDICTOR_SWEEP.format(RUN_DATE))
    assert [r["veto_confidence"] for r in sweep["rows"]] == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
    rec = read_artifact(workspace, PREDICTOR_REC.format(RUN_DATE))
    assert rec["recommendation"] in ("apply", "keep") and rec["current_veto_confidence"] == 0.65
    if rec["recommendation"] == "keep":
        assert rec["recommended_veto_confidence"] == 0.65
    assert any("synthetic and daily" in c for c in rec["caveats"])


def test_a_rerun_refits_nothing_and_writes_the_same_bytes(ran: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workspace, _ = ran
    again = copy_workspace(workspace, tmp_path / "ws")
    before = workspace_files(again)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(again))
    assert report.status == "ok", report.error
    assert report.summary["refits_cached"] == report.summary["refits"] == 3
    assert workspace_files(again) == before


def test_a_window_moved_on_meets_the_same_refit_anchors(ran: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workspace, _ = ran
    shorter = copy_workspace(workspace, tmp_path / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(shorter, SHORT.replace("years = 3", "years = 2.5")))
    assert report.status == "ok", report.error
    assert report.summary["refits_cached"] == report.summary["refits"] >= 1  # the anchors lie on one grid


def test_two_fresh_runs_write_the_same_bytes(ran: tuple[Path, dict[str, Any]], trained: Path, tmp_path: Path) -> None:
    workspace, _ = ran
    other = copy_workspace(trained, tmp_path / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(other))
    assert report.status == "ok", report.error
    assert workspace_files(other) == workspace_files(workspace)


def test_a_planted_point_in_time_mismatch_degrades_the_run_naming_it(ran: tuple[Path, dict[str, Any]],
                                                                       tmp_path: Path) -> None:
    workspace = copy_workspace(ran[0], tmp_path / "ws")
    path = workspace / "artifacts" / "predictor" / "predictions" / f"{RUN_DATE}.json"
    document = json.loads(path.read_text())
    document["predictions"][0]["predicted_alpha"] += 0.001
    path.write_text(json.dumps(document), encoding="utf-8")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error  # observability: not a crash
    stats = read_artifact(workspace, PREDICTOR_STATS.format(RUN_DATE))
    assert stats["status"] == "degraded" and stats["pit_parity"]["mismatches"] == 1
    assert stats["degraded_reasons"][0].startswith("pit_parity: 1 stored predictions document(s) differ")
    row = stats["pit_parity"]["rows"][0]
    assert row["n_mismatches"] == 1 and row["mismatches"][0]["ticker"] == document["predictions"][0]["ticker"]
    assert any("pit_parity" in w for w in report.warnings)


class _LeakyMarket:
    """The market store, with momentum_5d replaced by the return of the next 5 sessions (a planted leak)."""

    def __init__(self, market: Any) -> None:
        self.market = market

    def read_many(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        frames = self.market.read_many(*args, **kwargs)
        out = {}
        for ticker, frame in frames.items():
            frame = frame.copy()
            frame["momentum_5d"] = frame["Close"].shift(-5) / frame["Close"] - 1.0
            out[ticker] = frame
        return out

    def read_macro(self, *args: Any, **kwargs: Any) -> Any:
        return self.market.read_macro(*args, **kwargs)

    def macro_symbols(self) -> Any:
        return self.market.macro_symbols()


def _predictions_up_to(market: Any, artifacts: Any, as_of: date) -> Any:
    return PredictorHistory().causal_predictions(market, artifacts, as_of=as_of, window_start=date(2020, 1, 2),
                                                 market_symbol="SP500", refit_days=378, cache=False,
                                                 log=logging.getLogger("test"))


@pytest.mark.parametrize("leak", [False, True])
def test_predictions_up_to_a_date_do_not_depend_on_the_data_after_it(trained: Path, leak: bool) -> None:
    settings = _settings(trained)
    contracts = SATURDAY_GRAPH.contracts()
    market = open_market(settings, True, contracts)
    artifacts = open_artifacts(settings, True, contracts)
    if leak:
        market = _LeakyMarket(market)
    cut = date(2021, 9, 30)
    short, full = _predictions_up_to(market, artifacts, cut), _predictions_up_to(market, artifacts, date(2022, 12, 30))
    shared = full.dates <= np.datetime64(cut)
    assert len(short.dates) == int(shared.sum()) > 300
    same = np.array_equal(short.alpha, full.alpha[shared], equal_nan=True)
    assert same is (not leak)  # the honest refits agree; the leak is caught


def test_the_sweep_is_measured_against_the_applied_configs_and_names_them(trained: Path, tmp_path: Path) -> None:
    """The executor config and veto_confidence in force are the applied ones (config/*.json, written
    by the Evaluator's auto-apply), read as the Backtester and PredictorTraining read them."""
    from alpha_engine.backtest import EXECUTOR_PARAMS, ExecutorConfig
    from alpha_engine.predictor import PREDICTOR_PARAMS
    from alpha_engine.store import ArtifactStore

    workspace = copy_workspace(trained, tmp_path / "ws")
    store = ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts())
    applied = {**ExecutorConfig().model_dump(mode="json"), "min_score": 75.0}
    store.write_json(EXECUTOR_PARAMS.key, {"key": "executor_params", "values": applied, "origin": "applied",
                                           "run_date": "2022-12-24", "change": 1,
                                           "source": "backtest/2022-12-24/executor_rec.json"})
    store.write_json(PREDICTOR_PARAMS.key, {"key": "predictor_params", "values": {"veto_confidence": 0.72},
                                            "origin": "applied", "run_date": "2022-12-24", "change": 2,
                                            "source": "backtest/2022-12-24/predictor_rec.json"})
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    stats = read_artifact(workspace, PREDICTOR_STATS.format(RUN_DATE))
    rec = read_artifact(workspace, PREDICTOR_REC.format(RUN_DATE))
    assert stats["config"]["min_score"] == 75.0
    assert stats["config_source"] == "config/executor_params.json (applied 2022-12-24)"
    assert stats["veto_confidence"] == rec["current_veto_confidence"] == 0.72
    assert rec["current_veto_source"] == "config/predictor_params.json (applied 2022-12-24)"
    sweep = read_artifact(workspace, PREDICTOR_SWEEP.format(RUN_DATE))
    assert 0.72 in [r["veto_confidence"] for r in sweep["rows"]]  # the threshold in force is always swept
