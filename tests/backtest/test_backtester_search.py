"""The Backtester's search, holdout and recommendation on seeded synthetic panels: the split is
chronological (a planted leak is caught), an overfit winner is not recommended, a low completion
refuses, the synthetic signals are causal, and the same inputs give the same documents."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pytest

import alpha_engine.backtest._backtester as backtester_module
from alpha_engine.backtest import (
    BacktesterOptions,
    BacktestInputs,
    ExecutorConfig,
    HoldoutLeakError,
    check_holdout_split,
    optimizer_gate,
    recommend_executor,
    run_backtester,
    search_candidates,
    stationary_bootstrap_indices,
    synthetic_inputs,
    synthetic_signal_arrays,
)

LOG = logging.getLogger("test")
CONTEXT = {"run_date": "2024-01-06", "as_of_session": "2024-01-05", "seed": 3, "signal_source": "synthetic",
           "caveats": ["synthetic panel"]}
SMALL = BacktesterOptions(n_trials=12, n_bootstrap=300, parity_check=False)


@pytest.fixture(scope="module")
def noise() -> BacktestInputs:
    """Random-walk closes and random signals: nothing to find, so any search winner is overfit."""
    return synthetic_inputs(40, 900, seed=11)


def test_a_chronological_split_passes_and_an_overlap_is_named() -> None:
    days = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-03-01"))
    check_holdout_split(days[:40], days[40:])
    with pytest.raises(HoldoutLeakError, match="not chronological.*reaches 2024-02-10.*1 search day"):
        check_holdout_split(days[:41], days[40:])
    with pytest.raises(HoldoutLeakError, match="both need days"):
        check_holdout_split(days[:0], days)


def test_a_search_that_sees_the_holdout_is_caught(noise: BacktestInputs, monkeypatch: pytest.MonkeyPatch) -> None:
    real = backtester_module.slice_inputs

    def leaky(inputs: BacktestInputs, start: int, stop: int) -> BacktestInputs:
        return inputs if start == 0 else real(inputs, start, stop)  # the "search part" is the whole window

    monkeypatch.setattr(backtester_module, "slice_inputs", leaky)
    with pytest.raises(HoldoutLeakError, match="not chronological"):
        run_backtester(noise, SMALL, current=ExecutorConfig(), seed=3, context=CONTEXT, log=LOG)


def test_the_candidates_start_with_the_current_params_and_are_seeded() -> None:
    current = ExecutorConfig(min_score=72.0)  # off the grid: the grid is seeded with it
    grid = {"min_score": (65.0, 70.0, 75.0), "atr_multiplier": (2.0, 3.0)}
    first, total = search_candidates(current, grid, mode="random", n_trials=4, seed=5)
    assert total == 4 * 2 and first[0] == {"atr_multiplier": 3.0, "min_score": 72.0}
    assert len({json.dumps(p, sort_keys=True) for p in first}) == len(first)
    assert search_candidates(current, grid, mode="random", n_trials=4, seed=5)[0] == first
    everything, _ = search_candidates(current, grid, mode="grid", n_trials=1, seed=5)
    assert len(everything) == 8 and {"atr_multiplier": 2.0, "min_score": 72.0} in everything


def _series(seed: int, mean: float, n: int = 500) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 0.01, n)


def test_a_planted_overfit_winner_is_not_recommended() -> None:
    # In-sample it looked great (search Sharpe 2.5); on the holdout it is no better than the current params.
    current, selected = _series(1, 0.0004), _series(2, 0.0003)
    indices = stationary_bootstrap_indices(500, n_resamples=500, mean_block=20, seed=0)
    difference = optimizer_gate(selected, current, indices=indices, confidence=0.95).sharpe_difference
    rec = recommend_executor(completion=1.0, min_completion=0.5, selected_is_current=False, search_trades=200,
                             min_trades=20, search_sharpe=2.5, holdout_sharpe=0.5, holdout_difference=difference)
    assert rec.action == "keep"
    assert any("overfit" in r for r in rec.reasons) and any("does not lie above 0" in r for r in rec.reasons)


def test_a_real_holdout_improvement_is_recommended() -> None:
    current, selected = _series(1, 0.0), _series(1, 0.0) + 0.002  # the same days, a steady edge
    indices = stationary_bootstrap_indices(500, n_resamples=500, mean_block=20, seed=0)
    difference = optimizer_gate(selected, current, indices=indices, confidence=0.95).sharpe_difference
    rec = recommend_executor(completion=1.0, min_completion=0.5, selected_is_current=False, search_trades=200,
                             min_trades=20, search_sharpe=2.0, holdout_sharpe=2.5, holdout_difference=difference)
    assert difference.ci_low > 0 and rec.action == "apply"


def test_on_noise_the_search_winner_is_kept_out(noise: BacktestInputs) -> None:
    run = run_backtester(noise, SMALL, current=ExecutorConfig(), seed=3, context=CONTEXT, log=LOG)
    rec = run.executor_rec
    assert rec["changed"], "the search found an in-sample winner other than the current params"
    assert rec["selected"]["search_score"] > rec["baseline"]["search_score"]
    assert rec["recommendation"] == "keep", rec["reasons"]
    assert rec["holdout_sharpe_difference"]["ci_low"] <= 0


def test_a_search_that_mostly_fails_refuses(noise: BacktestInputs) -> None:
    options = BacktesterOptions(grid={"time_decay_reduce_days": (5.0, 30.0, 40.0, 50.0)}, search="grid",
                                n_bootstrap=300, parity_check=False)
    run = run_backtester(noise, options, current=ExecutorConfig(), seed=3, context=CONTEXT, log=LOG)
    statuses = [row["status"] for row in run.sweep["rows"]]
    assert sum(s.startswith("invalid") for s in statuses) == 3 and run.sweep["low_completion"] is True
    assert run.executor_rec["recommendation"] == "refused"


def test_the_same_inputs_and_seed_give_the_same_documents(noise: BacktestInputs) -> None:
    def dump(seed: int) -> str:
        run = run_backtester(noise, SMALL, current=ExecutorConfig(), seed=seed, context=CONTEXT, log=LOG)
        documents: dict[str, Any] = {"stats": run.portfolio_stats, "sweep": run.sweep, "rec": run.executor_rec}
        return json.dumps(documents, sort_keys=True, allow_nan=False)

    assert dump(3) == dump(3)
    assert dump(3) != dump(4)  # the seed drives the draws and the bootstrap


def test_the_parity_spot_check_runs_the_scalar_reference(noise: BacktestInputs) -> None:
    options = BacktesterOptions(n_trials=2, n_bootstrap=200)
    parity = run_backtester(noise, options, current=ExecutorConfig(), seed=3, context=CONTEXT, log=LOG).portfolio_stats["parity"]
    assert parity["checked"] is True and parity["passed"] is True and parity["orders"] > 0


def test_synthetic_signals_use_only_closes_before_the_day_they_apply() -> None:
    panel = synthetic_inputs(15, 400, seed=2)
    close = np.nan_to_num(panel.close, nan=50.0)
    arrays = synthetic_signal_arrays(panel.dates, close, min_score=60.0, top_n=5, exit_below=35.0)
    assert arrays["signal_day"].sum() > 20 and (arrays["action"] == 1).any()
    cut = 300
    changed = close.copy()
    changed[cut:] *= np.linspace(0.5, 2.0, changed.shape[1])  # rewrite the future from day `cut` on
    again = synthetic_signal_arrays(panel.dates, changed, min_score=60.0, top_n=5, exit_below=35.0)
    for name in ("signal_day", "action", "score"):
        assert np.array_equal(arrays[name][:cut + 1], again[name][:cut + 1], equal_nan=name == "score"), name
