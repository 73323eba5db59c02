"""The Backtester on the bundled sample, end to end through the stage runner (a small search keeps
it fast): what it writes, that the Evaluator picks its portfolio_stats up, that a second run writes
the same bytes, that a preflight writes nothing, and that missing or corrupt data fails naming it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.backtest import (
    EXECUTOR_REC,
    PARAM_SWEEP,
    PORTFOLIO_STATS,
    SYNTHETIC_SIGNAL_NOTE,
    Backtester,
)
from alpha_engine.config import Settings
from alpha_engine.evaluator import Evaluator
from alpha_engine.pipeline import run_stage

from .conftest import copy_workspace, read_artifact, stage_settings, workspace_files

RUN_DATE = date(2022, 12, 31)
SLUG = "backtester"
SMALL = "n_trials = 6\nn_bootstrap = 200\n"


def _settings(workspace: Path, options: str = SMALL) -> Settings:
    return stage_settings(workspace, SLUG, options)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="module")
def ran(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workspace = copy_workspace(ingested, tmp_path_factory.mktemp("ran") / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace, dict(report.summary)


def test_the_backtester_heads_the_family_and_the_evaluator_reads_its_stats_by_its_constant() -> None:
    assert (Backtester.slug, Backtester.skip_flag(), Backtester.timeout_seconds) == ("backtester", "skip_backtester", 7200)
    assert PORTFOLIO_STATS.format(RUN_DATE) == "backtest/2022-12-31/portfolio_stats.json"
    assert any(getattr(c, "artifact", c) is PORTFOLIO_STATS for c in Evaluator.consumes)


def test_on_an_empty_workspace_a_shell_run_passes_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(settings.workspace) == {"config.toml": (settings.workspace / "config.toml").read_bytes()}


def test_a_shell_run_on_real_data_checks_the_window_and_writes_nothing(ingested: Path) -> None:
    before = workspace_files(ingested)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(ingested), preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(ingested) == before


def test_a_run_simulates_ten_years_of_the_current_config_on_synthetic_signals(ran: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = ran
    stats = read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))
    assert stats["signal_source"] == "synthetic" and stats["status"] == "degraded"
    assert any(c.startswith(SYNTHETIC_SIGNAL_NOTE) for c in stats["caveats"])
    assert any("survivorship" in c for c in stats["caveats"])
    assert stats["window"]["start"] <= "2013-01-02" and stats["window"]["n_days"] > 2500
    assert stats["total_trades"] > 0 and stats["config"]["min_score"] == 70.0
    low, high = stats["intervals"]["sharpe_ratio"]
    assert low < stats["sharpe_ratio"] < high
    assert stats["max_drawdown"] <= 0 and stats["atr_method"] == "close_to_close"
    assert len(stats["nav"]) == len(stats["dates"]) == stats["window"]["n_days"]
    assert stats["parity"] == {"checked": True, "config": "current", "differences": [], "orders": stats["total_orders"],
                               "passed": True, "rtol": 1e-9}
    assert summary["parity"] == "agree" and summary["signal_source"] == "synthetic"


def test_the_search_includes_the_current_params_and_ends_before_the_holdout(ran: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = ran
    sweep = read_artifact(workspace, PARAM_SWEEP.format(RUN_DATE))
    current = {"atr_multiplier": 3.0, "max_position_pct": 0.05, "min_score": 70.0, "profit_take_pct": 0.25,
               "time_decay_exit_days": 15.0, "time_decay_reduce_days": 7.0}
    assert sweep["rows"][0]["params"] == current and sweep["trials"] == 7  # 6 draws + the current params
    split = sweep["split"]
    assert split["search"]["end"] < split["holdout"]["start"]
    assert split["search"]["n_days"] + split["holdout"]["n_days"] == read_artifact(
        workspace, PORTFOLIO_STATS.format(RUN_DATE))["window"]["n_days"]
    assert summary["sweep"] == {"trials": 7, "completed": sweep["completed"], "completion": sweep["completion"]}


def test_the_recommendation_follows_the_holdout_interval(ran: tuple[Path, dict[str, Any]]) -> None:
    workspace, summary = ran
    rec = read_artifact(workspace, EXECUTOR_REC.format(RUN_DATE))
    difference = rec["holdout_sharpe_difference"]
    if rec["recommendation"] == "apply":
        assert difference["ci_low"] > 0
    assert summary["recommendation"] == rec["recommendation"] and rec["reasons"]
    assert rec["twin"]["window"] == read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))["window"]
    assert summary["holdout_sharpe_difference"] == [difference["ci_low"], difference["estimate"], difference["ci_high"]]


def test_the_evaluator_grades_the_backtest_portfolio(ran: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workspace = copy_workspace(ran[0], tmp_path / "ws")
    report = run_stage("evaluator", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    evaluation = read_artifact(workspace, "evaluator/2022-12-31/evaluation.json")
    portfolio = evaluation["modules"]["portfolio"]
    stats = read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))
    assert portfolio["status"] == "ok", portfolio
    assert portfolio["data"]["source"] == "backtest"
    assert portfolio["data"]["sharpe_ratio"] == stats["sharpe_ratio"]


def test_a_second_run_writes_the_same_bytes(ran: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workspace = copy_workspace(ran[0], tmp_path / "ws")
    before = workspace_files(workspace)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    assert workspace_files(workspace) == before


def test_stored_signals_that_are_missing_fail_the_preflight_naming_the_fix(ingested: Path) -> None:
    report = run_stage(SLUG, RUN_DATE, settings=_settings(ingested, SMALL + 'signal_source = "stored"\n'),
                       preflight_only=True)
    assert report.status == "preflight_failed", report.error
    assert "signals/{date}/signals.json" in (report.error or "") and "signal_source = 'auto'" in (report.error or "")
    _settings(ingested)


def test_a_corrupt_signals_document_fails_the_preflight_naming_its_key(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    key = "signals/2022-12-24/signals.json"
    (workspace / "artifacts" / key).parent.mkdir(parents=True)
    (workspace / "artifacts" / key).write_text("{not json", encoding="utf-8")
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace), preflight_only=True)
    assert report.status == "preflight_failed", report.error
    assert key in (report.error or "")


def test_an_invalid_current_config_fails_the_preflight(ingested: Path) -> None:
    report = run_stage(SLUG, RUN_DATE, settings=_settings(ingested, SMALL + "current = { min_score = 170 }\n"),
                       preflight_only=True)
    assert report.status == "preflight_failed" and "[stages.backtester] current" in (report.error or "")
    _settings(ingested)


def _write_signals(workspace: Path, first: date, every_days: int) -> int:
    """Stored weekly-style signals (valid research documents): the first four sample names ENTER."""
    from datetime import timedelta

    from alpha_engine.app import SATURDAY_GRAPH
    from alpha_engine.store import ArtifactStore

    store = ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts())
    tickers = sorted(json.loads((workspace / "artifacts/market_data/weekly/2022-12-31/constituents.json")
                                .read_text())["tickers"])
    day, written = first, 0
    while day < RUN_DATE:
        universe = [{"ticker": t, "signal": "ENTER" if i < 4 else "HOLD", "score": 90.0 - i, "rating": "BUY",
                     "conviction": "stable", "sector": "Technology", "sector_rating": "market_weight",
                     "price_target_upside": None, "thesis_summary": "test", "sub_scores": {"quant": 80.0, "qual": None},
                     "factor_quality_score": 0.5} for i, t in enumerate(tickers)]
        buys = [{**e, "catalysts": [], "entry_thesis": "test"} for e in universe if e["signal"] == "ENTER"]
        store.write_json(f"signals/{day.isoformat()}/signals.json", {
            "date": day.isoformat(), "time": f"{day.isoformat()}T00:00:00Z", "market_regime": "neutral",
            "sector_ratings": {}, "sector_modifiers": {}, "universe": universe, "buy_candidates": buys, "signals": {},
            "population": sorted(e["ticker"] for e in buys), "architecture_version": "sector_teams"})
        day += timedelta(days=every_days)
        written += 1
    return written


def test_with_a_stored_signal_history_the_backtester_simulates_it(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    written = _write_signals(workspace, date(2016, 1, 2), 28)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    stats = read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))
    assert stats["signal_source"] == "stored" and stats["status"] == "ok"
    assert stats["signal_dates"] == written and stats["total_orders"] > 0
    assert not any(c.startswith(SYNTHETIC_SIGNAL_NOTE) for c in stats["caveats"])


def test_the_applied_executor_config_wins_over_the_settings_and_is_named(ingested: Path, tmp_path: Path) -> None:
    from alpha_engine.app import SATURDAY_GRAPH
    from alpha_engine.backtest import EXECUTOR_PARAMS, ExecutorConfig
    from alpha_engine.store import ArtifactStore

    workspace = copy_workspace(ingested, tmp_path / "ws")
    applied = {**ExecutorConfig().model_dump(mode="json"), "min_score": 75.0}
    ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts()).write_json(EXECUTOR_PARAMS.key, {
        "key": "executor_params", "values": applied, "origin": "applied", "run_date": "2022-12-24", "change": 1,
        "source": "backtest/2022-12-24/executor_rec.json"})
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace, SMALL + "current = { min_score = 65.0 }\n"))
    assert report.status == "ok", report.error
    stats = read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))
    rec = read_artifact(workspace, EXECUTOR_REC.format(RUN_DATE))
    assert stats["config"]["min_score"] == 75.0 and rec["current"]["min_score"] == 75.0
    assert stats["config_source"] == rec["config_source"] == "config/executor_params.json (applied 2022-12-24)"


def test_without_an_applied_config_the_settings_are_named_as_the_source(ran: tuple[Path, dict[str, Any]]) -> None:
    workspace, _ = ran
    assert read_artifact(workspace, PORTFOLIO_STATS.format(RUN_DATE))["config_source"] == "factory defaults"
