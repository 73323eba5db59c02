"""The week's decisions of two paths, compared (backtester.md §1.2's metrics).

A path's decisions on the compared sessions are a :class:`DecisionLog`: its orders keyed by
(decision session, ticker, action) and the tickers it held at each session's close. The
reference is the scalar executor replay; the other path is the vectorized kernel (or, once a paper
executor exists, its trade log). :func:`compare_decisions` gives

* ``capture_rate``: the share of the reference's orders the other path also made (same key);
* ``holdings_jaccard``: |A∩B| / |A∪B| of the tickers held at each close, averaged over the
  sessions (two empty books agree: 1);
* ``count_rms``: the root mean square of the per-session difference in order counts;
* ``field_diff_rate``: the share of matched orders whose shares, fill price (``price_rtol``
  relative), reason or fill session differ;

and the first differences, oldest first, in words.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._results import ORDER_REASONS, BacktestResult

__all__ = ["DecisionLog", "compare_decisions", "decisions_from_result", "decisions_from_trade_log"]

_REDUCES = frozenset({"research_reduce", "profit_take", "time_decay_reduce"})
_FIELDS = ("shares", "price", "reason", "fill_date")


@dataclass(frozen=True)
class DecisionLog:
    """One path's orders decided on the compared sessions (dicts with ``date`` (the decision
    session), ``ticker``, ``action`` (ENTER | REDUCE | EXIT), ``shares``, ``price``, and ``reason``
    and ``fill_date`` or None), and the tickers held at each session's close (None: unknown)."""

    name: str
    orders: tuple[Mapping[str, Any], ...]
    holdings: Mapping[str, frozenset[str]] | None


def _action(side: int, reason: str) -> str:
    return "ENTER" if side > 0 else ("REDUCE" if reason in _REDUCES else "EXIT")


def decisions_from_result(result: BacktestResult, sessions: Sequence[int], name: str = "") -> DecisionLog:
    """The orders ``result`` decided on the day indices ``sessions`` and its holdings at their closes."""
    o = result.orders
    days = [str(d) for d in result.dates.astype("datetime64[D]")]
    wanted = set(int(s) for s in sessions)
    orders = []
    for row in range(len(o)):
        day = int(o.decision_day[row])
        if day in wanted:
            reason = ORDER_REASONS[int(o.reason[row])]
            orders.append({"date": days[day], "ticker": result.tickers[int(o.ticker[row])],
                           "action": _action(int(o.side[row]), reason), "shares": int(o.shares[row]),
                           "price": float(o.price[row]), "reason": reason, "fill_date": days[int(o.fill_day[row])]})
    signed = (o.side * o.shares).astype(np.float64)
    holdings = {}
    for day in sorted(wanted):
        filled = o.fill_day <= day
        book = np.bincount(o.ticker[filled], weights=signed[filled], minlength=len(result.tickers))
        holdings[days[day]] = frozenset(result.tickers[i] for i in np.flatnonzero(book > 0))
    return DecisionLog(name=name or result.simulator, orders=tuple(orders), holdings=holdings)


def decisions_from_trade_log(document: Mapping[str, Any], session_dates: Sequence[str]) -> DecisionLog:
    """A paper executor's trade log: ``{"orders": [{date, ticker, action, shares, price, reason?,
    fill_date?}], "holdings": {date: [tickers]}?}``; only the orders of ``session_dates`` count."""
    wanted = set(session_dates)
    orders = tuple({"date": str(r["date"]), "ticker": str(r["ticker"]), "action": str(r["action"]).upper(),
                    "shares": int(r["shares"]), "price": float(r["price"]), "reason": r.get("reason"),
                    "fill_date": r.get("fill_date")}
                   for r in document.get("orders", []) if str(r["date"]) in wanted)
    raw = document.get("holdings")
    holdings = None if raw is None else {d: frozenset(str(t) for t in raw.get(d, [])) for d in session_dates}
    return DecisionLog(name="trade_log", orders=orders, holdings=holdings)


