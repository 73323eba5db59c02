"""Robust IC inference: the Newey-West CI, the ticker time-shift randomization test, the weekly IC,
the effective T and the deflated Sharpe ratio's trials from the registry (issue 12, items 1-2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.predictor._metrics import (
    daily_ic,
    deflated_sharpe_ratio,
    dsr_trial_inputs,
    effective_sample_size,
    ic_randomization_test,
    newey_west_variance,
    summarize_ic,
    weekly_dates,
)
from alpha_engine.predictor._registry import BundleFile, ModelRegistry
from alpha_engine.store import ArtifactStore

H = 21


def _persistent_panel(seed: int, *, signal: float = 0.0, n_dates: int = 500, n_names: int = 30,
                      phi: float = 0.99) -> tuple[pd.Series, pd.Series]:
    """AR(1) predictors per ticker; labels are H-day forward sums of returns with a persistent AR(1)
    drift per ticker, then a FIXED ticker permutation (a no-skill predictor whose daily ICs are
    strongly autocorrelated), plus ``signal`` times the ticker's own predictor."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n_dates, n_names))
    x = np.empty_like(e)
    x[0] = e[0] / np.sqrt(1 - phi**2)
    for t in range(1, n_dates):
        x[t] = phi * x[t - 1] + e[t]
    u = rng.standard_normal((n_dates + H, n_names))
    drift = np.empty_like(u)
    drift[0] = u[0] / np.sqrt(1 - phi**2)
    for t in range(1, n_dates + H):
        drift[t] = phi * drift[t - 1] + u[t]
    cum = np.cumsum(0.3 * drift + rng.standard_normal(u.shape), axis=0)
    label = (cum[H:H + n_dates] - cum[:n_dates])[:, rng.permutation(n_names)] + signal * x * np.sqrt(H)
    index = pd.MultiIndex.from_product([pd.bdate_range("2020-01-01", periods=n_dates),
                                        [f"T{i:02d}" for i in range(n_names)]], names=["date", "ticker"])
    return pd.Series(x.ravel(), index=index), pd.Series(label.ravel(), index=index)


def test_persistent_null_old_bootstrap_ci_excluded_zero_newey_west_includes_it() -> None:
    pred, label = _persistent_panel(seed=0)
    s = summarize_ic(daily_ic(pred, label), n_boot=500, block=H, seed=0)
    assert s.bootstrap_ci_high < 0.0  # the old circular block-21 bootstrap claims (negative) skill
    assert s.ci_low < 0.0 < s.ci_high  # the reported HAC interval does not
    assert s.ci_method.startswith("newey-west, lag 42, fixed-b critical value 2.") and s.hac_lag == 2 * H
    assert s.n_effective < s.n_dates / 10


def test_persistent_null_randomization_p_is_not_small() -> None:
    pred, label = _persistent_panel(seed=0)
    result = ic_randomization_test(pred, label, n_draws=100, min_shift=H, seed=0)
    assert result["p_value"] > 0.1 and result["n_draws"] == 100
    assert "circular time shift" in result["method"]


def test_planted_signal_ci_excludes_zero_and_randomization_p_is_small() -> None:
    pred, label = _persistent_panel(seed=1, signal=0.3)
    s = summarize_ic(daily_ic(pred, label), n_boot=200, block=H, seed=0)
    assert s.ci_low > 0.0
    result = ic_randomization_test(pred, label, n_draws=100, min_shift=H, seed=0)
    assert result["p_value"] <= 2 / 101


def test_randomization_test_is_seeded() -> None:
    pred, label = _persistent_panel(seed=2, n_dates=120, n_names=10)
    first = ic_randomization_test(pred, label, n_draws=20, min_shift=H, seed=3)
    assert first == ic_randomization_test(pred, label, n_draws=20, min_shift=H, seed=3)
    with pytest.raises(ValueError, match="min_shift"):
        ic_randomization_test(pred, label, n_draws=20, min_shift=61, seed=3)


