"""The executor's rules as one typed, frozen config.

Every default cites where it comes from: ``ref §x`` is ``shared/reference/backtester.md``, the
study of the upstream backtester and executor. Where the reference gives a sweep grid but no
factory default, the default is the grid's middle value and the comment says so.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ATR_METHOD", "DrawdownTier", "ExecutorConfig"]

# Every result carries this flag: the simulators see closes only, so ATR is a close-to-close
# estimate (Wilder smoothing of |close_t - close_t-1|), a lower bound of the true range's ATR.
ATR_METHOD = "close_to_close"


class DrawdownTier(BaseModel):
    """At a drawdown at or below ``threshold`` (a negative fraction), entry sizes are multiplied by
    ``multiplier``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(lt=0.0, ge=-1.0)
    multiplier: float = Field(ge=0.0, le=1.0)


def _default_tiers() -> tuple[DrawdownTier, ...]:
    # ref §2.2 drawdown_multiplier: [(-0.02, 1.00), (-0.04, 0.50), (-0.06, 0.25)]
    return (DrawdownTier(threshold=-0.02, multiplier=1.0), DrawdownTier(threshold=-0.04, multiplier=0.5),
            DrawdownTier(threshold=-0.06, multiplier=0.25))


class ExecutorConfig(BaseModel):
    """Entries, exits, risk and costs of the executor; see docs/backtest.md for each rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- entries: gates (ref §2.2 "Entry pipeline") ---
    min_score: float = Field(70.0, ge=0.0, le=100.0)  # ref §2.5 signal threshold (config 70); §2.3 grid 65..80
    momentum_gate: float = -0.05  # ref §2.2: block when 20-day return < -5 %
    bear_block_underweight: bool = True  # ref §2.2: bear regime blocks underweight-sector entries
    # --- entries: sizing (ref §2.2 "Sizing") ---
    sector_adj_overweight: float = Field(1.05, gt=0.0)  # ref §2.2 sector_adj ow 1.05
    sector_adj_underweight: float = Field(0.85, gt=0.0)  # ref §2.2 sector_adj uw 0.85 (market weight 1.00)
    declining_conviction_adj: float = Field(0.70, gt=0.0)  # ref §2.2 conviction_adj (declining 0.70)
    low_upside_threshold: float = 0.05  # ref §2.2 upside_adj: price_target_upside < 0.05 ...
    low_upside_adj: float = Field(0.70, gt=0.0)  # ... -> 0.70
    atr_target_pct: float = Field(0.02, gt=0.0)  # ref §2.2 atr_adj = clip(0.02 / atr_pct, 0.5, 1.5)
    atr_adj_min: float = Field(0.5, gt=0.0)  # ref §2.2
    atr_adj_max: float = Field(1.5, gt=0.0)  # ref §2.2
    confidence_adj_base: float = 0.7  # ref §2.2 confidence_adj = 0.7 + 0.6 * confidence
    confidence_adj_slope: float = 0.6  # ref §2.2
    # --- entries: caps and blocks ---
    max_position_pct: float = Field(0.05, gt=0.0, le=1.0)  # ref §2.2 max_position_pct 0.05 (sweep 0.05..0.15)
    bear_max_position_pct: float = Field(0.025, gt=0.0, le=1.0)  # ref §2.2 bear_max_position_pct
    min_position_dollar: float = Field(500.0, ge=0.0)  # ref §2.2 min_position_dollar
    max_sector_pct: float = Field(0.25, gt=0.0, le=1.0)  # ref §2.2 sector cap
    max_equity_pct: float = Field(0.90, gt=0.0, le=1.0)  # ref §2.2 equity cap
    correlation_threshold: float = Field(0.80, ge=-1.0, le=1.0)  # ref §2.2 correlation block > 0.80
    correlation_window: int = Field(60, ge=3)  # ref §2.2: prior 60 daily returns
    # --- exits (ref §2.2 "Exit cascade") ---
    atr_period: int = Field(14, ge=1)  # ref §2.2 ATR$(14, Wilder)
    atr_multiplier: float = Field(3.0, gt=0.0)  # ref §2.3 grid [2, 2.5, 3, 4]; 3x as quant-anchors §3.1 a2
    sector_relative_veto: float = 0.05  # ref §2.2 sector_relative_outperform_threshold
    fallback_stop_pct: float = Field(0.10, gt=0.0, lt=1.0)  # ref §2.2 fallback_stop_pct
    profit_take_pct: float = Field(0.25, gt=0.0)  # ref §2.2 profit_take_pct 0.25 (sweep 0.15..0.30)
    momentum_window: int = Field(20, ge=1)  # ref §2.2 mom20
    momentum_exit: float = -0.15  # ref §2.2 momentum_exit_threshold -15 %
    rsi_period: int = Field(14, ge=1)  # ref §2.2 RSI14
    momentum_exit_rsi: float = Field(30.0, ge=0.0, le=100.0)  # ref §2.2 RSI14 < 30
    time_decay_reduce_days: int = Field(7, ge=1)  # ref §2.3 grid [5, 7, 10]: the middle value
    time_decay_exit_days: int = Field(15, ge=1)  # ref §2.3 grid [10, 15, 20]: the middle value
    reduce_fraction: float = Field(0.5, gt=0.0, le=1.0)  # ref §2.2 REDUCE = floor(shares * 0.5)
    # --- risk (ref §2.2 drawdown_multiplier) ---
    drawdown_tiers: tuple[DrawdownTier, ...] = Field(default_factory=_default_tiers)
    circuit_breaker: float = Field(0.08, gt=0.0, le=1.0)  # ref §2.2: drawdown <= -0.08 halts entries
    # --- costs and fills ---
    fee_rate: float = Field(0.001, ge=0.0, lt=1.0)  # ref §2.2 / §7 simulation_fees 0.001 per side
    slippage_bps: float = Field(10.0, ge=0.0, lt=10_000.0)  # ref §2.4 slippage_bps (config example 10)
    fill_delay_days: Literal[0, 1] = 1  # ref §2.4 assume_next_day_fill: decide at close d, fill at close d+1
    initial_cash: float = Field(1_000_000.0, gt=0.0)

    @model_validator(mode="after")
    def _check(self) -> ExecutorConfig:
        if self.time_decay_reduce_days > self.time_decay_exit_days:
            raise ValueError(f"time_decay_reduce_days ({self.time_decay_reduce_days}) must not exceed "
                             f"time_decay_exit_days ({self.time_decay_exit_days})")
        if self.atr_adj_min > self.atr_adj_max:
            raise ValueError(f"atr_adj_min ({self.atr_adj_min}) must not exceed atr_adj_max ({self.atr_adj_max})")
        thresholds = [tier.threshold for tier in self.drawdown_tiers]
        if thresholds != sorted(thresholds, reverse=True):
            raise ValueError(f"drawdown_tiers must be ordered from the shallowest threshold down, got {thresholds}")
        return self

    @property
    def slippage(self) -> float:
        """Slippage as a fraction of the price (buys pay ``close * (1 + s)``, sells get ``close * (1 - s)``)."""
        return self.slippage_bps / 10_000.0
