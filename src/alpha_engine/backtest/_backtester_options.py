"""Options of the Backtester stage (``[stages.backtester]``); light (pydantic only)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["DEFAULT_SEARCH_GRID", "SEARCHABLE_PARAMS", "BacktesterOptions"]

# backtester.md §2.3: the config's core grid (6 parameters, 1,728 combinations).
DEFAULT_SEARCH_GRID: dict[str, tuple[float, ...]] = {
    "min_score": (65.0, 70.0, 75.0, 80.0),
    "max_position_pct": (0.05, 0.10, 0.15),
    "atr_multiplier": (2.0, 2.5, 3.0, 4.0),
    "time_decay_reduce_days": (5.0, 7.0, 10.0),
    "time_decay_exit_days": (10.0, 15.0, 20.0),
    "profit_take_pct": (0.15, 0.20, 0.25, 0.30),
}
# Upstream never auto-tunes the circuit breaker, the sector or equity caps (§2.3 SAFE_PARAMS); nor do we.
SEARCHABLE_PARAMS = ("min_score", "max_position_pct", "atr_multiplier", "time_decay_reduce_days",
                     "time_decay_exit_days", "profit_take_pct", "fallback_stop_pct", "reduce_fraction",
                     "momentum_exit", "momentum_gate", "bear_max_position_pct", "correlation_threshold")


class BacktesterOptions(BaseModel):
    """The simulation window, where the signals come from, the parameter search and its holdout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: float = Field(10.0, gt=0.0, le=30.0, description="simulate the last N years up to the run's as-of session "
                                                            "(or all stored history when shorter)")
    current: dict[str, Any] = Field(default_factory=dict, description="the executor config in force: ExecutorConfig "
                                                                      "fields overriding its defaults")
    signal_source: Literal["auto", "stored", "synthetic"] = Field(
        "auto", description="stored: signals/{date}/signals.json of past weeks; synthetic: the weekly technical score of "
                            "backtester.md §2.5 from the closes; auto: stored when at least min_signal_dates exist")
    min_signal_dates: int = Field(5, ge=2, description="fewer stored signal dates than this is too few to simulate "
                                                       "(upstream min_simulation_dates)")
    synthetic_min_score: float = Field(70.0, ge=0.0, le=100.0, description="synthetic ENTER threshold (§2.5)")
    synthetic_top_n: int = Field(20, ge=1, description="synthetic ENTERs per week at most (§2.5)")
    synthetic_exit_below: float = Field(30.0, ge=0.0, le=100.0, description="synthetic EXIT below this score (§2.5)")
    search: Literal["random", "grid"] = Field("random", description="random: n_trials seeded draws from the grid; "
                                                                    "grid: every combination")
    n_trials: int = Field(60, ge=1, le=5000, description="random-search trials (60 hit the top 5 % with 95 % "
                                                         "probability); the current params are always added")
    grid: dict[str, tuple[float, ...]] = Field(default_factory=lambda: dict(DEFAULT_SEARCH_GRID),
                                               description="parameter -> values searched (§2.3's core grid)")
    holdout_fraction: float = Field(0.3, ge=0.1, le=0.5, description="the last part of the window, never seen by the "
                                                                     "search, on which the selection is judged")
    drawdown_penalty: float = Field(0.5, ge=0.0, description="selection score = Sharpe - penalty x |max drawdown|")
    min_completion: float = Field(0.5, gt=0.0, le=1.0, description="below this share of trials completing with orders "
                                                                   "the optimizer refuses to recommend (§2.3)")
    min_trades: int = Field(20, ge=0, description="a selected config with fewer search-part trades is not recommended")
    n_bootstrap: int = Field(1000, ge=200, le=100_000, description="stationary bootstrap resamples")
    mean_block_days: float = Field(20.0, ge=1.0, le=252.0, description="mean block length of the bootstrap, in days")
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="two-sided level of the paired Sharpe-difference "
                                                               "intervals (the statistics' own intervals are 95 %)")
    parity_check: bool = Field(True, description="run the scalar reference on the current config and compare it "
                                                 "trade for trade with the vectorized kernel")

    @field_validator("grid")
    @classmethod
    def _known_params(cls, value: dict[str, tuple[float, ...]]) -> dict[str, tuple[float, ...]]:
        unknown = sorted(set(value) - set(SEARCHABLE_PARAMS))
        if unknown:
            raise ValueError(f"grid names {unknown}, which the search may not tune; tunable: {list(SEARCHABLE_PARAMS)}")
        empty = sorted(name for name, values in value.items() if not values)
        if empty:
            raise ValueError(f"grid lists no values for {empty}")
        return {name: tuple(sorted(set(values))) for name, values in sorted(value.items())}
