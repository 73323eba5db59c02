"""PortfolioOptimizerBacktest on the bundled sample, end to end through the stage runner (a short
window and small sweeps keep it fast): what it writes, that it writes the same bytes twice, that a
preflight writes nothing, and that bad or missing data fails naming what and where."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alpha_engine.backtest import COVARIANCE_SWEEP, PORTFOLIO_GATE, RISK_AVERSION_SWEEP
from alpha_engine.config import Settings
from alpha_engine.pipeline import run_stage

from .conftest import copy_workspace, read_artifact, stage_settings, workspace_files

RUN_DATE = date(2022, 12, 31)
SLUG = "portfolio-optimizer"
# Two years of returns, quarterly windows, small sweeps: about 5 folds per configuration.
SHORT = ('history_days = 504\ntrain_days = 189\ntest_days = 63\ncovariance_estimators = ["empirical", "ledoit_wolf"]\n'
         "risk_aversions = [1.0, 10.0]\nn_bootstrap = 300\n")


def _settings(workspace: Path, options: str = SHORT) -> Settings:
    return stage_settings(workspace, SLUG, options)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="module")
def ran(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    workspace = tmp_path_factory.mktemp("ran") / "ws"
    copy_workspace(ingested, workspace)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace, dict(report.summary)


def test_on_an_empty_workspace_a_shell_run_passes_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    report = run_stage(SLUG, RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert report.summary["would_consume"] == ["market_data/weekly/2022-12-31/manifest.json from DataPhase1"]
    assert workspace_files(settings.workspace) == {"config.toml": (settings.workspace / "config.toml").read_bytes()}


def test_a_shell_run_on_real_data_checks_the_window_and_writes_nothing(ingested: Path) -> None:
    before = workspace_files(ingested)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(ingested), preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(ingested) == before


def test_a_run_writes_the_gate_and_both_sweeps_and_summarises_them(ran: tuple[Path, dict[str, object]]) -> None:
    workspace, summary = ran
    key = PORTFOLIO_GATE.format(RUN_DATE)
    gate = read_artifact(workspace, key)
    assert key == "backtest/2022-12-31/portfolio_optimizer/gate.json"
    data = gate["data"]
    assert isinstance(data, dict) and data["n_tickers"] == 20 and data["n_returns"] == 504
    walk = gate["walk_forward"]
    assert isinstance(walk, dict) and walk["n_folds"] == (504 - 189) // 63 and walk["test_days"] == 63
    verdict = gate["gate"]
    assert isinstance(verdict, dict)
    interval = verdict["sharpe_difference"]
    assert verdict["passes"] is (interval["ci_low"] > 0)
    assert gate["causality"]["look_ahead"]["passed"] is True  # type: ignore[index]
    assert any("survivor" in c for c in gate["caveats"])  # type: ignore[union-attr]
    covariance = read_artifact(workspace, COVARIANCE_SWEEP.format(RUN_DATE))
    assert [r["name"] for r in covariance["rows"]] == ["empirical", "ledoit_wolf"]  # type: ignore[union-attr]
    gammas = read_artifact(workspace, RISK_AVERSION_SWEEP.format(RUN_DATE))
    assert [r["parameter"] for r in gammas["rows"]] == [1.0, 10.0]  # type: ignore[union-attr]
    selection = gammas["selection"]
    assert isinstance(selection, dict) and selection["n_compared"] == 2
    assert selection["correction"]["level"] == pytest.approx(1 - 0.05 / 2)
    assert summary["gate"] == ("pass" if verdict["passes"] else "fail")
    assert summary["best_covariance"] == covariance["selection"]["best"]  # type: ignore[index]
    assert summary["sharpe_difference"] == [interval["ci_low"], interval["estimate"], interval["ci_high"]]


def test_a_second_run_writes_the_same_bytes(ran: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    workspace, _ = ran
    before = workspace_files(workspace)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    assert workspace_files(workspace) == before


@pytest.mark.parametrize(("options", "message"), [
    (SHORT.replace("history_days = 504", "history_days = 200"), "needs at least 252 (train_days + test_days)"),
    (SHORT + "min_assets = 50\n", "the walk-forward needs at least 50 (min_assets)"),
])
def test_too_little_data_fails_the_preflight_naming_the_store_and_the_fix(ingested: Path, options: str,
                                                                          message: str) -> None:
    before = workspace_files(ingested)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(ingested, options), preflight_only=True)
    assert report.status == "preflight_failed" and message in (report.error or ""), report.error
    assert "market store" in (report.error or "")
    _settings(ingested)  # the config as it was
    assert {k: v for k, v in workspace_files(ingested).items() if k != "config.toml"} == \
        {k: v for k, v in before.items() if k != "config.toml"}


def test_a_copied_workspace_writes_the_same_bytes(ran: tuple[Path, dict[str, object]], tmp_path: Path) -> None:
    workspace, _ = ran
    copy = tmp_path / "elsewhere" / "ws"
    copy_workspace(workspace, copy)
    report = run_stage(SLUG, RUN_DATE, settings=_settings(copy))
    assert report.status == "ok", report.error
    for artifact in (PORTFOLIO_GATE, COVARIANCE_SWEEP, RISK_AVERSION_SWEEP):
        key = f"artifacts/{artifact.format(RUN_DATE)}"
        assert (copy / key).read_bytes() == (workspace / key).read_bytes(), key
