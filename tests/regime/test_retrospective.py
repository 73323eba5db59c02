"""Scoring earlier regime calls: perfect calls score best, a missed bear week costs twice."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from alpha_engine.regime import (
    RegimeCall,
    RegimeRetrospectiveOptions,
    build_retrospective,
    score_calls,
    weekly_inputs,
)

WEEKS = [f"2022-{m:02d}-{d:02d}" for m, d in [(1, 7), (1, 14), (1, 21), (1, 28), (2, 4), (2, 11), (2, 18),
                                             (2, 25), (3, 4), (3, 11)]]
REFERENCE = dict(zip(WEEKS, ["bull", "bull", "neutral", "bear", "bear", "bear", "neutral", "bull", "bull", "bear"],
                     strict=True))
ONE_HOT = {"bear": (1.0, 0.0, 0.0), "neutral": (0.0, 1.0, 0.0), "bull": (0.0, 0.0, 1.0)}


def _calls(labels: dict[str, str]) -> list[RegimeCall]:
    return [RegimeCall(date=w, week=w, label=label, probabilities=dict(zip(("bear", "neutral", "bull"),
                                                                            ONE_HOT[label], strict=True)))
            for w, label in labels.items()]


def test_perfect_calls_score_best() -> None:
    perfect = score_calls(_calls(REFERENCE), REFERENCE, n_bootstrap=500)
    assert perfect["metrics"]["weighted_accuracy"] == {"estimate": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert perfect["metrics"]["mean_cost"]["estimate"] == 0.0
    assert perfect["metrics"]["weighted_brier"]["estimate"] == 0.0
    always_bull = score_calls(_calls(dict.fromkeys(REFERENCE, "bull")), REFERENCE, n_bootstrap=500)
    assert always_bull["metrics"]["weighted_accuracy"]["estimate"] < 1.0
    assert always_bull["bear"] == {"reference_weeks": 4, "missed": 4, "recall": 0.0}


def test_a_missed_bear_week_costs_twice_any_other_miss() -> None:
    miss_bear = {**REFERENCE, WEEKS[3]: "neutral"}  # a bear week called neutral
    miss_bull = {**REFERENCE, WEEKS[0]: "neutral"}  # a bull week called neutral
    bear = score_calls(_calls(miss_bear), REFERENCE, n_bootstrap=200)
    bull = score_calls(_calls(miss_bull), REFERENCE, n_bootstrap=200)
    assert bear["metrics"]["mean_cost"]["estimate"] == pytest.approx(2 * bull["metrics"]["mean_cost"]["estimate"])
    assert [c["cost"] for c in bear["calls"] if c["cost"]] == [2.0]
    assert bear["metrics"]["weighted_accuracy"]["estimate"] < bull["metrics"]["weighted_accuracy"]["estimate"]
    assert bear["confusion"]["neutral"]["bear"] == 1


def test_intervals_bracket_the_estimate_and_repeat_for_a_seed() -> None:
    noisy = {w: ("bull" if i % 3 else "bear") for i, w in enumerate(WEEKS)}
    first = score_calls(_calls(noisy), REFERENCE, n_bootstrap=1000, seed=5)
    assert first == score_calls(_calls(noisy), REFERENCE, n_bootstrap=1000, seed=5)
    for metric in first["metrics"].values():
        assert metric["ci_low"] <= metric["estimate"] <= metric["ci_high"]
        assert metric["ci_low"] < metric["ci_high"]


def test_a_call_for_a_week_the_reference_lacks_is_named() -> None:
    with pytest.raises(ValueError, match="call of 2021-01-01 is for week 2021-01-01"):
        score_calls(_calls({"2021-01-01": "bull"}), REFERENCE)


def _weekly_close() -> pd.Series:
    days = pd.bdate_range("2016-01-01", "2020-12-31")
    return pd.Series(100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0.0003, 0.01, len(days)))), index=days)


OPTIONS = RegimeRetrospectiveOptions(n_init=1, n_iter=50, min_calls=4, n_bootstrap=200)


def test_fewer_scorable_calls_than_min_calls_is_insufficient_history_not_a_failure() -> None:
    inputs = weekly_inputs("IDX", _weekly_close(), {}, date(2020, 12, 31))
    recent = _calls({"2020-12-04": "bull", "2020-12-11": "bull", "2020-11-27": "bear"})  # within 8 weeks
    old = _calls({"2020-06-05": "bull"})
    doc = build_retrospective([*recent, *old], inputs, OPTIONS, seed=0, run_date=date(2021, 1, 2))
    assert doc["status"] == "insufficient_history" and doc["message"].startswith("insufficient history (1 calls)")
    assert (doc["n_calls_found"], doc["n_calls_too_recent"], doc["n_scorable"]) == (4, 3, 1)
    assert doc["metrics"] is None and doc["calls"] == []


def test_calls_equal_to_the_smoother_score_perfectly_and_the_lag_is_respected() -> None:
    from alpha_engine.regime import STATE_LABELS, fit_regime_hmm

    inputs = weekly_inputs("IDX", _weekly_close(), {}, date(2020, 12, 31))
    x = inputs.hmm_features().to_numpy()
    weeks = [w.date().isoformat() for w in inputs.hmm_features().index]
    hindsight = fit_regime_hmm(x, seed=0, n_init=1, n_iter=50).smoothed(x).argmax(axis=1)
    planted = {weeks[i]: STATE_LABELS[hindsight[i]] for i in range(len(weeks) - 20, len(weeks))}
    doc = build_retrospective(_calls(planted), inputs, OPTIONS, seed=0, run_date=date(2021, 1, 2))
    assert doc["status"] == "scored"
    assert (doc["n_scorable"], doc["n_calls_too_recent"]) == (12, 8)
    assert doc["metrics"]["weighted_accuracy"]["estimate"] == 1.0
