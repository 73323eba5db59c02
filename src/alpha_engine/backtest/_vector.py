"""The vectorized simulator: many configs over one panel in one numba kernel call
(combos x tickers x days), with a result per config identical to :func:`simulate_scalar`'s."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._config import ExecutorConfig
from ._errors import BacktestInputError
from ._features import MarketFeatures, market_features
from ._inputs import BacktestInputs
from ._results import BacktestResult, Orders
from ._rules import BLOCK_REASONS

__all__ = ["simulate_vectorized"]

# Config fields the features depend on, and the drawdown tiers: one value for a whole sweep.
_SHARED_FIELDS = ("atr_period", "rsi_period", "momentum_window", "drawdown_tiers")


def _packed(configs: Sequence[ExecutorConfig]) -> np.ndarray:
    from ._kernel import PARAM_FIELDS

    rows = []
    for config in configs:
        values = config.model_dump()
        values["slippage"] = config.slippage
        rows.append([float(values[name]) for name in PARAM_FIELDS])
    return np.asarray(rows, np.float64)


def simulate_vectorized(inputs: BacktestInputs, configs: Sequence[ExecutorConfig],
                        features: MarketFeatures | None = None, *, ledger_rows: int = 4096) -> list[BacktestResult]:
    """Simulate every config in ``configs`` over ``inputs``; one result per config, in order.

    The configs may differ in any field except ``atr_period``, ``rsi_period``, ``momentum_window``
    and ``drawdown_tiers`` (the shared features and tiers). ``ledger_rows`` is the first guess of
    orders per config; a config that needs more is re-run with exactly enough room.
    """
    from ._kernel import simulate_many

    if not configs:
        raise BacktestInputError("simulate_vectorized: no configs given; pass at least one ExecutorConfig")
    first = configs[0]
    for i, config in enumerate(configs[1:], start=1):
        for name in _SHARED_FIELDS:
            if getattr(config, name) != getattr(first, name):
                raise BacktestInputError(f"simulate_vectorized: configs[{i}].{name} differs from configs[0]'s; "
                                         f"{', '.join(_SHARED_FIELDS)} must be equal across one call")
    f = features if features is not None else market_features(inputs, first)
    params = _packed(configs)
    tiers_threshold = np.asarray([t.threshold for t in first.drawdown_tiers], np.float64)
    tiers_multiplier = np.asarray([t.multiplier for t in first.drawdown_tiers], np.float64)
    n_days, n_tickers = inputs.shape
    n_combos = len(configs)
    results: list[BacktestResult | None] = [None] * n_combos
    pending = np.arange(n_combos)
    rows = max(1, ledger_rows)
    while len(pending):
        batch = params[pending]
        nav, cash, invested = (np.empty((len(pending), n_days)) for _ in range(3))
        ints = np.empty((len(pending), rows, 7), np.int64)
        floats = np.empty((len(pending), rows, 3), np.float64)
        blocked = np.zeros((len(pending), len(BLOCK_REASONS)), np.int64)
        shares = np.zeros((len(pending), n_tickers), np.int64)
        avg_cost = np.zeros((len(pending), n_tickers))
        entry_day = np.zeros((len(pending), n_tickers), np.int64)
        counts = np.zeros((len(pending), 2), np.int64)
        simulate_many(batch, tiers_threshold, tiers_multiplier, inputs.close, f.mark, f.atr, f.momentum,
                      f.relative_momentum, f.rsi, f.returns, inputs.signal_day, inputs.regime, inputs.action,
                      inputs.score, inputs.conviction, inputs.sector_rating, inputs.upside, inputs.veto,
                      inputs.confidence, inputs.sector_of, f.enter_start, f.enter_order, nav, cash, invested,
                      ints, floats, blocked, shares, avg_cost, entry_day, counts)
        overflow = []
        for k, combo in enumerate(int(c) for c in pending):
            n_orders = int(counts[k, 0])
            if n_orders > rows:
                overflow.append(combo)
                continue
            led, fl = ints[k, :n_orders], floats[k, :n_orders]
            held = np.flatnonzero(shares[k] > 0)
            results[combo] = BacktestResult(
                config=configs[combo], dates=inputs.dates, tickers=inputs.tickers, nav=nav[k].copy(),
                cash=cash[k].copy(), invested=invested[k].copy(),
                orders=Orders(decision_day=led[:, 0].copy(), fill_day=led[:, 1].copy(), ticker=led[:, 2].copy(),
                              side=led[:, 3].copy(), shares=led[:, 4].copy(), price=fl[:, 0].copy(),
                              fee=fl[:, 1].copy(), reason=led[:, 5].copy(), entry_day=led[:, 6].copy(),
                              entry_price=fl[:, 2].copy()),
                open_ticker=held.astype(np.int64), open_shares=shares[k, held].copy(),
                open_avg_cost=avg_cost[k, held].copy(), open_entry_day=entry_day[k, held].copy(),
                blocked=blocked[k].copy(), unfilled=int(counts[k, 1]), simulator="vectorized")
        if overflow:
            rows = int(counts[:, 0].max())
        pending = np.asarray(overflow, np.int64)
    return [r for r in results if r is not None]
