"""The scalar reference and the vectorized kernel agree trade for trade and NAV to 1e-9: on seeded
random panels, on the bundled sample, and through one multi-config kernel call; a planted flaw in
either the fill timing or a rule makes the check fail."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpha_engine.backtest import (
    ORDER_REASONS,
    BacktestInputs,
    ExecutorConfig,
    ParityError,
    _scalar,
    assert_parity,
    close_panel,
    parity_differences,
    signals_panel,
    simulate_scalar,
    simulate_vectorized,
    synthetic_inputs,
)

configs = st.builds(
    ExecutorConfig,
    min_score=st.sampled_from([50.0, 70.0, 85.0]),
    max_position_pct=st.sampled_from([0.05, 0.10, 0.15]),
    atr_multiplier=st.sampled_from([1.0, 2.0, 3.0]),
    time_decay_reduce_days=st.integers(2, 8),
    time_decay_exit_days=st.integers(8, 20),
    profit_take_pct=st.sampled_from([0.05, 0.15, 0.25]),
    circuit_breaker=st.sampled_from([0.03, 0.08]),
    fill_delay_days=st.sampled_from([0, 1]),
    fee_rate=st.sampled_from([0.0, 0.001]),
    slippage_bps=st.sampled_from([0.0, 10.0]),
    max_sector_pct=st.sampled_from([0.1, 0.25]),
    correlation_threshold=st.sampled_from([0.3, 0.8]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), config=configs, correlation=st.sampled_from([0.0, 0.6, 0.9]))
def test_random_panels_agree_trade_for_trade(seed: int, config: ExecutorConfig, correlation: float) -> None:
    inputs = synthetic_inputs(25, 160, seed=seed, n_sectors=3, signal_every=3, enter_per_signal=8,
                              gap_probability=0.01, sector_correlation=correlation)
    (vector,) = simulate_vectorized(inputs, [config], ledger_rows=8)  # tiny first guess: exercises the re-run
    assert_parity(simulate_scalar(inputs, config), vector)


def _coverage_runs() -> list[tuple[BacktestInputs, ExecutorConfig]]:
    runs = []
    for seed in range(4):
        inputs = synthetic_inputs(30, 250, seed=seed, n_sectors=3, signal_every=4, enter_per_signal=10,
                                  sector_correlation=0.8, vol_range=(0.01, 0.05))
        runs.append((inputs, ExecutorConfig(profit_take_pct=0.05, max_position_pct=0.15, circuit_breaker=0.03,
                                            atr_multiplier=4.0, fill_delay_days=seed % 2, atr_period=30)))
    return runs


def test_the_parity_runs_cover_every_exit_reason_and_circuit_breaker_days() -> None:
    seen: set[str] = set()
    halted = 0
    for inputs, config in _coverage_runs():
        scalar = simulate_scalar(inputs, config)
        (vector,) = simulate_vectorized(inputs, [config])
        assert_parity(scalar, vector)
        seen |= {ORDER_REASONS[code] for code in scalar.orders.reason}
        halted += scalar.blocked_counts()["drawdown_halt"]
    assert seen == set(ORDER_REASONS)
    assert halted > 0


def test_one_kernel_call_over_many_configs_equals_the_scalar_runs() -> None:
    inputs = synthetic_inputs(40, 200, seed=7, n_sectors=4, sector_correlation=0.7)
    grid = [ExecutorConfig(atr_multiplier=k, time_decay_exit_days=h, fill_delay_days=d)
            for k in (1.5, 3.0) for h in (10, 20) for d in (0, 1)]
    for config, vector in zip(grid, simulate_vectorized(inputs, grid), strict=True):
        assert vector.config == config
        assert_parity(simulate_scalar(inputs, config), vector)


def _sample_inputs() -> BacktestInputs:
    from alpha_engine.data.providers import SAMPLE_SECTORS, SampleProvider

    provider = SampleProvider()
    frames = provider.daily_bars(sorted(SAMPLE_SECTORS), date(2012, 12, 1), date(2022, 12, 28))
    dates, tickers, close = close_panel(frames)
    sectors = tuple(sorted(set(SAMPLE_SECTORS.values())))
    rng = np.random.default_rng(14)
    documents = {}
    day = date(2013, 1, 5)
    while day <= date(2022, 12, 24):  # a Saturday run each week, scores at random (seeded)
        scores = rng.uniform(30.0, 100.0, size=len(tickers))
        ranked = np.argsort(-scores)
        signal = np.full(len(tickers), "HOLD", dtype=object)
        signal[ranked[:4]] = "ENTER"
        signal[ranked[-2:]] = "EXIT"
        documents[day] = {"market_regime": str(rng.choice(["bull", "neutral", "bear"])), "universe": [
            {"ticker": t, "signal": signal[i], "score": float(scores[i]), "conviction": "stable",
             "sector_rating": "market_weight", "price_target_upside": None} for i, t in enumerate(tickers)]}
        day += timedelta(days=7)
    arrays, _ = signals_panel(documents, dates, tickers)
    return BacktestInputs(dates=dates, tickers=tickers, close=close,
                          sector_of=np.asarray([sectors.index(SAMPLE_SECTORS[t]) for t in tickers], np.int64),
                          sectors=sectors, **arrays)


@pytest.mark.parametrize("delay", [0, 1])
def test_the_bundled_sample_agrees_trade_for_trade(delay: int) -> None:
    inputs = _sample_inputs()
    config = ExecutorConfig(fill_delay_days=delay, max_position_pct=0.15, max_sector_pct=0.4)
    scalar = simulate_scalar(inputs, config)
    (vector,) = simulate_vectorized(inputs, [config])
    assert len(scalar.orders) > 200
    assert parity_differences(scalar, vector) == []
    assert scalar.atr_method == vector.atr_method == "close_to_close"


def test_a_fill_one_day_late_breaks_parity(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, config = _coverage_runs()[0]
    (vector,) = simulate_vectorized(inputs, [config])
    fill = _scalar._Book.fill
    last = inputs.shape[0] - 1

    def late(self: _scalar._Book, order: _scalar._Order, day: int) -> None:  # the planted off-by-one
        fill(self, order, min(day + 1, last))

    monkeypatch.setattr(_scalar._Book, "fill", late)
    with pytest.raises(ParityError, match="order"):
        assert_parity(simulate_scalar(inputs, config), vector)


def test_a_rule_dropped_from_one_simulator_breaks_parity(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs, config = _coverage_runs()[1]
    (vector,) = simulate_vectorized(inputs, [config])
    decide = _scalar.exit_decision

    def no_time_decay(holding, **kwargs):  # type: ignore[no-untyped-def]
        decision = decide(holding, **kwargs)
        return None if decision is not None and decision[0].startswith("time_decay") else decision

    monkeypatch.setattr(_scalar, "exit_decision", no_time_decay)
    assert parity_differences(simulate_scalar(inputs, config), vector)


def test_configs_that_change_the_shared_features_cannot_share_a_call() -> None:
    from alpha_engine.backtest import BacktestInputError

    inputs = synthetic_inputs(5, 30, seed=0)
    with pytest.raises(BacktestInputError, match="atr_period"):
        simulate_vectorized(inputs, [ExecutorConfig(), ExecutorConfig(atr_period=10)])
