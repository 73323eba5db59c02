"""The predictor's configuration: the training config, and PredictorTraining's stage options.

Light to import (pydantic only), so the stage declaration never pulls in the model stack.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PredictorTrainingOptions", "TrainingConfig"]


class TrainingConfig(BaseModel):
    """What defines a training run (stored in every bundle's manifest as ``config``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    horizon: int = Field(default=21, ge=1)
    # Sessions between the last close the features use (t) and the close the label's return starts
    # from: predictions made after close t trade at close t + 1 at the earliest.
    execution_lag: int = Field(default=1, ge=0)
    label_clip: float = Field(default=0.15, gt=0)
    min_train_dates: int = Field(default=504, ge=1)
    test_dates: int = Field(default=126, ge=1)
    meta_min_train_dates: int = Field(default=252, ge=1)
    cpcv_groups: int = Field(default=10, ge=2)
    cpcv_test_groups: int = Field(default=2, ge=1)
    n_boot: int = Field(default=1000, ge=1)
    randomization_draws: int = Field(default=200, ge=1)
    vol_estimators: int = Field(default=100, ge=1)
    calibration: str = Field(default="platt", pattern="^(platt|isotonic)$")
    seed: int = 0
    threads: int = Field(default=2, ge=1)  # volatility fits run side by side, one LightGBM thread each; the models do not depend on it


class PredictorTrainingOptions(TrainingConfig):
    """``[stages.predictor-training]``: the TrainingConfig fields, plus ``serve_provisional``.

    ``seed`` defaults to the settings' seed (see :meth:`training_config`).
    """

    # While no model has passed the promotion gate, the newest challenger serves provisionally.
    serve_provisional: bool = True

    def training_config(self, default_seed: int) -> TrainingConfig:
        values = self.model_dump(exclude={"serve_provisional"})
        if "seed" not in self.model_fields_set:
            values["seed"] = default_seed
        return TrainingConfig(**values)
