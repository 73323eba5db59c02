"""``[stages.evaluator]``: the Evaluator's options (every key optional)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["AutoApplyOptions", "EvaluatorOptions"]


class AutoApplyOptions(BaseModel):
    """``[stages.evaluator.auto_apply]``: the guardrails of the config auto-apply (docs/evaluator.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Compute every decision and record what would be applied or rolled back; write nothing under config/.
    freeze: bool = False
    # Executor params: the Backtester's holdout guard plus these.
    executor_min_completion: float = Field(0.5, gt=0, le=1)  # share of search trials that completed with orders
    # Largest |new - old| / |old| of any changed numeric param (1.0: nothing more than doubles or vanishes in a week).
    executor_max_relative_change: float = Field(1.0, gt=0)
    # Veto threshold: the smallest move worth applying (one step of the 0.50..0.80 sweep grid; the evidence
    # gate is the interval's lower bound, not this step).
    veto_min_change: float = Field(0.05, ge=0, le=1)
    # Weekly regression check against the promotion baseline: roll back when the week's Sharpe is below the
    # baseline's interval low, or its max drawdown is worse than the baseline's by more than this (fraction of NAV).
    regression_check: bool = True
    max_drawdown_worsening: float = Field(0.05, gt=0, le=1)


class EvaluatorOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Signal dates graded: those within this many weeks before the run date (a short window for speed).
    lookback_weeks: int = Field(52, ge=1, le=520)
    # Sessions after the entry close at which signal outcomes are measured.
    horizons: tuple[int, ...] = (5, 10, 30)
    primary_horizon: int = Field(10, ge=1)  # the horizon the scorecard grades signals at
    ic_horizons: tuple[int, ...] = (1, 5, 10, 21)  # predictor IC decay
    predictor_horizon: int = Field(21, ge=1)  # calibration, confusion and veto outcomes (the label's horizon)
    # Sample-size floors: below them a figure is "insufficient data", never a grade.
    min_observations: int = Field(20, ge=5)  # a hit rate, a slice test, a graded component
    min_ic_dates: int = Field(8, ge=3)  # dates with an IC, for a mean IC and its interval
    min_names_per_date: int = Field(5, ge=3)  # names in a cross-section, for one IC
    min_calibration: int = Field(50, ge=10)  # resolved predictions, for ECE and the confusion matrix
    min_attribution_rows: int = Field(100, ge=10)
    min_vetoes: int = Field(10, ge=1)  # vetoes at a threshold, for its precision
    min_trades: int = Field(10, ge=3)  # round trips, for exit timing
    fdr_q: float = Field(0.05, gt=0, lt=1)  # Benjamini-Hochberg false discovery rate
    veto_thresholds: tuple[float, ...] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
    veto_position_usd: float = Field(50_000.0, gt=0)  # notional per vetoed entry (no shadow book here)
    max_hold_sessions: int = Field(30, ge=2)  # exit timing: the longest holding window followed
    auto_apply: AutoApplyOptions = Field(default_factory=lambda: AutoApplyOptions.model_validate({}))

    @model_validator(mode="after")
    def _check(self) -> EvaluatorOptions:
        if self.primary_horizon not in self.horizons:
            raise ValueError(f"primary_horizon {self.primary_horizon} must be one of horizons {list(self.horizons)}")
        if self.predictor_horizon not in self.ic_horizons:
            raise ValueError(f"predictor_horizon {self.predictor_horizon} must be one of ic_horizons "
                             f"{list(self.ic_horizons)}")
        if any(h < 1 for h in (*self.horizons, *self.ic_horizons)):
            raise ValueError("horizons must be positive session counts")
        return self
