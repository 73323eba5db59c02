"""Options of the regime stages (``[stages.regime-substrate]``, ``[stages.regime-retrospective-eval]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["REGIME_ACTIONS", "RegimeRetrospectiveOptions", "RegimeSubstrateOptions"]

# The execution input ``regime_action``: produce (write the artifacts) or dry_run (compute, write nothing).
REGIME_ACTIONS = ("produce", "dry_run")


class _HMMOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    n_init: int = Field(3, ge=1, le=50, description="EM restarts of the HMM (seeds seed, seed + 1, ...)")
    n_iter: int = Field(100, ge=1, le=5000, description="EM iteration cap per restart")
    min_weeks: int = Field(104, ge=20, description="weeks of index history the fit needs")


class RegimeSubstrateOptions(_HMMOptions):
    hazard_weeks: float = Field(52.0, gt=1.0, description="BOCPD expected run length in weeks (hazard = 1 / this)")
    change_window_weeks: int = Field(4, ge=1, le=52, description="report P(change within the last k weeks)")
    zscore_window_weeks: int = Field(260, ge=26, description="trailing window of the composite's z-scores")


class RegimeRetrospectiveOptions(_HMMOptions):
    lag_weeks: int = Field(8, ge=1, description="only calls at least this many weeks old are scored")
    bear_miss_weight: float = Field(2.0, ge=1.0, description="cost of a missed bear week (other misses cost 1)")
    min_calls: int = Field(8, ge=1, description="fewer scorable calls than this: 'insufficient history'")
    n_bootstrap: int = Field(2000, ge=100, le=100_000, description="bootstrap resamples (over weeks) of the intervals")
