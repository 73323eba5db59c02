"""Inference with the champion: predictions for the run date's last closed session."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ._calibration import AlphaCalibrator
from ._meta import MetaModel
from ._predictions import build_predictions
from ._registry import ModelRegistry
from ._volatility import VolatilityModel

__all__ = ["ChampionModels", "load_champion", "predict_cross_section"]


class ChampionModels:
    """The champion's fitted models, read from its registry bundle (hashes verified)."""

    def __init__(self, registry: ModelRegistry, version_id: str) -> None:
        self.version_id = version_id
        self.manifest = registry.manifest(version_id)
        self.features = json.loads(registry.read_file(version_id, "feature_list.json"))
        self.volatility = VolatilityModel.from_text(registry.read_file(version_id, "volatility_model.txt").decode())
        self.meta = MetaModel.from_json(json.loads(registry.read_file(version_id, "meta_model.json")))
        self.calibrator = AlphaCalibrator.from_json(json.loads(registry.read_file(version_id, "calibrator.json")))
        self.drift_reference = json.loads(registry.read_file(version_id, "drift_reference.json"))
        self.label_clip = float(self.manifest.get("label", {}).get("clip", 0.15))
        self.provisional = registry.champion_is_provisional() and registry.champion() == version_id
        self.status_reason = registry.champion_reason() if registry.champion() == version_id else None


def load_champion(registry: ModelRegistry) -> ChampionModels | None:
    version = registry.champion()
    return None if version is None else ChampionModels(registry, version)


def predict_cross_section(models: ChampionModels, dataset: pd.DataFrame, *, as_of: date, run_date: date,
                          stale_days: Mapping[str, int], caveats: Sequence[str],
                          veto_confidence: float = 0.65) -> dict[str, Any]:
    """The predictions document for every ticker's latest row at or before ``as_of`` (``gbm_veto``
    at ``veto_confidence``, see ``apply_vetoes``)."""
    rows = dataset[dataset.index.get_level_values("date") <= pd.Timestamp(as_of)]
    latest = rows.groupby(level="ticker", group_keys=False).tail(1)
    # Every ticker is scored as one cross-section dated as_of (a stale ticker's row carries its age).
    tickers = latest.index.get_level_values("ticker")
    section = latest.copy()
    section.index = pd.MultiIndex.from_arrays([[pd.Timestamp(as_of)] * len(section), tickers],
                                              names=["date", "ticker"])
    section["expected_move"] = models.volatility.predict(section)
    features = list(models.features["meta_features"])
    alpha, std = models.meta.predict(section[features], return_std=True)
    alpha = alpha.clip(-models.label_clip, models.label_clip)
    table = pd.DataFrame({
        "predicted_alpha": alpha.to_numpy(),
        "predicted_alpha_std": std.to_numpy(),
        "p_up": models.calibrator.predict_proba(alpha.to_numpy()),
        "momentum_score": section["momentum_score"].to_numpy(),
        "momentum_20d": section["momentum_20d"].to_numpy() if "momentum_20d" in section else np.nan,
        "expected_move": section["expected_move"].to_numpy(),
        "price_data_age_days": [int(stale_days.get(t, 0)) for t in tickers],
    }, index=pd.Index(tickers, name="ticker"))
    caveats = list(caveats)
    if models.provisional:
        caveats.append(f"provisional model ({models.status_reason or 'it has not passed the skill gate'}): it serves "
                       f"only because no model has passed the skill gate, so treat these rankings as unvalidated")
    return build_predictions(table, run_date=run_date.isoformat(), model_version=models.version_id,
                             caveats=caveats, model_status="provisional" if models.provisional else "champion",
                             veto_confidence=veto_confidence)
