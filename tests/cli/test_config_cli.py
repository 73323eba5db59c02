"""``alpha-engine config show|history|rollback`` on a workspace where the Evaluator applied a config."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.backtest import (
    EXECUTOR_PARAMS,
    EXECUTOR_PARAMS_HISTORY,
    EXECUTOR_PARAMS_PREVIOUS,
    ExecutorConfig,
)
from alpha_engine.cli import app
from alpha_engine.evaluator import PROMOTION_BASELINE, AutoApplyOptions, ConfigBook, auto_apply
from alpha_engine.store import ArtifactStore

runner = CliRunner()
CURRENT = ExecutorConfig().model_dump(mode="json")


def _rec(proposed: dict[str, object], current: dict[str, object]) -> dict[str, object]:
    return {"recommendation": "apply", "reasons": ["test"], "current": current, "proposed": proposed,
            "completion": 1.0, "holdout_sharpe_difference": {"estimate": 0.3, "ci_low": 0.1, "ci_high": 0.5},
            "twin": {"proposed": {"sharpe_ratio": 0.8, "max_drawdown": -0.2, "intervals": {"sharpe_ratio": [0.5, 1.1]}}}}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    return tmp_path / "ws"


@pytest.fixture
def applied(workspace: Path) -> ConfigBook:
    """Two weekly applies of the executor params (min_score 70 -> 75 -> 80)."""
    book = ConfigBook(ArtifactStore(workspace / "artifacts", contracts=SATURDAY_GRAPH.contracts()))
    week1, week2 = {**CURRENT, "min_score": 75.0}, {**CURRENT, "min_score": 80.0}
    for day, current, proposed in (("2022-12-24", CURRENT, week1), ("2022-12-31", week1, week2)):
        auto_apply(book, run_date=day, executor_rec=("rec", _rec(proposed, current)), predictor_rec=("prec", None),
                   portfolio_stats=("stats", None), options=AutoApplyOptions(), notify=lambda s, m: None,
                   log=logging.getLogger("test"))
    return book


def test_history_shows_every_change_with_its_evidence(applied: ConfigBook) -> None:
    result = runner.invoke(app, ["config", "history"])
    assert result.exit_code == 0, result.output
    assert "#1 2022-12-24  executor_params  apply" in result.output
    assert "min_score 70.0 -> 75.0" in result.output and "min_score 75.0 -> 80.0" in result.output
    assert "Sharpe difference 0.3 [0.1, 0.5]" in result.output
    changes = json.loads(runner.invoke(app, ["config", "history", "--json", "--key", "executor_params"]).output)
    assert [c["seq"] for c in changes] == [1, 2] and changes[0]["evidence"]["source"] == "rec"
    assert json.loads(runner.invoke(app, ["config", "history", "--json", "--key", "predictor_params"]).output) == []


def test_rollback_restores_the_exact_bytes_of_previous_and_records_a_manual_change(applied: ConfigBook) -> None:
    store = applied.store
    previous = store.read_bytes(EXECUTOR_PARAMS_PREVIOUS.key)
    result = runner.invoke(app, ["config", "rollback", "--key", "executor_params", "--reason", "operator says so"])
    assert result.exit_code == 0, result.output
    assert store.read_bytes(EXECUTOR_PARAMS.key) == previous
    last = applied.changes()[-1]
    assert (last["action"], last["by"], last["evidence"]["reason"]) == ("manual", "cli", "operator says so")
    assert last["changed"] == {"min_score": [80.0, 75.0]} and "recorded_at" in last
    assert store.read_json(PROMOTION_BASELINE.key)["status"] == "superseded"  # the weekly check stops comparing it
    again = runner.invoke(app, ["config", "rollback", "--key", "executor_params"])
    assert again.exit_code == 1 and "nothing to roll back for executor_params" in again.output
    assert len(applied.changes()) == 3


def test_rollback_to_a_date_restores_that_weeks_bytes(applied: ConfigBook) -> None:
    store = applied.store
    result = runner.invoke(app, ["config", "rollback", "--key", "executor_params", "--to", "2022-12-24"])
    assert result.exit_code == 0, result.output
    assert store.read_bytes(EXECUTOR_PARAMS.key) == store.read_bytes(EXECUTOR_PARAMS_HISTORY.format("2022-12-24"))
    missing = runner.invoke(app, ["config", "rollback", "--key", "executor_params", "--to", "2022-01-01"])
    assert missing.exit_code == 1 and "applied on: 2022-12-24, 2022-12-31" in missing.output


def test_show_prints_what_is_in_force(applied: ConfigBook) -> None:
    shown = json.loads(runner.invoke(app, ["config", "show", "--json"]).output)
    assert shown["executor_params"]["values"]["min_score"] == 80.0 and shown["predictor_params"] is None
    text = runner.invoke(app, ["config", "show", "--key", "predictor_params"]).output
    assert "nothing applied; the settings or defaults are in force" in text


def test_an_empty_workspace_has_nothing_to_roll_back_and_bad_arguments_are_usage_errors(workspace: Path) -> None:
    result = runner.invoke(app, ["config", "rollback", "--all", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "ConfigChangeError"
    assert not (workspace / "artifacts" / "config").exists()
    assert runner.invoke(app, ["config", "rollback"]).exit_code == 64  # neither --key nor --all
    assert runner.invoke(app, ["config", "rollback", "--key", "nope"]).exit_code == 64
    assert runner.invoke(app, ["config", "rollback", "--all", "--to", "2022-12-24"]).exit_code == 64
    assert runner.invoke(app, ["config", "history"]).output.strip() == "(no config changes recorded)"


def test_rollback_is_refused_while_a_run_holds_the_workspace(applied: ConfigBook, workspace: Path) -> None:
    """The Evaluator of a running execution may write config: a rollback then waits its turn (exit 75)."""
    from alpha_engine.pipeline import WorkspaceLock

    before = applied.store.read_bytes(EXECUTOR_PARAMS.key)
    with WorkspaceLock(workspace, command="run", execution="saturday-2022-12-31-test"):
        busy = runner.invoke(app, ["config", "rollback", "--key", "executor_params"])
    assert busy.exit_code == 75, busy.output
    assert "saturday-2022-12-31-test" in busy.output and "is busy" in busy.output
    assert applied.store.read_bytes(EXECUTOR_PARAMS.key) == before and len(applied.changes()) == 2
    assert runner.invoke(app, ["config", "rollback", "--key", "executor_params"]).exit_code == 0  # lock released
