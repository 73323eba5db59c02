"""Options of PortfolioOptimizerBacktest (``[stages.portfolio-optimizer]``).

Kept free of skfolio so that loading the graph and validating the config import nothing heavy;
the names below map to skfolio estimators in :mod:`._portfolio`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["COVARIANCE_ESTIMATORS", "CovarianceName", "PortfolioOptimizerOptions"]

CovarianceName = Literal["empirical", "ledoit_wolf", "oas", "shrunk", "denoise", "gerber"]
# Every covariance estimator the sweep knows, in report order (skfolio.moments classes in _portfolio).
COVARIANCE_ESTIMATORS: tuple[CovarianceName, ...] = ("empirical", "ledoit_wolf", "oas", "shrunk", "denoise", "gerber")


class PortfolioOptimizerOptions(BaseModel):
    """What the walk-forward fits, how often it rebalances, and how its intervals are drawn."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_days: int = Field(252, ge=60, le=2520, description="daily returns each window fits on (rolling)")
    test_days: int = Field(21, ge=5, le=252, description="daily returns each window holds its weights (the "
                                                         "rebalancing period)")
    history_days: int | None = Field(None, ge=100, description="use only the last N daily returns up to the "
                                                               "run's as-of session (None: all stored history)")
    min_assets: int = Field(5, ge=2, description="fewer tickers with complete closes in the window is an error")
    max_assets: int | None = Field(100, ge=2, description="the optimizers fit, per fold, on at most this many names: "
                                                          "the lowest-variance ones over the fold's training window "
                                                          "(the baseline holds every name; None: no pre-selection)")
    gate_covariance: CovarianceName = Field("ledoit_wolf", description="covariance estimator of the gated "
                                                                       "optimizer (minimum variance)")
    covariance_estimators: tuple[CovarianceName, ...] = Field(COVARIANCE_ESTIMATORS, min_length=1,
                                                              description="the covariance sweep")
    risk_aversions: tuple[float, ...] = Field((1.0, 3.0, 10.0, 30.0, 100.0), min_length=1,
                                              description="the risk-aversion (gamma) grid of the utility sweep")
    n_bootstrap: int = Field(2000, ge=200, le=100_000, description="stationary block bootstrap resamples")
    mean_block_days: float = Field(21.0, ge=1.0, le=252.0, description="expected block length of the "
                                                                       "stationary bootstrap, in days")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="two-sided level of every interval")

    @field_validator("covariance_estimators")
    @classmethod
    def _unique_estimators(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"covariance_estimators lists a name twice: {list(value)}")
        return value

    @field_validator("risk_aversions")
    @classmethod
    def _positive_unique_gammas(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not gamma > 0 for gamma in value):
            raise ValueError(f"risk_aversions must all be > 0, got {list(value)}")
        if len(set(value)) != len(value):
            raise ValueError(f"risk_aversions lists a value twice: {list(value)}")
        return value
