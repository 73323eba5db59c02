"""The regime HMM: states labelled by mean return; the live call uses no data after its week."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from alpha_engine.regime import RegimeSubstrateOptions, build_substrate, fit_regime_hmm, weekly_inputs

FAST = RegimeSubstrateOptions(n_init=1, n_iter=50, min_weeks=52)


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Weekly (return, log vol) with three persistent regimes: 0 bear, 1 neutral, 2 bull."""
    rng = np.random.default_rng(seed)
    states = np.repeat([2, 1, 0, 2, 1, 0, 2], 40)
    mean = np.array([-0.02, 0.0, 0.015])[states]
    vol = np.array([0.05, 0.02, 0.01])[states]
    ret = mean + vol * rng.standard_normal(len(states))
    return np.column_stack([ret, np.log(vol) + 0.1 * rng.standard_normal(len(states))]), states


def test_states_are_ordered_by_mean_return_and_recover_the_planted_regimes() -> None:
    x, states = _planted()
    model = fit_regime_hmm(x, seed=7, n_init=2, n_iter=100)
    weekly_mean = model.means[:, 0] * model.scale[0] + model.center[0]
    assert list(weekly_mean) == sorted(weekly_mean)
    assert np.mean(model.smoothed(x).argmax(axis=1) == states) > 0.9


def test_the_filtered_probability_at_t_uses_no_data_after_t() -> None:
    x = np.random.default_rng(1).standard_normal((200, 2))  # no clear regimes: the posteriors are uncertain
    model = fit_regime_hmm(x, seed=0, n_init=1, n_iter=50)
    full = model.filtered(x)
    np.testing.assert_allclose(model.filtered(x[:100])[-1], full[99])
    assert np.abs(model.smoothed(x) - full).max() > 0.1  # the smoother does look ahead


def _daily(seed: int) -> pd.Series:
    days = pd.bdate_range("2015-01-01", "2020-12-31")
    ret = np.random.default_rng(seed).normal(0.0003, 0.01, len(days))
    return pd.Series(100 * np.exp(np.cumsum(ret)), index=days)


def test_perturbing_the_data_after_the_as_of_session_leaves_the_call_unchanged() -> None:
    close = _daily(0)
    as_of = date(2019, 6, 28)
    perturbed = close.copy()
    after = perturbed.index > pd.Timestamp(as_of)
    perturbed[after] = perturbed[after] * np.exp(np.random.default_rng(9).normal(0, 0.05, after.sum()))
    calls = [build_substrate(weekly_inputs("IDX", series, {}, as_of), FAST, seed=3, run_date=date(2019, 6, 29))
             for series in (close, perturbed)]
    assert calls[0] == calls[1]
    assert calls[0]["week"] == "2019-06-28"
    # and the data before it does matter
    changed = close.copy()
    changed[changed.index <= pd.Timestamp(as_of)] *= np.exp(np.random.default_rng(4).normal(0, 0.05, (~after).sum()))
    assert build_substrate(weekly_inputs("IDX", changed, {}, as_of), FAST, seed=3,
                           run_date=date(2019, 6, 29)) != calls[0]


def test_the_same_seed_gives_the_same_call_and_missing_macro_is_reported() -> None:
    inputs = weekly_inputs("IDX", _daily(1), {}, date(2020, 12, 31))
    first = build_substrate(inputs, FAST, seed=11, run_date=date(2021, 1, 2))
    assert build_substrate(inputs, FAST, seed=11, run_date=date(2021, 1, 2)) == first
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert first["inputs"]["used"] == ["IDX"] and first["inputs"]["degraded"] is True
    assert [m["symbol"] for m in first["inputs"]["missing"]] == ["VIX", "TNX", "IRX"]
    assert set(first["composite"]["components"]) == {"trailing_return_12w", "volatility_12w", "drawdown_52w"}


def test_vix_and_yields_join_when_present() -> None:
    close = _daily(2)
    macro = {"VIX": close * 0 + 20 + np.random.default_rng(0).normal(0, 2, len(close)),
             "TNX": close * 0 + 2.5, "IRX": close * 0 + 1.0 + np.linspace(0, 1, len(close))}
    doc = build_substrate(weekly_inputs("IDX", close, macro, date(2020, 12, 31)), FAST, seed=0,
                          run_date=date(2021, 1, 2))
    assert doc["hmm"]["features"] == ["market_return", "market_log_vol_8w", "vix_change"]
    assert {"vix_level", "term_spread"} <= set(doc["composite"]["components"])
    assert doc["inputs"]["missing"] == [] and doc["inputs"]["used"] == ["IDX", "IRX", "TNX", "VIX"]
