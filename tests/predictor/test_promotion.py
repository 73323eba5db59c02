"""The promotion gate: the skill gate (robust IC interval or DSR), the paired challenger-vs-champion
test with alpha spending, re-validation with demotion, refreshes, refused cross-horizon comparisons
and the provisional champion that serves while no model has passed the gate."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alpha_engine.predictor import (
    ALPHA,
    BundleFile,
    Evidence,
    ModelRegistry,
    TrainingConfig,
    alpha_for,
    apply_decision,
    decide,
    paired_ic_test,
    skill_gate,
)
from alpha_engine.store import ArtifactStore

CONFIG = TrainingConfig(min_train_dates=252, test_dates=63, meta_min_train_dates=126, n_boot=50,
                        vol_estimators=20, seed=7)
DATES = pd.bdate_range("2018-01-01", periods=1000, name="date")


def validation(ci_low: float, ci_high: float = 0.05, dsr: float = 0.5, n_trials: int = 1) -> dict[str, Any]:
    return {"ic_ci_low": ci_low, "ic_ci_high": ci_high, "ic_ci_method": "newey-west, lag 42", "dsr": dsr,
            "dsr_n_trials": n_trials, "dsr_effective_t": 150.0, "meta_oos_ic": {"mean": (ci_low + ci_high) / 2}}


SKILLED = validation(0.01, 0.05)
UNSKILLED = validation(-0.02, 0.03)


def ic_series(mean: float, *, seed: int, sd: float = 0.1, dates: pd.DatetimeIndex = DATES) -> pd.Series:
    return pd.Series(mean + sd * np.random.default_rng(seed).standard_normal(len(dates)), index=dates)


def evidence(valid: dict[str, Any], ic: pd.Series | None = None, **config: Any) -> Evidence:
    return Evidence(CONFIG.model_copy(update=config).model_dump(), valid,
                    ic if ic is not None else ic_series(0.0, seed=1))


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(ArtifactStore(tmp_path / "artifacts"))


class Remeasure:
    """The champion's re-measure on this run's data: a fixed answer, and the configs asked for."""

    def __init__(self, answer: Evidence | None = None) -> None:
        self.answer = answer
        self.asked: list[TrainingConfig] = []

    def __call__(self, config: TrainingConfig) -> Evidence:
        self.asked.append(config)
        assert self.answer is not None, "no re-measure expected"
        return self.answer


def run(registry: ModelRegistry, challenger: Evidence, *, run_date: str = "2022-12-31", tag: str = "",
        remeasure: Remeasure | None = None, serve_provisional: bool = True) -> dict[str, Any]:
    """Register a challenger, decide, record and apply (as PredictorTraining does)."""
    manifest = {"config": dict(challenger.config), "validation": dict(challenger.validation), "tag": tag}
    version = registry.register([BundleFile("model.json", f"{tag}{run_date}".encode())], manifest,
                                label="predictor", run_date=run_date)
    decision = decide(registry, version, challenger, run_date=run_date, serve_provisional=serve_provisional,
                      remeasure=remeasure or Remeasure())
    registry.record_decision(decision)
    apply_decision(registry, decision)
    return decision


# -- the skill gate --------------------------------------------------------------------------------

def test_the_gate_passes_on_an_interval_above_zero() -> None:
    gate = skill_gate(SKILLED)
    assert gate["passes"] and gate["by_ci"] and not gate["by_dsr"]
    assert "CI [0.0100, 0.0500] (newey-west, lag 42) excludes 0" in gate["reason"]


def test_the_gate_passes_on_a_dsr_of_at_least_095_even_if_the_interval_includes_zero() -> None:
    gate = skill_gate(validation(-0.001, 0.05, dsr=0.96, n_trials=12))
    assert gate["passes"] and gate["by_dsr"] and not gate["by_ci"] and "DSR 0.9600" in gate["reason"]


def test_the_gate_says_no_detectable_skill_and_names_its_methods() -> None:
    gate = skill_gate(UNSKILLED)
    assert not gate["passes"]
    assert gate["reason"].startswith("no detectable skill: IC 95% CI [-0.0200, 0.0300] (newey-west, lag 42) "
                                     "includes 0 and DSR (PSR: fewer than 2 trials) 0.5000")


@pytest.mark.parametrize("missing", ["ic_ci_low", "dsr"])
def test_a_missing_figure_never_passes(missing: str) -> None:
    valid = validation(0.01, dsr=0.99)
    valid[missing] = None
    other = "dsr" if missing == "ic_ci_low" else "ic_ci_low"
    valid[other] = None
    assert not skill_gate(valid)["passes"]


# -- the paired test and alpha spending -------------------------------------------------------------

def test_alpha_spending_sums_to_alpha_over_every_challenger() -> None:
    assert alpha_for(1) == pytest.approx(ALPHA * 6 / math.pi ** 2)
    assert sum(alpha_for(k) for k in range(1, 100_000)) == pytest.approx(ALPHA, rel=1e-4)
    assert all(alpha_for(k + 1) < alpha_for(k) for k in range(1, 50))
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        alpha_for(0)


def test_a_clearly_better_challenger_passes_the_paired_test() -> None:
    champion = ic_series(0.0, seed=1)
    test = paired_ic_test(champion + 0.03 + ic_series(0.0, seed=2, sd=0.02), champion, lag=42, alpha=alpha_for(1))
    assert test["passes"] and test["mean_difference"] > test["margin"] > 0 and test["n_dates"] == len(DATES)


def test_the_margin_scales_with_the_standard_error_of_the_difference() -> None:
    champion = ic_series(0.0, seed=1)
    quiet = paired_ic_test(champion + ic_series(0.004, seed=2, sd=0.01), champion, lag=42, alpha=0.05)
    noisy = paired_ic_test(champion + ic_series(0.004, seed=2, sd=0.10), champion, lag=42, alpha=0.05)
    assert noisy["margin"] == pytest.approx(10 * quiet["margin"], rel=1e-6)
    assert quiet["passes"] and not noisy["passes"]  # the same mean edge: significant only when precise


def test_persistent_differences_widen_the_margin() -> None:
    """A difference that persists for weeks is worth fewer independent dates: HAC sees it, lag 0 does not."""
    rng = np.random.default_rng(3)
    persistent = pd.Series(np.repeat(rng.standard_normal(len(DATES) // 20 + 1), 20)[:len(DATES)] * 0.05, index=DATES)
    zero = pd.Series(0.0, index=DATES)
    assert paired_ic_test(persistent, zero, lag=42, alpha=0.05)["se"] > \
        2 * paired_ic_test(persistent, zero, lag=0, alpha=0.05)["se"]


def test_identical_or_short_series_never_pass() -> None:
    champion = ic_series(0.01, seed=1)
    assert not paired_ic_test(champion, champion, lag=42, alpha=0.05)["passes"]
    short = paired_ic_test(champion.iloc[:50] + 1.0, champion.iloc[:50], lag=42, alpha=0.05)
    assert not short["passes"] and "only 50 common dates" in short["reason"]


def test_the_test_uses_only_the_dates_both_measured() -> None:
    champion = ic_series(0.0, seed=1)
    challenger = (champion + 0.05).iloc[100:]
    assert paired_ic_test(challenger, champion, lag=42, alpha=0.05)["n_dates"] == len(DATES) - 100


# -- decisions -------------------------------------------------------------------------------------

def test_a_first_model_with_skill_becomes_a_full_champion(registry: ModelRegistry) -> None:
    decision = run(registry, evidence(SKILLED))
    assert decision["action"] == "promote" and "first model; passes the skill gate" in decision["reason"]
    assert registry.champion() == decision["challenger"] and not registry.champion_is_provisional()


def test_a_first_model_without_skill_serves_provisionally_or_not_at_all(registry: ModelRegistry,
                                                                        tmp_path: Path) -> None:
    decision = run(registry, evidence(UNSKILLED))
    assert decision["action"] == "promote_provisional" and "no detectable skill" in decision["reason"]
    assert registry.champion_is_provisional()
    strict = ModelRegistry(ArtifactStore(tmp_path / "strict"))
    assert run(strict, evidence(UNSKILLED), serve_provisional=False)["action"] == "none"
    assert strict.champion() is None


def test_a_model_with_skill_replaces_a_provisional_champion(registry: ModelRegistry) -> None:
    first = run(registry, evidence(UNSKILLED), run_date="2022-12-24")
    passing = run(registry, evidence(SKILLED), run_date="2022-12-31")
    assert passing["action"] == "promote" and first["challenger"] in passing["reason"]
    assert registry.champion() == passing["challenger"] and not registry.champion_is_provisional()


def test_the_newest_model_without_skill_replaces_a_provisional_champion(registry: ModelRegistry) -> None:
    run(registry, evidence(UNSKILLED), run_date="2022-12-24")
    second = run(registry, evidence(UNSKILLED), run_date="2022-12-31")
    assert second["action"] == "promote_provisional" and registry.champion() == second["challenger"]


def test_a_provisional_champion_of_another_config_that_passes_again_is_restored(registry: ModelRegistry) -> None:
    first = run(registry, evidence(UNSKILLED, seed=1), run_date="2022-12-24")
    remeasure = Remeasure(evidence(SKILLED, seed=1))
    decision = run(registry, evidence(UNSKILLED, seed=2), run_date="2022-12-31", remeasure=remeasure)
    assert decision["action"] == "restore" and registry.champion() == first["challenger"]
    assert not registry.champion_is_provisional() and remeasure.asked[0].seed == 1
    assert registry.manifest(first["challenger"])["stage"] == "challenger"  # bundles stay immutable


def test_a_refresh_of_the_champion_config_with_skill_replaces_it(registry: ModelRegistry) -> None:
    run(registry, evidence(SKILLED), run_date="2022-12-24")
    refresh = run(registry, evidence(SKILLED, threads=7), run_date="2022-12-31")  # threads change no model
    assert refresh["action"] == "promote" and refresh["comparison"].startswith("refresh")
    assert refresh["paired_test"] is None and registry.champion() == refresh["challenger"]


def test_a_refresh_without_skill_demotes_the_champion(registry: ModelRegistry) -> None:
    champion = run(registry, evidence(SKILLED), run_date="2022-12-24")["challenger"]
    decision = run(registry, evidence(UNSKILLED), run_date="2022-12-31")
    assert decision["action"] == "demote" and "fails re-validation" in decision["reason"]
    assert registry.champion() == champion and registry.champion_is_provisional()
    history = registry.store.read_json("predictor/registry/champion.json")["history"]
    assert history[-1]["action"] == "demote" and history[-1]["provisional"] is True


def test_a_champion_that_fails_re_validation_is_demoted(registry: ModelRegistry) -> None:
    champion = run(registry, evidence(SKILLED, seed=1), run_date="2022-12-24")["challenger"]
    remeasure = Remeasure(evidence(UNSKILLED, seed=1))
    decision = run(registry, evidence(UNSKILLED, seed=2), run_date="2022-12-31", remeasure=remeasure)
    assert decision["action"] == "demote" and registry.champion() == champion
    assert registry.champion_is_provisional() and not decision["champion_revalidation"]["passes"]
    assert "re-measured with its own config" in decision["reason"]


def test_a_challenger_with_skill_replaces_a_champion_that_fails_re_validation(registry: ModelRegistry) -> None:
    run(registry, evidence(SKILLED, seed=1), run_date="2022-12-24")
    decision = run(registry, evidence(SKILLED, seed=2), run_date="2022-12-31",
                   remeasure=Remeasure(evidence(UNSKILLED, seed=1)))
    assert decision["action"] == "promote" and "fails re-validation" in decision["reason"]
    assert registry.champion() == decision["challenger"]


def test_a_challenger_must_beat_the_champion_by_the_paired_test(registry: ModelRegistry) -> None:
    champion_ic = ic_series(0.02, seed=1)
    champion = run(registry, evidence(SKILLED, champion_ic, seed=1), run_date="2022-12-17")["challenger"]
    remeasure = Remeasure(evidence(SKILLED, champion_ic, seed=1))
    slightly = run(registry, evidence(SKILLED, champion_ic + ic_series(0.002, seed=5, sd=0.05), seed=2),
                   run_date="2022-12-24", remeasure=remeasure)
    assert slightly["action"] == "keep" and "does not beat the champion" in slightly["reason"]
    assert registry.champion() == champion and slightly["paired_test"]["k"] == 1
    clearly = run(registry, evidence(SKILLED, champion_ic + ic_series(0.03, seed=6, sd=0.02), seed=3),
                  run_date="2022-12-31", remeasure=remeasure)
    assert clearly["action"] == "promote" and clearly["paired_test"]["k"] == 2
    assert clearly["paired_test"]["alpha"] == pytest.approx(alpha_for(2))
    assert registry.champion() == clearly["challenger"]
    assert [c.seed for c in remeasure.asked] == [1, 1]  # the champion's own config, every week


def test_alpha_spending_counts_the_challengers_against_one_champion_and_reruns_once(registry: ModelRegistry) -> None:
    champion_ic = ic_series(0.02, seed=1)
    run(registry, evidence(SKILLED, champion_ic, seed=1), run_date="2022-12-10")
    remeasure = Remeasure(evidence(SKILLED, champion_ic, seed=1))
    ks = []
    for week, run_date in enumerate(("2022-12-17", "2022-12-24", "2022-12-24", "2022-12-31")):
        challenger = evidence(SKILLED, champion_ic + ic_series(0.0, seed=10 + week, sd=0.05), seed=2)
        ks.append(run(registry, challenger, run_date=run_date, tag=str(week), remeasure=remeasure)["paired_test"]["k"])
    assert ks == [1, 2, 2, 3]  # the second 2022-12-24 decision is that week's rerun: the same test


def test_different_horizons_are_not_compared(registry: ModelRegistry) -> None:
    champion = run(registry, evidence(SKILLED, horizon=10), run_date="2022-12-24")["challenger"]
    remeasure = Remeasure(evidence(SKILLED, horizon=10))
    decision = run(registry, evidence(validation(0.2, 0.3)), run_date="2022-12-31", remeasure=remeasure)
    assert decision["action"] == "keep" and decision["paired_test"] is None
    assert "not compared" in decision["reason"] and decision["comparison"].startswith("refused: horizon 21")
    assert registry.champion() == champion and remeasure.asked[0].horizon == 10


def test_an_execution_lag_that_differs_is_not_compared_either(registry: ModelRegistry) -> None:
    run(registry, evidence(SKILLED, execution_lag=0), run_date="2022-12-24")
    decision = run(registry, evidence(validation(0.2, 0.3)), run_date="2022-12-31",
                   remeasure=Remeasure(evidence(SKILLED, execution_lag=0)))
    assert decision["action"] == "keep" and "execution lag 1" in decision["reason"]


def test_every_decision_is_recorded_with_its_statistics(registry: ModelRegistry) -> None:
    first = run(registry, evidence(UNSKILLED), run_date="2022-12-24")
    second = run(registry, evidence(SKILLED), run_date="2022-12-31")
    recorded = registry.decisions()
    assert [d["challenger"] for d in recorded] == [first["challenger"], second["challenger"]]
    assert recorded[1] == registry.decision("2022-12-31", second["challenger"])
    assert recorded[1]["challenger_gate"]["ci_low"] == 0.01 and recorded[1]["champion_before"] == first["challenger"]
    assert registry.decision("2022-12-17", second["challenger"]) is None


def test_a_malformed_decision_is_refused(registry: ModelRegistry) -> None:
    decision = run(registry, evidence(SKILLED))
    with pytest.raises(Exception, match="action"):
        registry.record_decision({**decision, "action": "maybe"})


def test_demote_and_restore_change_only_the_status(registry: ModelRegistry) -> None:
    champion = run(registry, evidence(SKILLED))["challenger"]
    registry.demote(champion, reason="failed re-validation")
    registry.demote(champion, reason="again")  # already provisional: nothing more is recorded
    assert registry.champion_is_provisional()
    registry.restore(champion, reason="passes again")
    history = registry.store.read_json("predictor/registry/champion.json")["history"]
    assert [e["action"] for e in history] == ["promote", "demote", "restore"]
    assert registry.champion() == champion and not registry.champion_is_provisional()
    with pytest.raises(Exception, match="it is not the champion"):
        registry.demote("predictor-2022-01-01-00000000", reason="x")


def test_a_rollback_returns_to_the_status_the_target_last_had(registry: ModelRegistry) -> None:
    first = run(registry, evidence(SKILLED), run_date="2022-12-24", tag="a")["challenger"]
    registry.demote(first, reason="failed re-validation")
    second = run(registry, evidence(SKILLED), run_date="2022-12-31", tag="b")["challenger"]
    assert registry.champion() == second
    assert registry.rollback(reason="operator") == first and registry.champion_is_provisional()


def test_a_champion_registered_before_the_execution_lag_is_re_measured_with_lag_0(registry: ModelRegistry) -> None:
    old_config = {k: v for k, v in CONFIG.model_dump().items() if k != "execution_lag"} | {"seed": 1}
    run(registry, Evidence(old_config, SKILLED, ic_series(0.0, seed=1)), run_date="2022-12-24")
    remeasure = Remeasure(evidence(SKILLED, execution_lag=0, seed=1))
    decision = run(registry, evidence(validation(0.2, 0.3)), run_date="2022-12-31", remeasure=remeasure)
    assert remeasure.asked[0].execution_lag == 0 and decision["comparison"].startswith("refused")
