"""The scalar, event-driven reference: one config, day by day, through the rules in ``_rules``.

Slow and plain on purpose; the vectorized kernel must reproduce its ledger and NAV. One day:

1. fill the orders decided yesterday (``fill_delay_days = 1``) at today's close (the last close
   if today has none), sells first;
2. mark to market: NAV, peak, drawdown; raise each holding's highest close;
3. exits, tickers in index order (:func:`exit_decision`);
4. on a signal day, entries, best score first (:func:`entry_block_before_sizing`, sizing, caps,
   correlation block).

With ``fill_delay_days = 0`` an order fills at the close it was decided on, at once. Caps and the
correlation block see the book: holdings after today's decided orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._config import ExecutorConfig
from ._features import MarketFeatures, market_features
from ._inputs import BacktestInputs
from ._results import ORDER_REASONS, BacktestResult, Orders
from ._rules import (
    BLOCK_REASONS,
    ENTRY,
    Holding,
    drawdown_multiplier,
    entry_block_before_sizing,
    entry_weight,
    exit_decision,
    pearson,
)

__all__ = ["simulate_scalar"]

_BEAR = 2


@dataclass
class _Order:
    decision_day: int
    ticker: int
    side: int
    shares: int
    reason: str


class _Book:
    """Cash, holdings and the ledger of one simulation."""

    def __init__(self, inputs: BacktestInputs, features: MarketFeatures, config: ExecutorConfig) -> None:
        self.inputs, self.features, self.config = inputs, features, config
        self.cash = config.initial_cash
        self.holdings: dict[int, Holding] = {}
        self.rows: list[tuple[int, int, int, int, int, float, float, int, int, float]] = []

    def invested(self, day: int) -> float:
        total = 0.0
        for ticker in sorted(self.holdings):
            total += self.holdings[ticker].shares * self.features.mark[day, ticker]
        return total

    def fill(self, order: _Order, day: int) -> None:
        mark = float(self.features.mark[day, order.ticker])
        slip = self.config.slippage
        if order.side > 0:
            price = mark * (1.0 + slip)
            notional = order.shares * price
            fee = notional * self.config.fee_rate
            self.cash -= notional + fee
            self.holdings[order.ticker] = Holding(order.shares, price, day, mark)
            self.rows.append((order.decision_day, day, order.ticker, 1, order.shares, price, fee,
                              ORDER_REASONS.index(ENTRY), -1, math.nan))
            return
        holding = self.holdings[order.ticker]
        price = mark * (1.0 - slip)
        notional = order.shares * price
        fee = notional * self.config.fee_rate
        self.cash += notional - fee
        self.rows.append((order.decision_day, day, order.ticker, -1, order.shares, price, fee,
                          ORDER_REASONS.index(order.reason), holding.entry_day, holding.avg_cost))
        holding.shares -= order.shares
        if holding.shares <= 0:
            del self.holdings[order.ticker]
        elif order.reason == "profit_take":
            holding.profit_reduced = True
        elif order.reason == "time_decay_reduce":
            holding.time_reduced = True


def simulate_scalar(inputs: BacktestInputs, config: ExecutorConfig,
                    features: MarketFeatures | None = None) -> BacktestResult:
    """Simulate ``config`` over ``inputs`` one day at a time (the reference simulator)."""
    f = features if features is not None else market_features(inputs, config)
    book = _Book(inputs, f, config)
    n_days, n_tickers = inputs.shape
    nav_out, cash_out, invested_out = np.empty(n_days), np.empty(n_days), np.empty(n_days)
    blocked = np.zeros(len(BLOCK_REASONS), np.int64)
    pending: list[_Order] = []
    peak = config.initial_cash
    for day in range(n_days):
        for order in pending:
            book.fill(order, day)
        pending = []
        nav = book.cash + book.invested(day)
        peak = max(peak, nav)
        dd_multiplier = drawdown_multiplier(nav / peak - 1.0, config)
        for ticker, holding in book.holdings.items():
            close = float(inputs.close[day, ticker])
            if not math.isnan(close):
                holding.highest_close = max(holding.highest_close, close)
        decided: list[_Order] = []
        held_at_open = set(book.holdings)
        shares_after = {ticker: holding.shares for ticker, holding in book.holdings.items()}
        signal = bool(inputs.signal_day[day])
        for ticker in sorted(book.holdings):
            close = float(inputs.close[day, ticker])
            if math.isnan(close):
                continue
            decision = exit_decision(
                book.holdings[ticker], day=day, close=close, atr=float(f.atr[day, ticker]),
                momentum=float(f.momentum[day, ticker]), relative_momentum=float(f.relative_momentum[day, ticker]),
                rsi=float(f.rsi[day, ticker]), research_action=int(inputs.action[day, ticker]) if signal else 0,
                config=config)
            if decision is not None:
                reason, shares = decision
                shares_after[ticker] -= shares
                decided.append(_Order(day, ticker, -1, shares, reason))
        if signal:
            candidates = f.enter_order[f.enter_start[day]:f.enter_start[day + 1]]
            for ticker in (int(t) for t in candidates):
                reason_or_shares = _entry(inputs, f, config, day, ticker, nav, dd_multiplier, len(candidates),
                                          ticker in held_at_open, shares_after)
                if isinstance(reason_or_shares, str):
                    blocked[BLOCK_REASONS.index(reason_or_shares)] += 1
                    continue
                shares_after[ticker] = reason_or_shares
                decided.append(_Order(day, ticker, 1, reason_or_shares, ENTRY))
        if config.fill_delay_days == 0:
            for order in decided:
                book.fill(order, day)
        else:
            pending = decided
        invested = book.invested(day)
        nav_out[day], cash_out[day], invested_out[day] = book.cash + invested, book.cash, invested
    return _result(inputs, config, book, nav_out, cash_out, invested_out, blocked, len(pending), "scalar")


def _entry(inputs: BacktestInputs, f: MarketFeatures, config: ExecutorConfig, day: int, ticker: int, nav: float,
           dd_multiplier: float, n_signals: int, held: bool, shares_after: dict[int, int]) -> str | int:
    """The shares to buy for one ENTER signal, or the block reason."""
    close = float(inputs.close[day, ticker])
    bear = int(inputs.regime[day]) == _BEAR
    reason = entry_block_before_sizing(
        held=held, close=close, score=float(inputs.score[day, ticker]), momentum=float(f.momentum[day, ticker]),
        dd_multiplier=dd_multiplier, bear=bear, sector_rating=int(inputs.sector_rating[day, ticker]),
        veto=bool(inputs.veto[day, ticker]), config=config)
    if reason is not None:
        return reason
    weight = entry_weight(n_signals=n_signals, sector_rating=int(inputs.sector_rating[day, ticker]),
                          conviction=int(inputs.conviction[day, ticker]), upside=float(inputs.upside[day, ticker]),
                          dd_multiplier=dd_multiplier, atr=float(f.atr[day, ticker]), close=close,
                          confidence=float(inputs.confidence[day, ticker]), bear=bear, config=config)
    dollars = nav * weight
    shares = int(math.floor(dollars / (close * (1.0 + config.slippage))))
    if dollars < config.min_position_dollar or shares <= 0:
        return "size_too_small"
    value = shares * close
    sector = int(inputs.sector_of[ticker])
    sector_exposure = 0.0
    total_exposure = 0.0
    for other in sorted(shares_after):
        exposure = shares_after[other] * f.mark[day, other]
        total_exposure += exposure
        if inputs.sector_of[other] == sector:
            sector_exposure += exposure
    if sector_exposure + value > config.max_sector_pct * nav:
        return "sector_cap"
    if total_exposure + value > config.max_equity_pct * nav:
        return "equity_cap"
    start = max(0, day - config.correlation_window + 1)
    mine = [float(r) for r in f.returns[start:day + 1, ticker]]
    total = 0.0
    count = 0
    for other in sorted(shares_after):
        if other == ticker or shares_after[other] <= 0 or inputs.sector_of[other] != sector:
            continue
        rho = pearson(mine, [float(r) for r in f.returns[start:day + 1, other]], config.correlation_window // 2)
        if not math.isnan(rho):
            total += rho
            count += 1
    if count > 0 and total / count > config.correlation_threshold:
        return "correlation"
    return shares


def _result(inputs: BacktestInputs, config: ExecutorConfig, book: _Book, nav: np.ndarray, cash: np.ndarray,
            invested: np.ndarray, blocked: np.ndarray, unfilled: int, simulator: str) -> BacktestResult:
    columns = list(zip(*book.rows, strict=True)) if book.rows else [()] * 10
    ints = {i: np.asarray(columns[i], np.int64) for i in (0, 1, 2, 3, 4, 7, 8)}
    floats = {i: np.asarray(columns[i], np.float64) for i in (5, 6, 9)}
    orders = Orders(decision_day=ints[0], fill_day=ints[1], ticker=ints[2], side=ints[3], shares=ints[4],
                    price=floats[5], fee=floats[6], reason=ints[7], entry_day=ints[8], entry_price=floats[9])
    held = sorted(book.holdings)
    return BacktestResult(
        config=config, dates=inputs.dates, tickers=inputs.tickers, nav=nav, cash=cash, invested=invested,
        orders=orders, open_ticker=np.asarray(held, np.int64),
        open_shares=np.asarray([book.holdings[t].shares for t in held], np.int64),
        open_avg_cost=np.asarray([book.holdings[t].avg_cost for t in held], np.float64),
        open_entry_day=np.asarray([book.holdings[t].entry_day for t in held], np.int64),
        blocked=blocked, unfilled=unfilled, simulator=simulator)
