"""train_predictor end to end on small synthetic panels: honest out-of-sample numbers,
determinism, and no skill from shuffled labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data import compute_features, panel_from_frames
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, train_predictor

CONFIG = TrainingConfig(min_train_dates=252, test_dates=63, meta_min_train_dates=126, n_boot=200,
                        vol_estimators=30, seed=7)


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    bars, macro = synthetic_bars(30, 900, seed=3)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    data, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=21, label_clip=0.15)
    return data


def test_training_reports_out_of_sample_statistics_and_a_bundle(dataset: pd.DataFrame) -> None:
    result = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    validation = result.manifest["validation"]
    assert validation["cpcv"]["n_splits"] == 45
    ic = validation["meta_oos_ic"]
    assert ic["ci_low"] <= ic["mean"] <= ic["ci_high"] and ic["n_dates"] > 100
    assert {f.name for f in result.files} == {"volatility_model.txt", "meta_model.json", "calibrator.json",
                                              "feature_list.json", "drift_reference.json"}
    assert result.manifest["models"]["research_calibrator"]["used"] is False
    folds = result.manifest["walk_forward"]["folds"]
    # purge: each fold's training ends at least `horizon` dates before its test block starts
    for fold in folds:
        gap = len(pd.bdate_range(fold["train_end"], fold["test_start"])) - 2
        assert gap >= 21


def test_same_inputs_and_seed_give_identical_bundles(dataset: pd.DataFrame) -> None:
    first = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    second = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    assert [(f.name, f.data) for f in first.files] == [(f.name, f.data) for f in second.files]
    assert first.manifest == second.manifest


def test_shuffled_labels_give_an_ic_whose_interval_contains_zero(dataset: pd.DataFrame) -> None:
    shuffled = dataset.copy()
    rng = np.random.default_rng(0)
    labels = shuffled["label"].to_numpy().copy()
    known = np.flatnonzero(~np.isnan(labels))
    labels[known] = labels[rng.permutation(known)]
    shuffled["label"] = labels
    result = train_predictor(shuffled, CONFIG, data_vintage={"as_of": "synthetic"})
    ic = result.manifest["validation"]["meta_oos_ic"]
    assert ic["ci_low"] <= 0 <= ic["ci_high"]
