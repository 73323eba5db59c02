"""The execution lag end to end: the dataset's label starts at the close the predictions can trade,
and training purges and embargoes horizon + lag dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, train_predictor, vol_bucket_relative_labels
from alpha_engine.predictor._labels import to_long


def _frames(n_tickers: int, n_days: int, seed: int) -> tuple[dict[str, pd.DataFrame], pd.Series]:
    """Closes and the four momentum inputs (random: only the timing is under test) per ticker."""
    bars, macro = synthetic_bars(n_tickers, n_days, seed=seed)
    rng = np.random.default_rng(seed)
    frames = {}
    for t, f in bars.items():
        extra = pd.DataFrame(rng.normal(0, 1, (len(f), 4)), index=f.index,
                             columns=["momentum_5d", "momentum_20d", "price_vs_ma50", "realized_vol_20d"])
        frames[t] = pd.concat([f[["Close"]], extra.assign(rsi_14=50.0)], axis=1)
    return frames, macro["SPY"]["Close"]


def test_the_dataset_label_is_the_return_from_the_next_session_by_default() -> None:
    frames, market = _frames(12, 120, seed=2)
    data, close = build_dataset(frames, market, horizon=5, label_clip=1.0)
    assert (TrainingConfig().execution_lag, TrainingConfig().horizon) == (1, 21)
    want = to_long(vol_bucket_relative_labels(close, horizon=5, clip=1.0, lag=1), "label")
    pd.testing.assert_series_equal(data["label"].dropna(), want, check_freq=False)
    lag0, _ = build_dataset(frames, market, horizon=5, label_clip=1.0, execution_lag=0)
    pd.testing.assert_series_equal(lag0["label"].dropna(),
                                   to_long(vol_bucket_relative_labels(close, horizon=5, clip=1.0), "label"),
                                   check_freq=False)
    # The last labelled date is horizon + lag sessions before the data ends.
    dates = close.index
    assert data["label"].dropna().index.get_level_values("date").max() == dates[-1 - 5 - 1]
    assert (data.drop(columns="label").fillna(0) == lag0.drop(columns="label").fillna(0)).all().all()


@pytest.mark.parametrize("lag", [0, 3])
def test_training_purges_and_embargoes_horizon_plus_lag(lag: int) -> None:
    frames, market = _frames(15, 520, seed=4)
    config = TrainingConfig(horizon=10, execution_lag=lag, min_train_dates=200, test_dates=60,
                            meta_min_train_dates=60, cpcv_groups=4, n_boot=20, vol_estimators=10, seed=1)
    data, _ = build_dataset(frames, market, horizon=config.horizon, label_clip=0.15, execution_lag=lag)
    manifest = train_predictor(data, config, data_vintage={"as_of": "synthetic"}).manifest
    span = config.horizon + lag
    assert manifest["walk_forward"]["purge"] == manifest["walk_forward"]["embargo"] == span
    assert manifest["label"]["execution_lag"] == lag and manifest["config"]["execution_lag"] == lag
    dates = data["label"].dropna().index.get_level_values("date").unique().sort_values()
    for fold in manifest["walk_forward"]["folds"]:
        gap = dates.get_loc(pd.Timestamp(fold["test_start"])) - dates.get_loc(pd.Timestamp(fold["train_end"])) - 1
        assert gap == span
