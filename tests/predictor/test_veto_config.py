"""PredictorTraining's veto_confidence: the applied config/predictor_params.json when it exists, else 0.65."""

from __future__ import annotations

from pathlib import Path

import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.predictor import PREDICTOR_PARAMS, veto_confidence_in_force
from alpha_engine.store import ArtifactStore, ContractError


def _store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts", contracts=SATURDAY_GRAPH.contracts())


def _params(veto: float) -> dict[str, object]:
    return {"key": "predictor_params", "values": {"veto_confidence": veto, "prune_features": []}, "origin": "applied",
            "run_date": "2022-12-24", "change": 3, "source": "backtest/2022-12-24/predictor_rec.json"}


def test_without_an_applied_file_the_default_is_used_and_named(tmp_path: Path) -> None:
    assert veto_confidence_in_force(_store(tmp_path)) == (0.65, "default")


def test_the_applied_threshold_is_used_and_its_file_named(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.write_json(PREDICTOR_PARAMS.key, _params(0.7))
    assert veto_confidence_in_force(store) == (
        0.7, "config/predictor_params.json (applied 2022-12-24)")


def test_an_out_of_range_threshold_is_refused_by_the_contract(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(ContractError):
        store.write_json(PREDICTOR_PARAMS.key, _params(1.5))
