"""The Evaluator stage on the bundled sample: alone (seed 000), on a synthetic history with a planted
skill, with a failing module, and rerun (same bytes, one history entry per week)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluator_support import RUN_DATE, copy_workspace, settings_for

import alpha_engine.evaluator._evaluate as evaluate_module
from alpha_engine.pipeline import run_stage

REPORT = "artifacts/evaluator/2022-12-31/report.html"
EVALUATION = "artifacts/evaluator/2022-12-31/evaluation.json"
HISTORY = "artifacts/evaluator/grade_history.json"


def _evaluation(workspace: Path) -> dict[str, object]:
    return dict(json.loads((workspace / EVALUATION).read_text()))


def test_on_an_empty_workspace_the_preflight_names_dataphase1(tmp_path: Path) -> None:
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(tmp_path / "ws"))
    assert report.status == "preflight_failed" and "run DataPhase1 first" in (report.error or "")
    shell = run_stage("evaluator", RUN_DATE, settings=settings_for(tmp_path / "ws2"), preflight_only=True)
    assert shell.status == "ok", shell.error


def test_alone_on_the_sample_with_no_history_every_module_says_why(ingested_sample: Path, tmp_path: Path) -> None:
    # Seed 000: the evaluator reads only stored artifacts, so it runs on its own.
    workspace = copy_workspace(ingested_sample, tmp_path / "ws")
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(workspace))
    assert report.status == "ok", report.error
    evaluation = _evaluation(workspace)
    modules = evaluation["modules"]
    assert isinstance(modules, dict) and {m["status"] for m in modules.values()} == {"skipped"}
    assert "no stored signals" in modules["signal_quality"]["reason"]
    assert evaluation["scorecard"]["overall"]["grade"] is None  # type: ignore[index]
    assert evaluation["verdict"].startswith("Not graded")  # type: ignore[union-attr]
    assert any("survivorship" in c for c in evaluation["caveats"])  # type: ignore[union-attr]
    assert (workspace / REPORT).stat().st_size > 0


def test_a_history_with_planted_skill_is_graded_and_the_skill_found(graded: Path) -> None:
    evaluation = _evaluation(graded)
    modules = evaluation["modules"]
    assert isinstance(modules, dict)
    assert {n: m["status"] for n, m in modules.items()} == {
        "signal_quality": "ok", "attribution": "degraded", "predictor": "ok", "veto": "degraded", "exit_timing": "ok",
        "portfolio": "degraded", "auto_apply": "skipped"}
    assert modules["attribution"]["reason"] == "no stored qual values"  # the synthetic history has none
    quality = modules["signal_quality"]["data"]
    head = quality["horizons"]["10"]
    assert head["n"] >= 150 and head["ci_low"] > 0.5  # the planted skill beats the index
    assert quality["fdr"]["rejected"] <= quality["fdr"]["tests"]
    predictor = modules["predictor"]["data"]
    assert predictor["graded_on"] == "live" and predictor["rank_ic_ci"][0] > 0
    assert set(predictor["live"]["ic_decay"]) == {"1", "5", "10", "21"}
    assert predictor["live"]["calibration"]["n"] >= 50 and predictor["live"]["confusion"]["accuracy"] > 0.5
    assert "backtest" in modules["portfolio"]["reason"]
    scorecard = evaluation["scorecard"]
    assert scorecard["status"] == "ok" and scorecard["overall"]["grade"] is not None  # type: ignore[index]
    assert scorecard["groups"]["executor"]["components"]["triggers"]["reason"].startswith("not measurable")  # type: ignore[index]
    assert evaluation["verdict"].startswith("Overall ")  # type: ignore[union-attr]


def test_a_rerun_writes_the_same_bytes_and_one_history_entry(graded: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(graded, tmp_path / "ws")
    before = {p: (workspace / p).read_bytes() for p in (REPORT, EVALUATION, HISTORY)}
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(workspace))
    assert report.status == "ok", report.error
    assert {p: (workspace / p).read_bytes() for p in before} == before
    assert [e["date"] for e in json.loads(before[HISTORY])["entries"]] == ["2022-12-31"]


def test_a_short_window_grades_fewer_dates(history_workspace: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(history_workspace, tmp_path / "ws")
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(workspace, "lookback_weeks = 8\n"))
    assert report.status == "ok", report.error
    evaluation = _evaluation(workspace)
    assert evaluation["window"]["signal_dates"] == 9  # type: ignore[index]
    quality = evaluation["modules"]["signal_quality"]  # type: ignore[index]
    assert quality["status"] == "degraded" and "under the floor of 20" in quality["reason"]
    thin = [s for s in quality["data"]["slices"] if s["status"] == "insufficient_data"]
    assert thin and all("hit_rate" not in s and "p_value" not in s for s in thin)  # a count, never a rate
    assert ("sector", "Industrials") in {(s["dimension"], s["value"]) for s in thin}  # GE alone: 8 weeks


def test_one_module_error_never_stops_the_others_and_is_reported(history_workspace: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = copy_workspace(history_workspace, tmp_path / "ws")

    def broken(inputs: object) -> object:
        raise ValueError("planted failure")

    monkeypatch.setitem(evaluate_module.MODULES, "veto", broken)
    report = run_stage("evaluator", RUN_DATE, settings=settings_for(workspace))
    assert report.status == "ok", report.error
    evaluation = _evaluation(workspace)
    modules = evaluation["modules"]
    assert modules["veto"] == {"status": "error", "reason": "ValueError: planted failure"}  # type: ignore[index]
    assert modules["predictor"]["status"] == "ok" and evaluation["status"] == "degraded"  # type: ignore[index]
    assert evaluation["completeness"]["error"] == 1  # type: ignore[index]
    assert "veto error" in evaluation["verdict"]  # type: ignore[operator]
    assert any("veto" in w for w in report.warnings)
