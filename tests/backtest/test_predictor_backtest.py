"""PredictorBacktest's computation on planted panels: daily signals from predictions, the GBM veto
rule, the veto-threshold sweep (recommends on planted skill, keeps on a null), point-in-time
parity (a planted mismatch), and the causality check of the refits (a planted leak)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from alpha_engine.backtest import (
    BacktestInputs,
    CausalityError,
    CausalPredictions,
    ExecutorConfig,
    PredictorBacktestOptions,
    Refit,
    check_causal_refits,
    gbm_vetoes,
    pit_parity,
    predictor_signal_arrays,
    recommend_veto,
    run_predictor_backtest,
    synthetic_inputs,
)
from alpha_engine.backtest._portfolio_stats import Interval

LOG = logging.getLogger("test")
N_TICKERS, N_DAYS = 40, 700
# Every scored name is an ENTER and the book can hold all of them; no gate but the veto stands in the way.
OPTIONS = PredictorBacktestOptions(min_score=0.0, top_n=N_TICKERS, n_bootstrap=400, alpha_weight=0.0)
CURRENT = ExecutorConfig(min_score=0.0, max_position_pct=0.02, max_sector_pct=1.0, momentum_gate=-1.0, circuit_breaker=1.0,
                         correlation_threshold=1.0)
CONTEXT = {"run_date": "2022-12-31", "as_of_session": "2022-12-30", "seed": 7, "caveats": []}


def _panel(seed: int, drift: np.ndarray) -> BacktestInputs:
    base = synthetic_inputs(N_TICKERS, N_DAYS, seed=seed, gap_probability=0.0)
    rng = np.random.default_rng(seed)
    returns = drift[None, :] + 0.01 * rng.standard_normal((N_DAYS, N_TICKERS))
    close = np.ascontiguousarray(50.0 * np.exp(np.cumsum(returns, axis=0)))
    return replace(base, close=close)


def _predictions(inputs: BacktestInputs, alpha: np.ndarray, confidence: np.ndarray) -> CausalPredictions:
    days = inputs.dates.astype("datetime64[D]")
    first = date.fromisoformat(str(days[0]))
    refit = Refit(anchor=first, trained_through=date(2014, 1, 1), label_ends=date(2014, 2, 1),
                  predicts=(first, date.fromisoformat(str(days[-1]))), rows=0, version="planted", cached=False,
                  seconds=0.0)
    return CausalPredictions(champion="planted", config={}, dates=days, tickers=inputs.tickers,
                             alpha=np.ascontiguousarray(alpha), confidence=np.ascontiguousarray(confidence),
                             refit_of=np.zeros(len(days), np.int64), refits=(refit,), unpredicted=0, label_span=22)


def test_the_gbm_veto_is_the_predictors_rule_negative_alpha_bottom_half_and_confident() -> None:
    alpha = np.array([[0.02, 0.01, -0.01, -0.02], [-0.01, np.nan, -0.02, 0.03]])
    confidence = np.array([[0.9, 0.9, 0.9, 0.6], [0.9, 0.9, 0.9, 0.9]])
    # N counts the predicted names of the row (the document has no row without a prediction)
    assert gbm_vetoes(alpha, confidence, 0.65).tolist() == [[False, False, True, False], [True, False, True, False]]
    assert gbm_vetoes(alpha, confidence, 0.55).tolist() == [[False, False, True, True], [True, False, True, False]]


def test_signals_of_a_day_apply_on_the_next_and_the_alpha_term_is_bounded() -> None:
    inputs = _panel(0, np.zeros(N_TICKERS))
    alpha = np.full(inputs.close.shape, np.nan)
    alpha[300] = 1.0  # +500 points before the cap: capped at +10
    arrays = predictor_signal_arrays(inputs.dates, inputs.close, alpha, min_score=70.0, top_n=5, exit_below=30.0)
    assert np.flatnonzero(arrays["signal_day"]).tolist() == [301]
    without = predictor_signal_arrays(inputs.dates, inputs.close, np.where(np.isnan(alpha), np.nan, 0.0),
                                      min_score=70.0, top_n=5, exit_below=30.0)
    assert np.allclose(arrays["score"][301], np.minimum(without["score"][301] + 10.0, 100.0))
    assert int((arrays["action"][301] == 1).sum()) <= 5


def _planted_skill() -> tuple[BacktestInputs, CausalPredictions]:
    bad = np.arange(N_TICKERS) < N_TICKERS // 2
    inputs = _panel(1, np.where(bad, -0.002, 0.001))
    alpha = np.broadcast_to(np.where(bad, -0.05, 0.05), inputs.close.shape).copy()
    # the losers are called confidently enough for a 0.55 floor, not for the current 0.65
    confidence = np.broadcast_to(np.where(bad, 0.58, 0.9), inputs.close.shape).copy()
    return inputs, _predictions(inputs, alpha, confidence)


def test_the_sweep_recommends_a_threshold_that_vetoes_planted_losers() -> None:
    inputs, predictions = _planted_skill()
    run = run_predictor_backtest(inputs, predictions, OPTIONS, current=CURRENT, current_veto=0.65, seed=7, context=CONTEXT, log=LOG)
    rec = run.recommendation
    assert rec["recommendation"] == "apply", rec["reasons"]
    assert rec["recommended_veto_confidence"] in (0.5, 0.55) and rec["current_veto_confidence"] == 0.65
    assert rec["sharpe_difference"]["ci_low"] > 0
    rows = {r["veto_confidence"]: r for r in run.sweep["rows"]}
    assert rows[0.55]["vetoes"] > 0 and rows[0.6]["vetoes"] == 0
    assert rows[0.55]["vs_no_veto"]["ci_low"] > 0


def test_the_sweep_keeps_the_current_threshold_on_a_null_panel() -> None:
    inputs = _panel(2, np.full(N_TICKERS, 0.0003))
    rng = np.random.default_rng(3)
    alpha = rng.normal(0.0, 0.02, inputs.close.shape)
    confidence = rng.uniform(0.0, 1.0, inputs.close.shape)
    run = run_predictor_backtest(inputs, _predictions(inputs, alpha, confidence), OPTIONS, current=CURRENT, current_veto=0.65, seed=7,
                                 context=CONTEXT, log=LOG)
    rec = run.recommendation
    assert rec["recommendation"] == "keep" and rec["recommended_veto_confidence"] == 0.65, rec["reasons"]
    assert all(r["vetoes"] > 0 for r in run.sweep["rows"])


def test_a_recommendation_applies_only_above_zero() -> None:
    inside = Interval(0.3, -0.01, 0.6, 0.99)
    assert recommend_veto(current=0.65, best=0.55, versus_current=inside, vetoes=10).action == "keep"
    above = Interval(0.3, 0.01, 0.6, 0.99)
    assert recommend_veto(current=0.65, best=0.55, versus_current=above, vetoes=10).action == "apply"
    assert recommend_veto(current=0.65, best=0.55, versus_current=above, vetoes=0).action == "keep"


def test_the_documents_are_the_same_bytes_twice() -> None:
    import json

    inputs, predictions = _planted_skill()
    runs = [run_predictor_backtest(inputs, predictions, OPTIONS, current=CURRENT, current_veto=0.65, seed=7, context=CONTEXT, log=LOG)
            for _ in range(2)]
    for name in ("stats", "sweep", "recommendation"):
        first, second = (json.dumps(getattr(r, name), sort_keys=True) for r in runs)
        assert first == second


def test_pit_parity_flags_a_planted_mismatch_and_a_missing_model() -> None:
    stored = {"model_version": "v1", "predictions": [{"ticker": "A", "predicted_alpha": 0.012345},
                                                     {"ticker": "B", "predicted_alpha": -0.002}]}
    same = {"A": 0.0123453, "B": -0.0020004}  # within the stored 6-decimal rounding
    report = pit_parity([(date(2022, 12, 31), stored)], {date(2022, 12, 31): same})
    assert (report["matches"], report["mismatches"]) == (1, 0)
    planted = {"A": 0.012345, "B": -0.0021}
    report = pit_parity([(date(2022, 12, 31), stored)], {date(2022, 12, 31): planted})
    assert report["mismatches"] == 1 and report["rows"][0]["mismatches"] == [
        {"ticker": "B", "stored": -0.002, "replayed": -0.0021}]
    report = pit_parity([(date(2022, 12, 31), stored)], {date(2022, 12, 31): None})
    assert (report["missing_models"], report["mismatches"]) == (1, 0)


def test_a_refit_whose_labels_reach_its_anchor_is_refused() -> None:
    inputs, predictions = _planted_skill()
    leaking = replace(predictions.refits[0], label_ends=predictions.refits[0].anchor)
    with pytest.raises(CausalityError, match="trained on labels ending .* not before its anchor"):
        check_causal_refits(replace(predictions, refits=(leaking,)))


def test_a_prediction_dated_before_its_refits_anchor_is_refused() -> None:
    inputs, predictions = _planted_skill()
    late = replace(predictions.refits[0], anchor=date(2016, 1, 4))
    with pytest.raises(CausalityError, match="predicted .* earlier date"):
        check_causal_refits(replace(predictions, refits=(late,)))
    check_causal_refits(predictions)  # the honest one passes
