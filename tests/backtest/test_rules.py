"""The executor rules one by one, and hand-built panels whose right answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alpha_engine.backtest import ExecutorConfig, simulate_scalar, simulate_vectorized
from alpha_engine.backtest._rules import (
    Holding,
    drawdown_multiplier,
    entry_block_before_sizing,
    entry_weight,
    exit_decision,
    pearson,
)

from .conftest import hand_panel

NAN = math.nan
FREE = {"fee_rate": 0.0, "slippage_bps": 0.0, "fill_delay_days": 0}


def _exit(holding: Holding, close: float, *, atr: float = NAN, momentum: float = NAN, relative: float = NAN,
          rsi: float = NAN, action: int = 0, day: int = 1, **config: float) -> tuple[str, int] | None:
    return exit_decision(holding, day=day, close=close, atr=atr, momentum=momentum, relative_momentum=relative,
                         rsi=rsi, research_action=action, config=ExecutorConfig(**config))


def test_drawdown_tiers_and_the_circuit_breaker() -> None:
    config = ExecutorConfig()
    assert [drawdown_multiplier(dd, config) for dd in (0.0, -0.02, -0.039, -0.04, -0.06, -0.079, -0.08)] == \
        [1.0, 1.0, 1.0, 0.5, 0.25, 0.25, 0.0]


def test_atr_stop_triggers_at_the_highest_close_minus_k_atr() -> None:
    holding = Holding(100, 100.0, 0, 110.0)
    assert _exit(holding, 104.0, atr=2.0) == ("atr_trailing_stop", 100)  # 110 - 3 * 2 = 104
    assert _exit(holding, 104.01, atr=2.0) is None


def test_sector_outperformance_vetoes_the_atr_stop_but_not_the_fallback_path() -> None:
    holding = Holding(100, 100.0, 0, 110.0)
    assert _exit(holding, 104.0, atr=2.0, relative=0.06) is None
    # a vetoed ATR stop does not fall through to the fallback stop, even far below cost
    assert _exit(Holding(100, 130.0, 0, 140.0), 100.0, atr=2.0, relative=0.06) is None
    assert _exit(Holding(100, 130.0, 0, 140.0), 100.0, relative=0.06) == ("fallback_stop", 100)


def test_profit_take_reduces_once_per_position() -> None:
    holding = Holding(101, 100.0, 0, 125.0)
    assert _exit(holding, 125.0, atr=0.1) == ("profit_take", 50)
    holding.profit_reduced = True
    assert _exit(holding, 125.0, atr=0.1) is None


def test_momentum_exit_needs_both_weak_momentum_and_low_rsi() -> None:
    holding = Holding(10, 100.0, 0, 100.0)
    assert _exit(holding, 95.0, momentum=-0.2, rsi=25.0) == ("momentum_exit", 10)
    assert _exit(holding, 95.0, momentum=-0.2, rsi=35.0) is None


def test_time_decay_reduces_then_exits_and_only_on_research_hold() -> None:
    holding = Holding(10, 100.0, 0, 100.0)
    assert _exit(holding, 100.0, day=7) == ("time_decay_reduce", 5)
    holding.time_reduced = True
    assert _exit(holding, 100.0, day=8) is None
    assert _exit(holding, 100.0, day=15) == ("time_decay_exit", 10)
    assert _exit(holding, 100.0, day=15, action=1) is None  # a fresh ENTER keeps it


def test_research_exit_and_reduce_come_first() -> None:
    holding = Holding(9, 100.0, 0, 100.0)
    assert _exit(holding, 50.0, atr=1.0, action=2) == ("research_exit", 9)
    assert _exit(holding, 50.0, atr=1.0, action=3) == ("research_reduce", 4)
    assert _exit(Holding(1, 100.0, 0, 100.0), 100.0, action=3) is None  # floor(0.5) = 0 shares: no order


def test_entry_gates_in_order() -> None:
    config = ExecutorConfig()
    gate = {"held": False, "close": 10.0, "score": 80.0, "momentum": 0.0, "dd_multiplier": 1.0, "bear": False,
            "sector_rating": 0, "veto": False, "config": config}
    assert entry_block_before_sizing(**gate) is None
    assert entry_block_before_sizing(**{**gate, "held": True, "close": NAN}) == "held"
    assert entry_block_before_sizing(**{**gate, "close": NAN}) == "no_price"
    assert entry_block_before_sizing(**{**gate, "score": 69.9}) == "low_score"
    assert entry_block_before_sizing(**{**gate, "momentum": -0.06}) == "momentum_gate"
    assert entry_block_before_sizing(**{**gate, "dd_multiplier": 0.0}) == "drawdown_halt"
    assert entry_block_before_sizing(**{**gate, "bear": True, "sector_rating": 2}) == "bear_underweight"
    assert entry_block_before_sizing(**{**gate, "veto": True}) == "veto"


def test_entry_weight_multiplies_the_adjustments_and_caps() -> None:
    config = ExecutorConfig(max_position_pct=1.0)
    base = {"n_signals": 4, "sector_rating": 1, "conviction": 2, "upside": 0.01, "dd_multiplier": 0.5,
            "atr": 1.0, "close": 100.0, "confidence": 0.5, "bear": False, "config": config}
    # 0.25 * 1.05 * 0.70 * 0.70 * 0.5 * clip(0.02 / 0.01, 0.5, 1.5) * (0.7 + 0.3)
    assert entry_weight(**base) == pytest.approx(0.25 * 1.05 * 0.7 * 0.7 * 0.5 * 1.5 * 1.0)
    assert entry_weight(**{**base, "bear": True}) == 0.025
    # a volatile name (atr_adj 0.5) is held to base * atr_adj * dd_multiplier
    assert entry_weight(**{**base, "atr": 4.0, "sector_rating": 0, "conviction": 0, "upside": NAN,
                           "confidence": NAN, "dd_multiplier": 1.0}) == pytest.approx(0.125)


def test_pearson_matches_numpy_and_skips_nan_pairs() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(list(x), list(y), 10) == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    x[3] = np.nan
    assert pearson(list(x), list(y), 10) == pytest.approx(np.corrcoef(np.delete(x, 3), np.delete(y, 3))[0, 1])
    assert math.isnan(pearson(list(x), list(y), 50))


def _both(panel, config):  # type: ignore[no-untyped-def]
    scalar = simulate_scalar(panel, config)
    (vector,) = simulate_vectorized(panel, [config])
    return scalar, vector


def _ledger(result) -> list[tuple[int, str, int, int, float, str]]:  # type: ignore[no-untyped-def]
    frame = result.orders_frame()
    o = result.orders
    return [(int(o.fill_day[i]), str(frame.ticker[i]), int(o.side[i]), int(o.shares[i]), round(float(o.price[i]), 9),
             str(frame.reason[i])) for i in range(len(o))]


def test_a_stop_hit_on_a_known_day() -> None:
    closes = [[100.0], [101.0], [102.0], [103.0], [104.0], [105.0], [100.0], [100.0]]
    config = ExecutorConfig(atr_period=5, atr_multiplier=2.0, time_decay_reduce_days=50, time_decay_exit_days=60,
                            **FREE)
    # ATR on day 6 = (1 * 4 + 5) / 5 = 1.8; stop = 105 - 3.6 = 101.4 >= 100
    for result in _both(hand_panel(closes, enter={0: [0]}), config):
        assert _ledger(result) == [(0, "T0", 1, 500, 100.0, "entry"), (6, "T0", -1, 500, 100.0, "atr_trailing_stop")]
        assert result.nav[-1] == 1_000_000.0


def test_a_time_decay_reduce_then_exit() -> None:
    closes = [[100.0 + 0.1 * d] for d in range(8)]
    config = ExecutorConfig(time_decay_reduce_days=3, time_decay_exit_days=5, **FREE)
    for result in _both(hand_panel(closes, enter={0: [0]}), config):
        assert _ledger(result) == [(0, "T0", 1, 500, 100.0, "entry"), (3, "T0", -1, 250, 100.3, "time_decay_reduce"),
                                   (5, "T0", -1, 250, 100.5, "time_decay_exit")]
        assert result.nav[-1] == pytest.approx(1_000_000.0 + 250 * 0.3 + 250 * 0.5)


def test_a_circuit_breaker_day_halts_entries() -> None:
    closes = [[100.0, 50.0], [100.0, 50.0], [80.0, 50.0], [80.0, 50.0]]
    config = ExecutorConfig(max_position_pct=0.5, max_sector_pct=1.0, max_equity_pct=1.0, atr_period=10, **FREE)
    for result in _both(hand_panel(closes, enter={0: [0], 2: [1]}), config):
        # NAV on day 2 = 500,000 cash + 5,000 x 80 = 900,000: a 10 % drawdown, past the 8 % breaker
        assert _ledger(result) == [(0, "T0", 1, 5000, 100.0, "entry"), (2, "T0", -1, 5000, 80.0, "fallback_stop")]
        assert result.blocked_counts()["drawdown_halt"] == 1
        assert result.nav[2] == 900_000.0


def test_next_day_fills_use_the_next_close_with_costs() -> None:
    closes = [[100.0], [110.0], [120.0]]
    config = ExecutorConfig(fill_delay_days=1, fee_rate=0.001, slippage_bps=10.0)
    for result in _both(hand_panel(closes, enter={0: [0]}), config):
        (day, ticker, side, shares, price, reason), = _ledger(result)
        # sized on day 0's close (50,000 / 100.1 -> 499 shares), filled at day 1's close plus 10 bp
        assert (day, side, shares, reason) == (1, 1, 499, "entry")
        assert price == pytest.approx(110.0 * 1.001)
        assert result.cash[1] == pytest.approx(1_000_000.0 - 499 * 110.11 * 1.001)
