"""The promotion gate on nulls and on a planted signal, end to end through train_predictor.

Small panel (30 tickers x 900 days, the walk-forward sizes of the other training tests), so
these are fixed-seed specifications, not rates: ``bench/bench_predictor_null.py`` measures the
false-promotion rate and the power over many draws.

* ticker permutation: ticker pi(i) gets ticker i's labels on every date (persistence kept, the
  link between a ticker's features and its own returns broken);
* time shift: each ticker's labelled series shifted circularly by its own offset >= 2 x horizon;
* planted signal: ``momentum_score`` (an L2 input) replaced by rho x (normal score of the label's
  rank on its date) + noise, an oracle with mean daily Spearman IC ~0.3.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, rankdata

from alpha_engine.data import compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, train_predictor
from alpha_engine.predictor._promotion import paired_ic_test, skill_gate
from alpha_engine.predictor._training import TrainingResult
from alpha_engine.store import panel_from_frames

HORIZON = 21
# n_boot and randomization_draws only speed things up: the gate reads neither.
CONFIG = TrainingConfig(horizon=HORIZON, min_train_dates=252, test_dates=63, meta_min_train_dates=126, n_boot=1,
                        randomization_draws=1, vol_estimators=20, seed=7)
# Seed 0 of the permutation null is promoted on this panel (see the xfail below), so the refusal
# specs use seeds 1-3 for both nulls.
NULL_SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    bars, macro = synthetic_bars(30, 900, seed=3)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    data, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=HORIZON, label_clip=0.15)
    return data


def _wide(dataset: pd.DataFrame, column: str) -> np.ndarray:
    """``column`` on the (date x ticker) grid; the synthetic panel has every ticker on every date."""
    wide: np.ndarray = dataset[column].unstack("ticker").to_numpy(dtype=np.float64)
    return wide


def _with_column(dataset: pd.DataFrame, column: str, wide: np.ndarray) -> pd.DataFrame:
    altered = dataset.copy()
    altered[column] = wide.ravel()  # the index is (date, ticker), sorted: row-major order of the grid
    return altered


def _permute_tickers(dataset: pd.DataFrame, seed: int) -> pd.DataFrame:
    label = _wide(dataset, "label")
    permuted = np.empty_like(label)
    permuted[:, np.random.default_rng(seed).permutation(label.shape[1])] = label
    return _with_column(dataset, "label", permuted)


def _shift_in_time(dataset: pd.DataFrame, seed: int) -> pd.DataFrame:
    label = _wide(dataset, "label")
    labelled = np.flatnonzero(np.isfinite(label).all(axis=1))
    n, n_tickers = len(labelled), label.shape[1]
    offsets = np.random.default_rng(seed).integers(2 * HORIZON, n - 2 * HORIZON + 1, size=n_tickers)
    shifted = label.copy()
    shifted[labelled] = label[labelled][(np.arange(n)[:, None] - offsets) % n, np.arange(n_tickers)]
    return _with_column(dataset, "label", shifted)


def _plant_signal(dataset: pd.DataFrame, target_ic: float, seed: int) -> pd.DataFrame:
    label = _wide(dataset, "label")
    known = np.isfinite(label)
    rho = 2.0 * math.sin(math.pi * target_ic / 6.0)  # Gaussian copula: Spearman target_ic
    scores = norm.ppf((rankdata(np.where(known, label, np.inf), axis=1) - 0.5) / np.maximum(known.sum(1, keepdims=True), 1))
    noise = np.random.default_rng(seed).standard_normal(label.shape)
    return _with_column(dataset, "momentum_score", np.where(known, rho * scores + math.sqrt(1 - rho * rho) * noise, noise))


def _oracle_ic(dataset: pd.DataFrame) -> float:
    signal, label = _wide(dataset, "momentum_score"), _wide(dataset, "label")
    dates = np.isfinite(label).all(axis=1)
    return float(np.mean([np.corrcoef(rankdata(s), rankdata(y))[0, 1] for s, y in zip(signal[dates], label[dates],
                                                                                         strict=True)]))


def _train(dataset: pd.DataFrame) -> TrainingResult:
    return train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})


NULLS = {"ticker permutation": _permute_tickers, "time shift": _shift_in_time}


@pytest.fixture(scope="module")
def nulls(dataset: pd.DataFrame) -> dict[tuple[str, int], TrainingResult]:
    return {(name, seed): _train(make(dataset, seed)) for name, make in NULLS.items() for seed in NULL_SEEDS}


@pytest.fixture(scope="module")
def planted(dataset: pd.DataFrame) -> TrainingResult:
    data = _plant_signal(dataset, 0.3, seed=0)
    assert _oracle_ic(data) == pytest.approx(0.3, abs=0.02)
    return _train(data)


@pytest.mark.parametrize("seed", NULL_SEEDS)
@pytest.mark.parametrize("null", list(NULLS))
def test_the_skill_gate_refuses_a_model_trained_on_null_labels(
        nulls: dict[tuple[str, int], TrainingResult], null: str, seed: int) -> None:
    gate = skill_gate(nulls[null, seed].manifest["validation"])
    assert not gate["passes"] and not gate["by_ci"] and not gate["by_dsr"], gate["reason"]


def test_the_old_rule_cpcv_mean_ic_above_zero_would_promote_some_of_those_nulls(
        nulls: dict[tuple[str, int], TrainingResult]) -> None:
    promoted_by_old_rule = [key for key, result in nulls.items() if result.manifest["validation"]["cpcv"]["mean_ic"] > 0]
    assert promoted_by_old_rule, "no null had a positive CPCV mean IC: this spec no longer shows the old rule's flaw"
    assert not any(skill_gate(nulls[key].manifest["validation"])["passes"] for key in promoted_by_old_rule)


@pytest.mark.xfail(strict=True, reason="a known false promotion on this small panel (the bench measures the rate): "
                                       "IC 0.055, Newey-West CI lower bound 0.008, PSR 0.98")
def test_the_skill_gate_refuses_permutation_seed_0(dataset: pd.DataFrame) -> None:
    gate = skill_gate(_train(_permute_tickers(dataset, 0)).manifest["validation"])
    assert not gate["passes"], gate["reason"]


def test_a_planted_signal_passes_the_skill_gate_with_an_interval_above_zero(planted: TrainingResult) -> None:
    gate = skill_gate(planted.manifest["validation"])
    assert gate["passes"] and gate["by_ci"] and gate["ci_low"] > 0, gate["reason"]
    assert gate["ic_mean"] == pytest.approx(0.3, abs=0.05)


def test_a_planted_signal_model_beats_a_null_model_in_the_paired_test(
        planted: TrainingResult, nulls: dict[tuple[str, int], TrainingResult]) -> None:
    for result in nulls.values():
        test = paired_ic_test(planted.meta_ic, result.meta_ic, lag=2 * HORIZON, alpha=0.05)
        assert test["passes"] and test["n_dates"] > 300, test["reason"]


def test_a_null_model_does_not_beat_a_planted_signal_model_in_the_paired_test(
        planted: TrainingResult, nulls: dict[tuple[str, int], TrainingResult]) -> None:
    for result in nulls.values():
        test = paired_ic_test(result.meta_ic, planted.meta_ic, lag=2 * HORIZON, alpha=0.05)
        assert not test["passes"] and test["mean_difference"] < 0, test["reason"]
