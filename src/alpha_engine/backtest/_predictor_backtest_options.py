"""Options of the PredictorBacktest stage (``[stages.predictor-backtest]``); light (pydantic only)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_VETO_THRESHOLDS", "PredictorBacktestOptions"]

DEFAULT_VETO_THRESHOLDS = (0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80)


class PredictorBacktestOptions(BaseModel):
    """The window, the refit cadence, the synthetic signal rule, the veto sweep and its intervals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: float = Field(10.0, gt=0.0, le=30.0, description="simulate the last N years up to the run's as-of session "
                                                            "(or all stored history when shorter)")
    refit_days: int = Field(63, ge=5, le=2520, description="sessions between walk-forward refits of the champion's "
                                                          "config; each refit predicts the next block")
    cache_refits: bool = Field(True, description="keep refits in the artifact store (backtest/predictor_refits/) so a "
                                                 "rerun on the same data refits nothing")
    min_score: float = Field(70.0, ge=0.0, le=100.0, description="synthetic ENTER threshold (§2.5)")
    top_n: int = Field(20, ge=1, description="synthetic ENTERs per day at most (§2.5)")
    exit_below: float = Field(30.0, ge=0.0, le=100.0, description="synthetic EXIT below this score (§2.5)")
    alpha_weight: float = Field(500.0, ge=0.0, description="trading_score = technical + clip(alpha_weight x alpha, "
                                                           "+-alpha_cap) (§2.5)")
    alpha_cap: float = Field(10.0, ge=0.0, description="the alpha term's bound, in score points")
    veto_thresholds: tuple[float, ...] = Field(DEFAULT_VETO_THRESHOLDS,
                                               description="GBM veto confidence floors swept (the predictor's "
                                                           "apply_vetoes rule)")
    n_bootstrap: int = Field(1000, ge=200, le=100_000, description="stationary bootstrap resamples")
    mean_block_days: float = Field(20.0, ge=1.0, le=252.0, description="mean block length of the bootstrap, in days")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="family-wise level of the paired Sharpe-difference "
                                                               "intervals (Bonferroni over the thresholds)")
    pit_parity: bool = Field(True, description="recompute every stored predictions document with the model version "
                                               "that made it and compare predicted_alpha")

    @field_validator("veto_thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value:
            raise ValueError("veto_thresholds lists no threshold")
        bad = [v for v in value if not 0.0 <= v <= 1.0]
        if bad:
            raise ValueError(f"veto_thresholds {bad} are not in [0, 1]")
        return tuple(sorted(set(float(v) for v in value)))