def test_effective_t_of_overlapping_labels_is_about_t_over_horizon() -> None:
    # Daily ICs of H-day overlapping labels with no other persistence: an MA(H - 1) series.
    noise = np.random.default_rng(6).standard_normal(3000 + H - 1)
    ic = np.convolve(noise, np.ones(H) / H, mode="valid")
    t_eff = effective_sample_size(ic, 2 * H)
    assert 0.5 * ic.size / H < t_eff < 2.0 * ic.size / H
    iid = np.random.default_rng(7).standard_normal(3000)
    assert effective_sample_size(iid, 2 * H) > 0.8 * iid.size


def test_newey_west_variance_by_hand() -> None:
    x = np.array([1.0, -1.0, 2.0, 0.0])
    d = x - x.mean()
    g0, g1 = d @ d / 4, d[1:] @ d[:-1] / 4
    assert newey_west_variance(x, 1) == pytest.approx(g0 + 2 * 0.5 * g1)
    assert newey_west_variance(x, 0) == pytest.approx(g0)


def test_weekly_dates_are_the_last_session_of_each_week() -> None:
    dates = pd.bdate_range("2022-12-01", "2022-12-20").drop(pd.Timestamp("2022-12-16"))  # a Friday holiday
    assert [d.date().isoformat() for d in weekly_dates(dates)] == [
        "2022-12-02", "2022-12-09", "2022-12-15", "2022-12-20"]


def test_dsr_uses_the_effective_t() -> None:
    x = np.random.default_rng(8).normal(0.03, 0.1, 1500)
    assert deflated_sharpe_ratio(x, n_effective=70.0) < deflated_sharpe_ratio(x)


def _registry_with_trials(tmp_path: Path, sharpes: list[float]) -> ModelRegistry:
    registry = ModelRegistry(ArtifactStore(tmp_path / "artifacts", contracts=SATURDAY_GRAPH.contracts()))
    for k, sharpe in enumerate(sharpes):
        manifest = {"config": {"seed": k}, "validation": {"meta_oos_ic": {"mean": 0.01, "ir": sharpe, "n_dates": 500}}}
        registry.register([BundleFile("meta_model.json", b"{}")], manifest, label="predictor",
                          run_date=f"2022-{1 + k % 12:02d}-{1 + k // 12:02d}")
    return registry


def test_dsr_takes_the_number_of_trials_and_their_variance_from_the_registry(tmp_path: Path) -> None:
    ic = np.random.default_rng(9).normal(0.02, 0.1, 600)
    rng = np.random.default_rng(10)
    one = _registry_with_trials(tmp_path / "one", [0.05])
    twenty = _registry_with_trials(tmp_path / "twenty", list(rng.normal(0.05, 0.05, 20)))
    assert len(twenty.trials()) == 20 and len({t["config_sha256"] for t in twenty.trials()}) == 20
    sharpe, t_eff = float(ic.mean() / ic.std(ddof=1)), 60.0
    dsrs = {}
    for name, registry in (("one", one), ("twenty", twenty)):
        inputs = dsr_trial_inputs([t["sharpe"] for t in registry.trials()], sharpe, t_eff)
        dsrs[name] = deflated_sharpe_ratio(ic, n_trials=inputs["n_trials"],
                                           trials_sr_variance=inputs["trials_sr_variance"], n_effective=t_eff)
        assert inputs["n_trials"] == len(registry.trials()) + 1
    assert dsrs["twenty"] < dsrs["one"]
    # No record: one trial, SR0 = 0 (the probabilistic Sharpe ratio), documented as such.
    alone = dsr_trial_inputs([], sharpe, t_eff)
    assert alone["n_trials"] == 1 and alone["trials_sr_variance"] == pytest.approx(1 / (t_eff - 1))


def test_a_rerun_of_the_same_week_and_config_is_not_another_trial(tmp_path: Path) -> None:
    registry = _registry_with_trials(tmp_path, [0.05, 0.07])
    first = registry.trials()[0]
    assert len(registry.trials(excluding=(first["run_date"], {"seed": 0}))) == 1
    assert len(registry.trials(excluding=(first["run_date"], {"seed": 5}))) == 2
