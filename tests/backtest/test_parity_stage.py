"""The Parity stage on the bundled sample, end to end through the stage runner: the week's
decisions of the scalar executor replay and the vectorized kernel agree; a planted divergence is a
warning naming the first difference (never a failed run); the trend is idempotent per run_date;
a rerun writes the same bytes; a preflight writes nothing. And the metrics on hand-built logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alpha_engine.backtest import (
    PARITY_HISTORY,
    PARITY_REPORT,
    DecisionLog,
    Parity,
    _scalar,
    _vector,
    compare_decisions,
    decisions_from_trade_log,
    parity_sessions,
)
from alpha_engine.config import Settings
from alpha_engine.pipeline import FailureClass, run_stage

from .conftest import copy_workspace, read_artifact, stage_settings, workspace_files

RUN_DATE = date(2022, 12, 31)
WEEK = ["2022-12-27", "2022-12-28"]  # the sample's last sessions after Saturday 2022-12-24


def _settings(workspace: Path, options: str = "") -> Settings:
    return stage_settings(workspace, "parity", options)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


@pytest.fixture(scope="module")
def ran(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    workspace = copy_workspace(ingested, tmp_path_factory.mktemp("ran") / "ws")
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace, report


def test_on_the_sample_the_kernel_agrees_with_the_executor_replay_over_the_week(ran: tuple[Path, Any]) -> None:
    workspace, report = ran
    document = read_artifact(workspace, PARITY_REPORT.format(RUN_DATE))
    assert document["status"] == "agree" and document["sessions"] == {"selection": "week", "dates": WEEK}
    vectorized = document["comparisons"]["vectorized"]
    assert (vectorized["reference"], vectorized["other"]) == ("scalar", "vectorized")
    assert vectorized["capture_rate"] == 1.0 and vectorized["holdings_jaccard"] == 1.0
    assert vectorized["count_rms"] == 0.0 and vectorized["field_diff_rate"] == 0.0
    assert vectorized["n_reference_orders"] >= 1 and vectorized["differences"] == []
    assert document["comparisons"]["trade_log"] == {
        "key": "executor/trades/2022-12-31/trades.json", "status": "skipped",
        "reason": "no executor trade log at executor/trades/2022-12-31/trades.json"}
    assert document["config_source"] == "factory defaults" and document["config"]["min_score"] == 70.0  # no Backtester run
    assert report.summary["status"] == "agree" and report.summary["trade_log"] == "skipped"
    assert not any("parity:" in w for w in report.warnings)
    history = read_artifact(workspace, PARITY_HISTORY.format(RUN_DATE))
    assert [e["run_date"] for e in history["entries"]] == ["2022-12-31"]
    assert history["entries"][0]["capture_rate"] == 1.0 and history["entries"][0]["trade_log"] == "skipped"


def test_a_rerun_writes_the_same_bytes_and_replaces_its_history_entry(ran: tuple[Path, Any],
                                                                      tmp_path: Path) -> None:
    workspace = copy_workspace(ran[0], tmp_path / "ws")
    before = workspace_files(workspace)
    assert run_stage("parity", RUN_DATE, settings=_settings(workspace)).status == "ok"
    assert workspace_files(workspace) == before


def test_the_trend_keeps_other_run_dates_in_order_and_replaces_a_stale_entry(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    path = workspace / "artifacts" / PARITY_HISTORY.format(RUN_DATE)
    path.parent.mkdir(parents=True)
    old = {"run_date": "2022-12-24", "status": "differ", "sessions": 5, "capture_rate": 0.5, "holdings_jaccard": 0.9,
           "count_rms": 1.0, "field_diff_rate": 0.0, "trade_log": "skipped"}
    stale = {**old, "run_date": "2022-12-31", "capture_rate": 0.1}
    path.write_text(json.dumps({"entries": [stale, old]}), encoding="utf-8")
    for _ in range(2):
        assert run_stage("parity", RUN_DATE, settings=_settings(workspace)).status == "ok"
    entries = read_artifact(workspace, PARITY_HISTORY.format(RUN_DATE))["entries"]
    assert [e["run_date"] for e in entries] == ["2022-12-24", "2022-12-31"]
    assert entries[0] == old and entries[1]["capture_rate"] == 1.0


def _planted(monkeypatch: pytest.MonkeyPatch, **update: Any) -> None:
    """The vectorized side simulates a config changed by ``update``; the reference keeps the real one."""
    real: Callable[..., Any] = _vector.simulate_vectorized

    def changed(inputs: Any, configs: Any, features: Any = None, **kwargs: Any) -> Any:
        return real(inputs, [c.model_copy(update=update) for c in configs], features, **kwargs)

    monkeypatch.setattr(_vector, "simulate_vectorized", changed)


def test_an_unreadable_trend_fails_the_soft_stage_naming_it_before_writing(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    path = workspace / "artifacts" / PARITY_HISTORY.format(RUN_DATE)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"rows": []}), encoding="utf-8")
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace))
    assert report.status == "failed" and "backtest/parity/history.json" in str(report.error)
    assert not (workspace / "artifacts" / PARITY_REPORT.format(RUN_DATE)).exists()


def test_parity_has_its_own_flag_in_the_saturday_definition() -> None:
    from alpha_engine.app import DEFINITION_FILE

    states = json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))["States"]
    assert Parity.skip_flag() == "skip_parity" and Parity.skip_family == ""
    assert states["CheckSkipParity"]["Choices"][0]["And"][1] == {"Variable": "$.skip_parity", "BooleanEquals": True}
    assert states["Parity"]["Catch"][0]["Next"] == "CheckSkipEvaluator"


def test_a_planted_divergence_is_a_warning_naming_the_first_difference(ingested: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    _planted(monkeypatch, min_score=99.0)  # the kernel's entry gate no longer admits what the executor enters
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace, "sessions = 60\n"))
    assert report.status == "ok", report.error  # soft observability: a mismatch never fails the run
    vectorized = read_artifact(workspace, PARITY_REPORT.format(RUN_DATE))["comparisons"]["vectorized"]
    assert vectorized["status"] == "differ" and vectorized["capture_rate"] < 1.0
    assert vectorized["n_reference_only"] > 0 and vectorized["holdings_jaccard"] < 1.0
    first = vectorized["differences"][0]
    assert first.endswith(("scalar only", "]")) and first[:10] >= "2022-09-30"
    (warning,) = [w for w in report.warnings if w.startswith("parity: the vectorized kernel differs")]
    assert first in warning and "capture" in warning
    assert report.summary["status"] == "differ"
    entry = read_artifact(workspace, PARITY_HISTORY.format(RUN_DATE))["entries"][0]
    assert entry["status"] == "differ" and entry["sessions"] == 60 and entry["capture_rate"] < 1.0


def test_a_different_fill_delay_on_the_vectorized_side_is_caught(ingested: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    _planted(monkeypatch, fill_delay_days=0)
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace, "sessions = 60\n"))
    assert report.status == "ok", report.error
    vectorized = read_artifact(workspace, PARITY_REPORT.format(RUN_DATE))["comparisons"]["vectorized"]
    assert vectorized["status"] == "differ" and vectorized["n_differences"] > 0
    assert vectorized["capture_rate"] < 1.0 or vectorized["field_diff_rate"] > 0.0
    assert any(w.startswith("parity: the vectorized kernel differs") for w in report.warnings)


def test_a_crash_in_the_replay_is_a_soft_failure_recorded_by_the_runner(ingested: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted crash in the scalar replay")

    monkeypatch.setattr(_scalar, "simulate_scalar", boom)
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace))
    assert Parity.failure_class is FailureClass.SOFT
    assert report.status == "failed" and "planted crash" in str(report.error)
    assert not (workspace / "artifacts" / PARITY_REPORT.format(RUN_DATE)).exists()


def test_a_trade_log_when_present_is_compared_with_the_reference(ingested: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(ingested, tmp_path / "ws")
    key = "executor/trades/2022-12-31/trades.json"
    log = workspace / "artifacts" / key
    log.parent.mkdir(parents=True)
    log.write_text(json.dumps({"orders": [{"date": WEEK[0], "ticker": "ZZZ", "action": "ENTER", "shares": 3,
                                           "price": 10.0}]}), encoding="utf-8")
    report = run_stage("parity", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    trade_log = read_artifact(workspace, PARITY_REPORT.format(RUN_DATE))["comparisons"]["trade_log"]
    assert trade_log["status"] == "differ" and trade_log["key"] == key and trade_log["n_other_only"] == 1
    assert trade_log["holdings_jaccard"] is None  # the log gave no holdings
    assert any(w.startswith("parity: the executor trade log differs") and "ZZZ ENTER 3" in w for w in report.warnings)


def test_a_shell_run_writes_nothing_on_an_empty_workspace_or_on_real_data(ingested: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    report = run_stage("parity", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(settings.workspace) == {"config.toml": (settings.workspace / "config.toml").read_bytes()}
    before = workspace_files(ingested)
    report = run_stage("parity", RUN_DATE, settings=_settings(ingested), preflight_only=True)
    assert report.status == "ok", report.error
    assert workspace_files(ingested) == before


def test_a_bad_trade_log_template_fails_the_preflight_naming_the_option(tmp_path: Path) -> None:
    report = run_stage("parity", RUN_DATE, settings=_settings(tmp_path / "ws", 'trade_log = "x/{week}.json"\n'),
                       preflight_only=True)
    assert report.status == "preflight_failed" and "trade_log" in str(report.error)


def test_the_week_is_the_sessions_after_the_previous_saturday() -> None:
    dates = np.arange(np.datetime64("2022-12-19"), np.datetime64("2023-01-03"))
    days = [str(dates[i]) for i in parity_sessions(dates, RUN_DATE)]
    assert days == ["2022-12-25", "2022-12-26", "2022-12-27", "2022-12-28", "2022-12-29", "2022-12-30",
                    "2022-12-31"]
    assert [str(dates[i]) for i in parity_sessions(dates, date(2022, 12, 30))] == \
        ["2022-12-25", "2022-12-26", "2022-12-27", "2022-12-28", "2022-12-29", "2022-12-30"]
    assert [str(dates[i]) for i in parity_sessions(dates, RUN_DATE, 2)] == ["2022-12-30", "2022-12-31"]


def _log(name: str, orders: list[dict[str, Any]], holdings: dict[str, set[str]]) -> DecisionLog:
    return DecisionLog(name, tuple(orders), {d: frozenset(h) for d, h in holdings.items()})


def test_the_metrics_on_hand_built_logs() -> None:
    days = ["2024-01-02", "2024-01-03"]
    enter = {"date": days[0], "ticker": "A", "action": "ENTER", "shares": 10, "price": 5.0, "reason": "entry",
             "fill_date": days[1]}
    other_enter = {**enter, "ticker": "B"}
    reference = _log("scalar", [enter, other_enter], {days[0]: set(), days[1]: {"A", "B"}})
    same = compare_decisions(reference, _log("vectorized", [enter, other_enter], {days[0]: set(), days[1]: {"A", "B"}}),
                             days)
    assert same["status"] == "agree" and same["capture_rate"] == 1.0 and same["holdings_jaccard"] == 1.0
    shifted = {**enter, "price": 5.1}
    differ = compare_decisions(reference, _log("vectorized", [shifted], {days[0]: set(), days[1]: {"A"}}), days)
    assert differ["capture_rate"] == 0.5 and differ["field_diff_rate"] == 1.0
    assert differ["holdings_jaccard"] == pytest.approx((1.0 + 0.5) / 2)
    assert differ["count_rms"] == pytest.approx((1 / 2) ** 0.5)  # one order fewer on one of two sessions
    assert differ["differences"][0] == "2024-01-02 A ENTER 10 @ 5.000000: price 5.0 vs 5.1 (scalar vs vectorized)"
    assert compare_decisions(reference, reference, days, limit=1)["differences"] == []
    trade_log = decisions_from_trade_log({"orders": [{**enter, "action": "enter"}, {**enter, "date": "2023-12-29"}]},
                                         days)
    assert [o["action"] for o in trade_log.orders] == ["ENTER"] and trade_log.holdings is None
