"""PredictorTraining's promotion decision: the gate (CPCV IC > 0 and >= the champion re-measured on
the same data + a margin) and the provisional champion that serves while no model has passed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from alpha_engine.data import compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import (
    PROMOTION_MARGIN,
    BundleFile,
    ModelRegistry,
    TrainingConfig,
    build_dataset,
    promotion_decision,
    train_predictor,
)
from alpha_engine.store import ArtifactStore, panel_from_frames

CONFIG = TrainingConfig(min_train_dates=252, test_dates=63, meta_min_train_dates=126, n_boot=50,
                        vol_estimators=20, seed=7)
EMPTY = pd.DataFrame()


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(ArtifactStore(tmp_path / "artifacts"))


def _challenger(registry: ModelRegistry, ic: float | None, *, config: TrainingConfig = CONFIG,
                tag: str = "") -> tuple[str, dict[str, Any]]:
    manifest = {"config": config.model_dump(), "validation": {"cpcv": {"mean_ic": ic}}, "tag": tag}
    return registry.register([BundleFile("model.json", f"{ic}{tag}".encode())], manifest, label="predictor",
                             run_date="2022-12-31"), manifest


def _decide(registry: ModelRegistry, ic: float | None, *, serve_provisional: bool = True,
            dataset: pd.DataFrame = EMPTY, config: TrainingConfig = CONFIG, tag: str = "") -> dict[str, Any]:
    version, manifest = _challenger(registry, ic, config=config, tag=tag)

    def remeasure(champion_config: TrainingConfig) -> float | None:
        ic: float | None = train_predictor(dataset, champion_config, data_vintage={}).manifest["validation"]["cpcv"]["mean_ic"]
        return ic

    decision = promotion_decision(registry, version, ic, manifest, serve_provisional=serve_provisional,
                                  remeasure=remeasure)
    if decision["promote"]:
        registry.promote(version, reason=decision["reason"], provisional=decision["provisional"])
    return {**decision, "version": version}


def test_the_first_model_that_passes_the_gate_becomes_a_full_champion(registry: ModelRegistry) -> None:
    decision = _decide(registry, 0.02)
    assert decision["promote"] and not decision["provisional"] and "first model" in decision["reason"]
    assert registry.champion() == decision["version"] and not registry.champion_is_provisional()


@pytest.mark.parametrize("ic", [-0.004, 0.0, None])
def test_a_first_model_without_skill_serves_provisionally(registry: ModelRegistry, ic: float | None) -> None:
    decision = _decide(registry, ic)
    assert decision["promote"] and decision["provisional"] and "not > 0" in decision["reason"]
    assert registry.champion_is_provisional()


def test_without_serve_provisional_a_model_without_skill_is_not_promoted(registry: ModelRegistry) -> None:
    decision = _decide(registry, -0.004, serve_provisional=False)
    assert not decision["promote"] and registry.champion() is None


def test_a_newer_model_without_skill_replaces_a_provisional_champion(registry: ModelRegistry) -> None:
    first = _decide(registry, -0.004)
    second = _decide(registry, -0.010, tag="next week")
    assert second["promote"] and second["provisional"] and first["version"] in second["reason"]
    assert registry.champion() == second["version"]


def test_a_model_that_passes_the_gate_replaces_a_provisional_champion(registry: ModelRegistry) -> None:
    _decide(registry, -0.004)
    passing = _decide(registry, 0.001, tag="skill")  # same config: no re-measure against a provisional model
    assert passing["promote"] and not passing["provisional"]
    assert registry.champion() == passing["version"] and not registry.champion_is_provisional()


def test_a_full_champion_is_never_replaced_by_a_model_without_skill(registry: ModelRegistry) -> None:
    champion = _decide(registry, 0.02)["version"]
    decision = _decide(registry, -0.01, tag="worse")
    assert not decision["promote"] and registry.champion() == champion


def test_a_retrain_of_the_champion_architecture_does_not_displace_it(registry: ModelRegistry) -> None:
    champion = _decide(registry, 0.02)["version"]
    decision = _decide(registry, 0.03, tag="retrain")  # same config: the re-measure is the challenger itself
    assert not decision["promote"] and "re-measured" in decision["reason"]
    assert registry.champion() == champion


def test_a_retrain_that_only_changes_the_thread_count_counts_as_the_same_architecture(
        registry: ModelRegistry) -> None:
    champion = _decide(registry, 0.02)["version"]
    decision = _decide(registry, 0.03, config=CONFIG.model_copy(update={"threads": 7}), tag="threads")
    assert not decision["promote"] and "re-measured" in decision["reason"]  # no re-measure was needed
    assert registry.champion() == champion


def test_the_same_content_is_already_the_champion(registry: ModelRegistry) -> None:
    first = _decide(registry, 0.02)
    again = _decide(registry, 0.02)
    assert again["version"] == first["version"] and not again["promote"] and "already" in again["reason"]


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    bars, macro = synthetic_bars(30, 900, seed=3)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    data, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=21, label_clip=0.15)
    return data


def test_a_champion_of_another_config_is_re_measured_on_the_same_data(registry: ModelRegistry,
                                                                      dataset: pd.DataFrame) -> None:
    champion_config = CONFIG.model_copy(update={"vol_estimators": 10})
    champion = _decide(registry, 0.5, config=champion_config)["version"]  # its own claim is not trusted
    baseline = train_predictor(dataset, champion_config, data_vintage={})
    remeasured = baseline.manifest["validation"]["cpcv"]["mean_ic"]
    above = max(remeasured, 0.0) + PROMOTION_MARGIN + 0.001
    below = remeasured + PROMOTION_MARGIN - 0.001
    losing = _decide(registry, below, dataset=dataset, tag="just below")
    assert not losing["promote"] and registry.champion() == champion
    assert f"{remeasured:.4f}" in losing["reason"] if below > 0 else "not > 0" in losing["reason"]
    winning = _decide(registry, above, dataset=dataset, tag="above")
    assert winning["promote"] and f"champion {remeasured:.4f}" in winning["reason"]
    assert registry.champion() == winning["version"]