def _label(order: Mapping[str, Any]) -> str:
    return f"{order['date']} {order['ticker']} {order['action']} {order['shares']} @ {order['price']:.6f}"


def _field_diffs(a: Mapping[str, Any], b: Mapping[str, Any], price_rtol: float) -> list[str]:
    out = []
    for name in _FIELDS:
        x, y = a.get(name), b.get(name)
        if x is None or y is None:
            continue
        if name == "price":
            differ = abs(float(x) - float(y)) > price_rtol * max(abs(float(x)), abs(float(y)), 1.0)
        else:
            differ = x != y
        if differ:
            out.append(f"{name} {x!r} vs {y!r}")
    return out


def compare_decisions(reference: DecisionLog, other: DecisionLog, session_dates: Sequence[str], *,
                      price_rtol: float = 1e-9, limit: int = 10) -> dict[str, Any]:
    """The metrics of ``other`` against ``reference`` on ``session_dates`` and its first differences."""
    keyed: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for order in other.orders:
        keyed[(order["date"], order["ticker"], order["action"])].append(order)
    found: list[tuple[str, str, str]] = []  # (date, ticker, text), sorted at the end
    matched = with_field_diffs = 0
    for order in reference.orders:
        key = (order["date"], order["ticker"], order["action"])
        if keyed.get(key):
            twin = keyed[key].pop(0)
            matched += 1
            diffs = _field_diffs(order, twin, price_rtol)
            if diffs:
                with_field_diffs += 1
                found.append((order["date"], order["ticker"], f"{_label(order)}: {', '.join(diffs)} "
                                                              f"({reference.name} vs {other.name})"))
        else:
            found.append((order["date"], order["ticker"], f"{_label(order)}: {reference.name} only"))
    extra = [o for rest in keyed.values() for o in rest]
    found.extend((o["date"], o["ticker"], f"{_label(o)}: {other.name} only") for o in extra)
    counts_ref = {d: 0 for d in session_dates}
    counts_other = dict(counts_ref)
    for order in reference.orders:
        counts_ref[order["date"]] += 1
    for order in other.orders:
        counts_other[order["date"]] += 1
    n_days = max(len(session_dates), 1)
    count_rms = math.sqrt(sum((counts_ref[d] - counts_other[d]) ** 2 for d in session_dates) / n_days)
    jaccard: float | None = None
    per_day: dict[str, float] = {}
    if reference.holdings is not None and other.holdings is not None:
        for d in session_dates:
            a, b = reference.holdings.get(d, frozenset()), other.holdings.get(d, frozenset())
            per_day[d] = 1.0 if not (a | b) else len(a & b) / len(a | b)
            if a != b:
                found.append((d, "", f"{d} holdings differ: {reference.name} only {sorted(a - b)}, "
                                     f"{other.name} only {sorted(b - a)}"))
        jaccard = sum(per_day.values()) / len(per_day) if per_day else None
    n_ref, n_other = len(reference.orders), len(other.orders)
    capture = matched / n_ref if n_ref else None
    agree = matched == n_ref and not extra and not with_field_diffs and (jaccard is None or jaccard == 1.0)
    return {
        "reference": reference.name, "other": other.name, "status": "agree" if agree else "differ",
        "n_reference_orders": n_ref, "n_other_orders": n_other, "n_matched": matched,
        "n_reference_only": n_ref - matched, "n_other_only": len(extra),
        "capture_rate": capture, "holdings_jaccard": jaccard, "holdings_jaccard_by_session": per_day,
        "count_rms": count_rms, "field_diff_rate": with_field_diffs / matched if matched else None,
        "n_field_diffs": with_field_diffs, "price_rtol": price_rtol,
        "orders_per_session": {d: [counts_ref[d], counts_other[d]] for d in session_dates},
        "differences": [text for _, _, text in sorted(found)][:limit], "n_differences": len(found),
    }
