"""The executor's decision rules, one function per decision, on plain scalars.

This is the logic a paper executor reuses: the scalar simulator calls these functions day by day,
and the vectorized kernel (``_vector.py``) re-implements them over arrays; the parity tests hold
the two to the same trades. Prices are closes (decisions happen at the close).

Exit cascade (first match wins), for a held ticker with a close today:
research EXIT -> research REDUCE -> ATR trailing stop (vetoed when the ticker outperforms its
sector) -> fallback stop (only when the ATR stop did not trigger at all) -> profit-take REDUCE
(once per position) -> momentum exit -> time decay (research HOLD only): EXIT after
``time_decay_exit_days``, else one REDUCE after ``time_decay_reduce_days``.

Entry gates (the first failing one is the block reason): held, no price, score, momentum,
drawdown halt, bear regime with an underweight sector, predictor veto, size too small, sector
cap, equity cap, correlation block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._config import ExecutorConfig

__all__ = [
    "BLOCK_REASONS", "ENTRY", "EXIT_REASONS", "REDUCE_REASONS", "SELL_REASONS", "Holding",
    "drawdown_multiplier", "entry_block_before_sizing", "entry_weight", "exit_decision",
    "pearson", "reduce_shares",
]

# Reason codes: the order index is the code both simulators record.
ENTRY = "entry"
SELL_REASONS = ("research_exit", "atr_trailing_stop", "fallback_stop", "momentum_exit", "time_decay_exit",
                "research_reduce", "profit_take", "time_decay_reduce")
EXIT_REASONS = SELL_REASONS[:5]
REDUCE_REASONS = SELL_REASONS[5:]
BLOCK_REASONS = ("held", "no_price", "low_score", "momentum_gate", "drawdown_halt", "bear_underweight",
                 "veto", "size_too_small", "sector_cap", "equity_cap", "correlation")

_HOLD, _ENTER, _EXIT, _REDUCE = 0, 1, 2, 3
_BEAR = 2
_OVERWEIGHT, _UNDERWEIGHT = 1, 2
_DECLINING = 2


@dataclass
class Holding:
    """One open position (mutable: the simulator updates it as the days pass)."""

    shares: int
    avg_cost: float  # the fill price paid, slippage included, fees excluded
    entry_day: int  # index of the fill day
    highest_close: float  # highest close since entry (close-only data: the "highest high")
    profit_reduced: bool = False  # profit-take REDUCE happens once per position
    time_reduced: bool = False  # time-decay REDUCE happens once per position


def drawdown_multiplier(drawdown: float, config: ExecutorConfig) -> float:
    """The entry-size multiplier at ``drawdown`` (``nav / peak - 1``, <= 0): the deepest tier reached,
    0 at or below the circuit breaker (entries halt)."""
    multiplier = 1.0
    for tier in config.drawdown_tiers:
        if drawdown <= tier.threshold:
            multiplier = tier.multiplier
    if drawdown <= -config.circuit_breaker:
        multiplier = 0.0
    return multiplier


def reduce_shares(shares: int, config: ExecutorConfig) -> int:
    """Shares a REDUCE sells: ``floor(shares * reduce_fraction)`` (0 means no order)."""
    return int(math.floor(shares * config.reduce_fraction))


def exit_decision(holding: Holding, *, day: int, close: float, atr: float, momentum: float,
                  relative_momentum: float, rsi: float, research_action: int,
                  config: ExecutorConfig) -> tuple[str, int] | None:
    """The exit of ``holding`` at today's ``close``, as (reason, shares to sell), or None.

    ``holding.highest_close`` must already include today's close. NaN features never trigger.
    """
    if research_action == _EXIT:
        return "research_exit", holding.shares
    if research_action == _REDUCE:
        return _reduce("research_reduce", holding, config)
    stop_hit = not math.isnan(atr) and close <= holding.highest_close - config.atr_multiplier * atr
    if stop_hit:
        vetoed = not math.isnan(relative_momentum) and relative_momentum > config.sector_relative_veto
        if not vetoed:
            return "atr_trailing_stop", holding.shares
    elif close <= holding.avg_cost * (1.0 - config.fallback_stop_pct):
        return "fallback_stop", holding.shares
    if not holding.profit_reduced and (close - holding.avg_cost) / holding.avg_cost >= config.profit_take_pct:
        return _reduce("profit_take", holding, config)
    if (not math.isnan(momentum) and not math.isnan(rsi) and momentum < config.momentum_exit
            and rsi < config.momentum_exit_rsi):
        return "momentum_exit", holding.shares
    if research_action == _HOLD:
        held_days = day - holding.entry_day
        if held_days >= config.time_decay_exit_days:
            return "time_decay_exit", holding.shares
        if held_days >= config.time_decay_reduce_days and not holding.time_reduced:
            return _reduce("time_decay_reduce", holding, config)
    return None


def _reduce(reason: str, holding: Holding, config: ExecutorConfig) -> tuple[str, int] | None:
    shares = reduce_shares(holding.shares, config)
    return (reason, shares) if shares > 0 else None


def entry_block_before_sizing(*, held: bool, close: float, score: float, momentum: float, dd_multiplier: float,
                              bear: bool, sector_rating: int, veto: bool, config: ExecutorConfig) -> str | None:
    """The first gate an ENTER signal fails before it is sized, or None."""
    if held:
        return "held"
    if math.isnan(close):
        return "no_price"
    if math.isnan(score) or score < config.min_score:
        return "low_score"
    if not math.isnan(momentum) and momentum < config.momentum_gate:
        return "momentum_gate"
    if dd_multiplier <= 0.0:
        return "drawdown_halt"
    if bear and config.bear_block_underweight and sector_rating == _UNDERWEIGHT:
        return "bear_underweight"
    if veto:
        return "veto"
    return None


def entry_weight(*, n_signals: int, sector_rating: int, conviction: int, upside: float, dd_multiplier: float,
                 atr: float, close: float, confidence: float, bear: bool, config: ExecutorConfig) -> float:
    """The NAV fraction to buy: ``1 / n_signals`` times the sector, conviction, upside, drawdown, ATR
    and confidence adjustments, capped at the position limit (the bear limit in a bear regime);
    a volatile name (ATR adjustment < 1) is also held to ``base * atr_adj * dd_multiplier``."""
    base = 1.0 / n_signals
    sector_adj = (config.sector_adj_overweight if sector_rating == _OVERWEIGHT
                  else config.sector_adj_underweight if sector_rating == _UNDERWEIGHT else 1.0)
    conviction_adj = config.declining_conviction_adj if conviction == _DECLINING else 1.0
    upside_adj = config.low_upside_adj if not math.isnan(upside) and upside < config.low_upside_threshold else 1.0
    atr_adj = 1.0
    if not math.isnan(atr) and atr > 0.0:
        atr_adj = min(max(config.atr_target_pct / (atr / close), config.atr_adj_min), config.atr_adj_max)
    confidence_adj = 1.0
    if not math.isnan(confidence):
        confidence_adj = config.confidence_adj_base + config.confidence_adj_slope * confidence
    raw = base * sector_adj * conviction_adj * upside_adj * dd_multiplier * atr_adj * confidence_adj
    weight = min(raw, config.bear_max_position_pct if bear else config.max_position_pct)
    if atr_adj < 1.0:
        weight = min(weight, base * atr_adj * dd_multiplier)
    return weight


def pearson(x: list[float], y: list[float], min_pairs: int) -> float:
    """Pearson correlation over the positions where both are finite (NaN if fewer than
    ``min_pairs`` pairs or no variance). Two passes, summed in order: the kernel does the same."""
    n = 0
    sum_x = 0.0
    sum_y = 0.0
    for a, b in zip(x, y, strict=True):
        if not (math.isnan(a) or math.isnan(b)):
            n += 1
            sum_x += a
            sum_y += b
    if n < min_pairs:
        return math.nan
    mean_x, mean_y = sum_x / n, sum_y / n
    sxx = syy = sxy = 0.0
    for a, b in zip(x, y, strict=True):
        if not (math.isnan(a) or math.isnan(b)):
            sxx += (a - mean_x) * (a - mean_x)
            syy += (b - mean_y) * (b - mean_y)
            sxy += (a - mean_x) * (b - mean_y)
    if sxx <= 0.0 or syy <= 0.0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)
