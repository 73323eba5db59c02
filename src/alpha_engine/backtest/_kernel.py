"""The numba kernel behind :func:`simulate_vectorized`: the scalar reference's day loop over
arrays, for many configs at once (one config per parallel iteration, tickers as arrays).

It mirrors ``_scalar.py`` and ``_rules.py`` statement for statement, summing in the same order,
so the two agree to the last bit in practice; the parity tests hold them to 1e-9. Numba earns its
place here: the day loop is path-dependent (shared cash, caps, stops on the running high), and a
numpy loop over 2,520 days pays ~2 us per array call, several times the whole budget of 0.15 s.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# Packed per-config parameters: index -> ExecutorConfig field (bools as 0/1).
PARAM_FIELDS = (
    "min_score", "momentum_gate", "bear_block_underweight", "sector_adj_overweight", "sector_adj_underweight",
    "declining_conviction_adj", "low_upside_threshold", "low_upside_adj", "atr_target_pct", "atr_adj_min",
    "atr_adj_max", "confidence_adj_base", "confidence_adj_slope", "max_position_pct", "bear_max_position_pct",
    "min_position_dollar", "max_sector_pct", "max_equity_pct", "correlation_threshold", "correlation_window",
    "atr_multiplier", "sector_relative_veto", "fallback_stop_pct", "profit_take_pct", "momentum_exit",
    "momentum_exit_rsi", "time_decay_reduce_days", "time_decay_exit_days", "reduce_fraction", "circuit_breaker",
    "fee_rate", "slippage", "fill_delay_days", "initial_cash",
)
(P_MIN_SCORE, P_MOM_GATE, P_BEAR_BLOCK, P_SECT_OW, P_SECT_UW, P_DECLINING, P_UPSIDE_THR, P_UPSIDE_ADJ,
 P_ATR_TARGET, P_ATR_MIN, P_ATR_MAX, P_CONF_BASE, P_CONF_SLOPE, P_MAX_POS, P_BEAR_MAX_POS, P_MIN_DOLLAR,
 P_MAX_SECTOR, P_MAX_EQUITY, P_CORR_THR, P_CORR_WINDOW, P_ATR_MULT, P_REL_VETO, P_FALLBACK, P_PROFIT,
 P_MOM_EXIT, P_MOM_RSI, P_TD_REDUCE, P_TD_EXIT, P_REDUCE_FRAC, P_BREAKER, P_FEE, P_SLIP, P_DELAY,
 P_CASH) = range(len(PARAM_FIELDS))

# Order reasons (as _results.ORDER_REASONS) and block reasons (as _rules.BLOCK_REASONS).
R_ENTRY, R_RESEARCH_EXIT, R_ATR, R_FALLBACK, R_MOMENTUM, R_TIME_EXIT, R_RESEARCH_REDUCE, R_PROFIT, R_TIME_REDUCE = range(9)
(B_HELD, B_NO_PRICE, B_LOW_SCORE, B_MOMENTUM, B_HALT, B_BEAR_UW, B_VETO, B_SIZE, B_SECTOR, B_EQUITY,
 B_CORRELATION) = range(11)
# Integer ledger columns; float columns are price, fee, entry_price.
O_DECISION, O_FILL, O_TICKER, O_SIDE, O_SHARES, O_REASON, O_ENTRY_DAY = range(7)



@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pearson(returns: np.ndarray, start: int, stop: int, a: int, b: int, min_pairs: int) -> float:
    n = 0
    sum_x = 0.0
    sum_y = 0.0
    for day in range(start, stop):
        x, y = returns[day, a], returns[day, b]
        if not (math.isnan(x) or math.isnan(y)):
            n += 1
            sum_x += x
            sum_y += y
    if n < min_pairs:
        return math.nan
    mean_x, mean_y = sum_x / n, sum_y / n
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for day in range(start, stop):
        x, y = returns[day, a], returns[day, b]
        if not (math.isnan(x) or math.isnan(y)):
            sxx += (x - mean_x) * (x - mean_x)
            syy += (y - mean_y) * (y - mean_y)
            sxy += (x - mean_x) * (y - mean_y)
    if sxx <= 0.0 or syy <= 0.0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _fill(p: np.ndarray, day: int, decision_day: int, t: int, side: int, n: int, reason: int, mark: np.ndarray,
          shares: np.ndarray, avg_cost: np.ndarray, entry_day: np.ndarray, highest: np.ndarray,
          profit_reduced: np.ndarray, time_reduced: np.ndarray, cash: float, ints: np.ndarray, floats: np.ndarray,
          n_orders: int) -> float:
    """Apply one fill; returns the new cash. Writes ledger row ``n_orders`` if it fits."""
    price_mark = mark[day, t]
    row = n_orders < ints.shape[0]
    if side > 0:
        price = price_mark * (1.0 + p[P_SLIP])
        notional = n * price
        fee = notional * p[P_FEE]
        cash -= notional + fee
        shares[t] = n
        avg_cost[t] = price
        entry_day[t] = day
        highest[t] = price_mark
        profit_reduced[t] = False
        time_reduced[t] = False
        if row:
            ints[n_orders, O_ENTRY_DAY] = -1
            floats[n_orders, 2] = math.nan
    else:
        price = price_mark * (1.0 - p[P_SLIP])
        notional = n * price
        fee = notional * p[P_FEE]
        cash += notional - fee
        if row:
            ints[n_orders, O_ENTRY_DAY] = entry_day[t]
            floats[n_orders, 2] = avg_cost[t]
        shares[t] -= n
        if shares[t] <= 0:
            shares[t] = 0
        elif reason == R_PROFIT:
            profit_reduced[t] = True
        elif reason == R_TIME_REDUCE:
            time_reduced[t] = True
    if row:
        ints[n_orders, O_DECISION] = decision_day
        ints[n_orders, O_FILL] = day
        ints[n_orders, O_TICKER] = t
        ints[n_orders, O_SIDE] = side
        ints[n_orders, O_SHARES] = n
        ints[n_orders, O_REASON] = reason
        floats[n_orders, 0] = price
        floats[n_orders, 1] = fee
    return cash


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _exit(p: np.ndarray, day: int, close: float, atr: float, mom: float, rel: float, rsi: float, action: int,
          shares: int, avg_cost: float, entry_day: int, highest: float, profit_reduced: bool,
          time_reduced: bool) -> tuple[int, int]:
    """(reason, shares) of the exit cascade, or (-1, 0)."""
    if action == 2:
        return R_RESEARCH_EXIT, shares
    if action == 3:
        n = int(math.floor(shares * p[P_REDUCE_FRAC]))
        return (R_RESEARCH_REDUCE, n) if n > 0 else (-1, 0)
    stop_hit = (not math.isnan(atr)) and close <= highest - p[P_ATR_MULT] * atr
    if stop_hit:
        vetoed = (not math.isnan(rel)) and rel > p[P_REL_VETO]
        if not vetoed:
            return R_ATR, shares
    elif close <= avg_cost * (1.0 - p[P_FALLBACK]):
        return R_FALLBACK, shares
    if (not profit_reduced) and (close - avg_cost) / avg_cost >= p[P_PROFIT]:
        n = int(math.floor(shares * p[P_REDUCE_FRAC]))
        return (R_PROFIT, n) if n > 0 else (-1, 0)
    if (not math.isnan(mom)) and (not math.isnan(rsi)) and mom < p[P_MOM_EXIT] and rsi < p[P_MOM_RSI]:
        return R_MOMENTUM, shares
    if action == 0:
        held_days = day - entry_day
        if held_days >= p[P_TD_EXIT]:
            return R_TIME_EXIT, shares
        if held_days >= p[P_TD_REDUCE] and not time_reduced:
            n = int(math.floor(shares * p[P_REDUCE_FRAC]))
            return (R_TIME_REDUCE, n) if n > 0 else (-1, 0)
    return -1, 0


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _entry_weight(p: np.ndarray, n_signals: int, rating: int, conviction: int, upside: float, ddm: float,
                  atr: float, close: float, confidence: float, bear: bool) -> float:
    base = 1.0 / n_signals
    sector_adj = p[P_SECT_OW] if rating == 1 else (p[P_SECT_UW] if rating == 2 else 1.0)
    conviction_adj = p[P_DECLINING] if conviction == 2 else 1.0
    upside_adj = p[P_UPSIDE_ADJ] if (not math.isnan(upside)) and upside < p[P_UPSIDE_THR] else 1.0
    atr_adj = 1.0
    if (not math.isnan(atr)) and atr > 0.0:
        atr_adj = min(max(p[P_ATR_TARGET] / (atr / close), p[P_ATR_MIN]), p[P_ATR_MAX])
    confidence_adj = 1.0
    if not math.isnan(confidence):
        confidence_adj = p[P_CONF_BASE] + p[P_CONF_SLOPE] * confidence
    raw = base * sector_adj * conviction_adj * upside_adj * ddm * atr_adj * confidence_adj
    weight = min(raw, p[P_BEAR_MAX_POS] if bear else p[P_MAX_POS])
    if atr_adj < 1.0:
        weight = min(weight, base * atr_adj * ddm)
    return float(weight)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def simulate_one(p: np.ndarray, tier_threshold: np.ndarray, tier_multiplier: np.ndarray, close: np.ndarray,
                 mark: np.ndarray, atr: np.ndarray, mom: np.ndarray, rel: np.ndarray, rsi: np.ndarray,
                 returns: np.ndarray, signal_day: np.ndarray, regime: np.ndarray, action: np.ndarray,
                 score: np.ndarray, conviction: np.ndarray, rating: np.ndarray, upside: np.ndarray,
                 veto: np.ndarray, confidence: np.ndarray, sector_of: np.ndarray, enter_start: np.ndarray,
                 enter_order: np.ndarray, nav_out: np.ndarray, cash_out: np.ndarray, invested_out: np.ndarray,
                 ints: np.ndarray, floats: np.ndarray, blocked: np.ndarray, shares: np.ndarray,
                 avg_cost: np.ndarray, entry_day: np.ndarray) -> tuple[int, int]:
    """One config over the whole panel. Returns (orders filled, orders left unfilled); the ledger
    rows beyond ``ints.shape[0]`` are counted but not written (the caller re-runs with room)."""
    n_days, n_tickers = close.shape
    highest = np.zeros(n_tickers)
    profit_reduced = np.zeros(n_tickers, np.bool_)
    time_reduced = np.zeros(n_tickers, np.bool_)
    held_at_open = np.zeros(n_tickers, np.bool_)
    after = np.zeros(n_tickers, np.int64)
    max_pending = 2 * n_tickers + 1
    pend_ticker = np.zeros(max_pending, np.int64)
    pend_side = np.zeros(max_pending, np.int64)
    pend_shares = np.zeros(max_pending, np.int64)
    pend_reason = np.zeros(max_pending, np.int64)
    n_pending = 0
    pend_day = -1
    delay = int(p[P_DELAY])
    window = int(p[P_CORR_WINDOW])
    min_pairs = window // 2
    cash = p[P_CASH]
    peak = p[P_CASH]
    n_orders = 0
    for day in range(n_days):
        for k in range(n_pending):
            cash = _fill(p, day, pend_day, pend_ticker[k], pend_side[k], pend_shares[k], pend_reason[k], mark,
                         shares, avg_cost, entry_day, highest, profit_reduced, time_reduced, cash, ints, floats,
                         n_orders)
            n_orders += 1
        n_pending = 0
        invested = 0.0
        for t in range(n_tickers):
            if shares[t] > 0:
                invested += shares[t] * mark[day, t]
        nav = cash + invested
        peak = max(peak, nav)
        drawdown = nav / peak - 1.0
        ddm = 1.0
        for k in range(tier_threshold.shape[0]):
            if drawdown <= tier_threshold[k]:
                ddm = tier_multiplier[k]
        if drawdown <= -p[P_BREAKER]:
            ddm = 0.0
        is_signal = signal_day[day]
        for t in range(n_tickers):
            held_at_open[t] = shares[t] > 0
            after[t] = shares[t]
            if shares[t] > 0 and not math.isnan(close[day, t]):
                highest[t] = max(highest[t], close[day, t])
        for t in range(n_tickers):
            if shares[t] <= 0 or math.isnan(close[day, t]):
                continue
            act = action[day, t] if is_signal else 0
            reason, n = _exit(p, day, close[day, t], atr[day, t], mom[day, t], rel[day, t], rsi[day, t], act,
                              shares[t], avg_cost[t], entry_day[t], highest[t], profit_reduced[t], time_reduced[t])
            if reason >= 0:
                after[t] -= n
                pend_ticker[n_pending] = t
                pend_side[n_pending] = -1
                pend_shares[n_pending] = n
                pend_reason[n_pending] = reason
                n_pending += 1
        if is_signal:
            first, last = enter_start[day], enter_start[day + 1]
            n_signals = last - first
            bear = regime[day] == 2
            for k in range(first, last):
                t = enter_order[k]
                px = close[day, t]
                block = -1
                if held_at_open[t]:
                    block = B_HELD
                elif math.isnan(px):
                    block = B_NO_PRICE
                elif math.isnan(score[day, t]) or score[day, t] < p[P_MIN_SCORE]:
                    block = B_LOW_SCORE
                elif (not math.isnan(mom[day, t])) and mom[day, t] < p[P_MOM_GATE]:
                    block = B_MOMENTUM
                elif ddm <= 0.0:
                    block = B_HALT
                elif bear and p[P_BEAR_BLOCK] > 0.5 and rating[day, t] == 2:
                    block = B_BEAR_UW
                elif veto[day, t]:
                    block = B_VETO
                n = 0
                if block < 0:
                    weight = _entry_weight(p, n_signals, rating[day, t], conviction[day, t], upside[day, t], ddm,
                                           atr[day, t], px, confidence[day, t], bear)
                    dollars = nav * weight
                    n = int(math.floor(dollars / (px * (1.0 + p[P_SLIP]))))
                    if dollars < p[P_MIN_DOLLAR] or n <= 0:
                        block = B_SIZE
                if block < 0:
                    value = n * px
                    sector = sector_of[t]
                    sector_exposure = 0.0
                    total_exposure = 0.0
                    for u in range(n_tickers):
                        if after[u] > 0:
                            exposure = after[u] * mark[day, u]
                            total_exposure += exposure
                            if sector_of[u] == sector:
                                sector_exposure += exposure
                    if sector_exposure + value > p[P_MAX_SECTOR] * nav:
                        block = B_SECTOR
                    elif total_exposure + value > p[P_MAX_EQUITY] * nav:
                        block = B_EQUITY
                if block < 0:
                    start = max(0, day - window + 1)
                    total = 0.0
                    count = 0
                    for u in range(n_tickers):
                        if u == t or after[u] <= 0 or sector_of[u] != sector_of[t]:
                            continue
                        rho = _pearson(returns, start, day + 1, t, u, min_pairs)
                        if not math.isnan(rho):
                            total += rho
                            count += 1
                    if count > 0 and total / count > p[P_CORR_THR]:
                        block = B_CORRELATION
                if block >= 0:
                    blocked[block] += 1
                    continue
                after[t] = n
                pend_ticker[n_pending] = t
                pend_side[n_pending] = 1
                pend_shares[n_pending] = n
                pend_reason[n_pending] = R_ENTRY
                n_pending += 1
        pend_day = day
        if delay == 0:
            for k in range(n_pending):
                cash = _fill(p, day, day, pend_ticker[k], pend_side[k], pend_shares[k], pend_reason[k], mark,
                             shares, avg_cost, entry_day, highest, profit_reduced, time_reduced, cash, ints,
                             floats, n_orders)
                n_orders += 1
            n_pending = 0
        invested = 0.0
        for t in range(n_tickers):
            if shares[t] > 0:
                invested += shares[t] * mark[day, t]
        nav_out[day] = cash + invested
        cash_out[day] = cash
        invested_out[day] = invested
    return n_orders, n_pending


@numba.njit(cache=True, nogil=True, error_model="numpy", parallel=True)
def simulate_many(params: np.ndarray, tier_threshold: np.ndarray, tier_multiplier: np.ndarray, close: np.ndarray,
                  mark: np.ndarray, atr: np.ndarray, mom: np.ndarray, rel: np.ndarray, rsi: np.ndarray,
                  returns: np.ndarray, signal_day: np.ndarray, regime: np.ndarray, action: np.ndarray,
                  score: np.ndarray, conviction: np.ndarray, rating: np.ndarray, upside: np.ndarray,
                  veto: np.ndarray, confidence: np.ndarray, sector_of: np.ndarray, enter_start: np.ndarray,
                  enter_order: np.ndarray, nav: np.ndarray, cash: np.ndarray, invested: np.ndarray,
                  ints: np.ndarray, floats: np.ndarray, blocked: np.ndarray, shares: np.ndarray,
                  avg_cost: np.ndarray, entry_day: np.ndarray, counts: np.ndarray) -> None:
    """:func:`simulate_one` for each row of ``params`` (the combo axis), in parallel."""
    for c in numba.prange(params.shape[0]):
        n_orders, unfilled = simulate_one(
            params[c], tier_threshold, tier_multiplier, close, mark, atr, mom, rel, rsi, returns, signal_day,
            regime, action, score, conviction, rating, upside, veto, confidence, sector_of, enter_start,
            enter_order, nav[c], cash[c], invested[c], ints[c], floats[c], blocked[c], shares[c], avg_cost[c],
            entry_day[c])
        counts[c, 0] = n_orders
        counts[c, 1] = unfilled


@numba.njit(cache=True, nogil=True, error_model="numpy")
def wilder(values: np.ndarray, period: int) -> np.ndarray:
    """Wilder smoothing down axis 0 of a (D, T) array: seeded with the mean of the first ``period``
    finite values, then ``(previous * (period - 1) + value) / period``; a NaN input leaves the
    average unchanged (the output is NaN until seeded)."""
    n_days, n_tickers = values.shape
    out = np.empty((n_days, n_tickers))
    average = np.full(n_tickers, np.nan)
    total = np.zeros(n_tickers)
    count = np.zeros(n_tickers, np.int64)
    for day in range(n_days):
        for t in range(n_tickers):
            value = values[day, t]
            if not math.isnan(value):
                if count[t] < period:
                    total[t] += value
                    count[t] += 1
                    if count[t] == period:
                        average[t] = total[t] / period
                else:
                    average[t] = (average[t] * (period - 1) + value) / period
            out[day, t] = average[t]
    return out
