"""The Backtester's computation (pure: arrays in, documents out; the stage does the I/O).

1. **The current config over the whole window** (upstream's 10-year ``simulate``), with the
   statistics of :func:`backtest_statistics` and a parity spot-check of the vectorized kernel
   against the scalar reference on that run.
2. **A parameter search** (§2.3): seeded random draws from the grid (or the whole grid), the
   current params always included, every candidate simulated in one vectorized kernel call on the
   **search part** only: the window's first ``1 - holdout_fraction``. Selection by
   ``Sharpe - 0.5 |max drawdown|`` on the search part. Fewer than ``min_completion`` of the trials
   completing with orders: the optimizer refuses (upstream ``sweep_low_completion``).
3. **The holdout**: the selected and the current config simulated on the last part of the window,
   which the search never saw (:func:`check_holdout_split` proves it on the dates used), each
   starting flat. Their Sharpe ratios get stationary-bootstrap intervals, and their difference a
   *paired* interval (the same resampled days for both).
4. **A twin simulation** of current against proposed over the whole window, with the paired
   interval of the Sharpe difference (in-sample on the search part: reported, not decisive).
5. **The recommendation**: ``apply`` only when the holdout interval of the Sharpe difference lies
   above 0 (and upstream's guards hold: completion, enough trades, a positive holdout Sharpe at
   least half the search-part one); else ``keep``, or ``refused`` when the search is unusable.

Features (ATR, RSI, momentum) are computed once on the whole panel and sliced: each day's value
uses closes up to that day only, so slicing leaks nothing from the holdout into the search part.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from ._backtester_options import BacktesterOptions
from ._config import ExecutorConfig
from ._errors import BacktestInputError, HoldoutLeakError
from ._features import MarketFeatures, market_features
from ._inputs import BacktestInputs
from ._parity import parity_differences
from ._portfolio_stats import Interval, optimizer_gate, stationary_bootstrap_indices
from ._results import BacktestResult
from ._scalar import simulate_scalar
from ._stats import BacktestStatistics, backtest_statistics, nav_statistics
from ._vector import simulate_vectorized

__all__ = ["BacktesterRun", "Recommendation", "check_holdout_split", "recommend_executor", "run_backtester",
           "search_candidates", "slice_inputs"]

F64 = npt.NDArray[np.float64]
_D = 10  # rounding of floats in the documents: same inputs, same bytes


def _num(value: float) -> float | None:
    return round(float(value), _D) if value is not None and math.isfinite(value) else None


def _pair(values: tuple[float, float]) -> list[float | None]:
    return [_num(values[0]), _num(values[1])]


def slice_inputs(inputs: BacktestInputs, start: int, stop: int) -> BacktestInputs:
    """The days ``start:stop`` of ``inputs`` (every day-axis array sliced, contiguous)."""
    def cut(array: Any) -> Any:
        return None if array is None else np.ascontiguousarray(array[start:stop])

    return replace(inputs, dates=cut(inputs.dates), close=cut(inputs.close), signal_day=cut(inputs.signal_day),
                   regime=cut(inputs.regime), action=cut(inputs.action), score=cut(inputs.score),
                   conviction=cut(inputs.conviction), sector_rating=cut(inputs.sector_rating),
                   upside=cut(inputs.upside), veto=cut(inputs.veto), confidence=cut(inputs.confidence),
                   sector_close=cut(inputs.sector_close), index_close=cut(inputs.index_close))


def _slice_features(f: MarketFeatures, start: int, stop: int) -> MarketFeatures:
    first, last = int(f.enter_start[start]), int(f.enter_start[stop])
    return MarketFeatures(
        mark=np.ascontiguousarray(f.mark[start:stop]), atr=np.ascontiguousarray(f.atr[start:stop]),
        momentum=np.ascontiguousarray(f.momentum[start:stop]),
        relative_momentum=np.ascontiguousarray(f.relative_momentum[start:stop]),
        rsi=np.ascontiguousarray(f.rsi[start:stop]), returns=np.ascontiguousarray(f.returns[start:stop]),
        enter_start=np.ascontiguousarray(f.enter_start[start:stop + 1] - first),
        enter_order=np.ascontiguousarray(f.enter_order[first:last]))


def check_holdout_split(search_dates: npt.NDArray[np.datetime64], holdout_dates: npt.NDArray[np.datetime64]) -> None:
    """Raise :class:`HoldoutLeakError` unless every search day comes strictly before every holdout day."""
    if len(search_dates) == 0 or len(holdout_dates) == 0:
        raise HoldoutLeakError(f"holdout split: the search part has {len(search_dates)} days and the holdout "
                               f"{len(holdout_dates)}; both need days (lengthen the window or change holdout_fraction)")
    last_search, first_holdout = np.max(search_dates), np.min(holdout_dates)
    if last_search >= first_holdout:
        seen = int(np.sum(search_dates >= first_holdout))
        raise HoldoutLeakError(f"holdout split is not chronological: the search part reaches {last_search}, on or "
                               f"after the holdout's first day {first_holdout} ({seen} search day(s) overlap the "
                               "holdout); the search must end before the holdout starts")


def search_candidates(current: ExecutorConfig, grid: Mapping[str, Sequence[float]], *, mode: str, n_trials: int,
                      seed: int) -> tuple[list[dict[str, float]], int]:
    """The parameter sets to simulate, the current params first, and the grid's size.

    The grid is seeded with the current value of each parameter (so last week's choice is always
    reachable, as upstream); ``random`` draws ``n_trials`` distinct combinations with a seeded
    generator (the whole grid when it is no larger), ``grid`` takes them all.
    """
    names = sorted(grid)
    axes = [sorted({float(v) for v in grid[name]} | {float(getattr(current, name))}) for name in names]
    total = math.prod(len(axis) for axis in axes)
    current_params = {name: float(getattr(current, name)) for name in names}
    if mode == "grid" or n_trials >= total:
        picks: list[int] = list(range(total))
    else:
        picks = sorted(np.random.default_rng(seed).choice(total, size=n_trials, replace=False).tolist())
    shape = [len(axis) for axis in axes]
    out = [current_params]
    for flat in picks:
        index = np.unravel_index(int(flat), shape)
        params = {name: axis[i] for name, axis, i in zip(names, axes, index, strict=True)}
        if params != current_params:
            out.append(params)
    return out, total


def _config(current: ExecutorConfig, params: Mapping[str, float]) -> ExecutorConfig | str:
    values = current.model_dump()
    for name, value in params.items():
        values[name] = int(value) if isinstance(values[name], int) and not isinstance(values[name], bool) else value
    try:
        return ExecutorConfig.model_validate(values)
    except ValueError as exc:
        first = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        return f"invalid: {first}"


@dataclass(frozen=True)
class Recommendation:
    """``apply`` | ``keep`` | ``refused``, with every reason that decided it."""

    action: str
    reasons: tuple[str, ...]


def recommend_executor(*, completion: float, min_completion: float, selected_is_current: bool, search_trades: int,
                       min_trades: int, search_sharpe: float, holdout_sharpe: float,
                       holdout_difference: Interval) -> Recommendation:
    """The executor recommendation from the search and holdout evidence (see the module docstring).

    ``holdout_difference`` is the selected config's holdout Sharpe minus the current one's, with its
    paired bootstrap interval; only a lower bound above 0 can make it ``apply``.
    """
    if completion < min_completion:
        return Recommendation("refused", (f"only {completion:.0%} of the trials completed with orders, below "
                                          f"{min_completion:.0%}: the search is not informative",))
    if selected_is_current:
        return Recommendation("keep", ("the current params score best on the search part",))
    reasons = []
    if search_trades < min_trades:
        reasons.append(f"the selected params traded {search_trades} times on the search part, fewer than {min_trades}")
    if not (math.isfinite(holdout_sharpe) and holdout_sharpe > 0):
        reasons.append(f"the selected params' holdout Sharpe {holdout_sharpe:.3f} is not positive")
    elif math.isfinite(search_sharpe) and holdout_sharpe < 0.5 * search_sharpe:
        reasons.append(f"the selected params' holdout Sharpe {holdout_sharpe:.3f} is below half their search-part "
                       f"Sharpe {search_sharpe:.3f} (overfit)")
    low = holdout_difference.ci_low
    if not (math.isfinite(low) and low > 0):
        reasons.append(f"the holdout Sharpe difference (selected - current) {holdout_difference.estimate:.3f} has a "
                       f"{holdout_difference.confidence:.0%} interval [{low:.3f}, {holdout_difference.ci_high:.3f}] "
                       "that does not lie above 0")
    if reasons:
        return Recommendation("keep", tuple(reasons))
    return Recommendation("apply", (f"the holdout Sharpe difference {holdout_difference.estimate:.3f} has a "
                                    f"{holdout_difference.confidence:.0%} interval [{low:.3f}, "
                                    f"{holdout_difference.ci_high:.3f}] above 0",))


@dataclass(frozen=True)
class BacktesterRun:
    """The three documents and the stage summary."""

    portfolio_stats: dict[str, Any]
    sweep: dict[str, Any]
    executor_rec: dict[str, Any]
    summary: dict[str, Any]


def _stats_document(stats: BacktestStatistics, result: BacktestResult) -> dict[str, Any]:
    return {
        "sharpe_ratio": _num(stats.sharpe), "sortino_ratio": _num(stats.sortino), "max_drawdown": _num(stats.max_drawdown),
        "calmar_ratio": _num(stats.calmar), "total_return": _num(stats.total_return), "cagr": _num(stats.cagr),
        "spy_return": _num(stats.index_return), "total_alpha": _num(stats.alpha),
        "active_return": _num(stats.active_return), "win_rate": _num(stats.win_rate), "total_trades": stats.n_trades,
        "total_orders": len(result.orders), "turnover": _num(stats.turnover),
        "intervals": {"sharpe_ratio": _pair(stats.sharpe_ci), "sortino_ratio": _pair(stats.sortino_ci),
                      "cagr": _pair(stats.cagr_ci), "active_return": _pair(stats.active_return_ci),
                      "win_rate": _pair(stats.win_rate_ci)},
    }


def _interval(interval: Interval) -> dict[str, float | None]:
    return interval.to_json(_D)


def _daily_returns(result: BacktestResult) -> F64:
    path = np.concatenate([[result.config.initial_cash], result.nav])
    return np.asarray(path[1:] / path[:-1] - 1.0)


def _days(dates: npt.NDArray[np.datetime64]) -> list[str]:
    return [str(d) for d in dates.astype("datetime64[D]")]


def run_backtester(inputs: BacktestInputs, options: BacktesterOptions, *, current: ExecutorConfig, seed: int,
                   context: Mapping[str, Any], log: logging.Logger | logging.LoggerAdapter[Any]) -> BacktesterRun:
    """Simulate, search, hold out, twin-simulate and recommend; see the module docstring."""
    started = time.perf_counter()
    n_days = len(inputs.dates)
    split = n_days - max(1, int(round(n_days * options.holdout_fraction)))
    if split < 60:
        raise BacktestInputError(f"backtester: {n_days} days leave {split} for the search part; it needs at least 60 "
                                 "(load more history or lower holdout_fraction)")
    features = market_features(inputs, current)
    indices_full = stationary_bootstrap_indices(n_days, n_resamples=options.n_bootstrap,
                                                mean_block=options.mean_block_days, seed=seed)

    # 1. the current config over the whole window, and the parity spot-check
    (current_full,) = simulate_vectorized(inputs, [current], features)
    current_stats = backtest_statistics(current_full, inputs.index_close, n_bootstrap=options.n_bootstrap,
                                        block_length=options.mean_block_days, seed=seed)
    parity: dict[str, Any] = {"checked": False}
    if options.parity_check:
        reference = simulate_scalar(inputs, current, features)
        differences = parity_differences(reference, current_full)
        parity = {"checked": True, "passed": not differences, "differences": differences, "config": "current",
                  "orders": len(reference.orders), "rtol": 1e-9}
        log.info("parity: scalar reference vs vectorized kernel on the current config: %s (%d orders)",
                 "agree" if not differences else "DISAGREE", len(reference.orders))

    # 2. the search, on the search part only
    search_inputs = slice_inputs(inputs, 0, split)
    holdout_inputs = slice_inputs(inputs, split, n_days)
    check_holdout_split(search_inputs.dates, holdout_inputs.dates)
    candidates, grid_size = search_candidates(current, options.grid, mode=options.search, n_trials=options.n_trials,
                                              seed=seed)
    configs: list[ExecutorConfig] = []
    rows: list[dict[str, Any]] = []
    for params in candidates:
        made = _config(current, params)
        rows.append({"params": params, "status": made if isinstance(made, str) else "pending"})
        if not isinstance(made, str):
            configs.append(made)
    log.info("search: %d candidate(s) (%s over a grid of %d, current params included) on %d search days to %s; "
             "holdout %d days from %s", len(candidates), options.search, grid_size, split,
             search_inputs.dates[-1], n_days - split, holdout_inputs.dates[0])
    search_features = _slice_features(features, 0, split)
    results: list[BacktestResult] = []
    batch = 64
    for start in range(0, len(configs), batch):
        results.extend(simulate_vectorized(search_inputs, configs[start:start + batch], search_features))
        log.info("search: %d/%d simulated (%.1fs)", min(start + batch, len(configs)), len(configs),
                 time.perf_counter() - started)
    for result in results:
        if len(result.nav) != split:  # the guard on what the search actually saw
            raise HoldoutLeakError(f"holdout split: a search simulation covered {len(result.nav)} days, not the "
                                   f"{split} of the search part")
    point = nav_statistics(np.vstack([r.nav for r in results]), current.initial_cash, search_inputs.index_close)
    score = point["sharpe"] - options.drawdown_penalty * np.abs(point["max_drawdown"])
    valid_rows = [row for row in rows if row["status"] == "pending"]
    for k, (row, result) in enumerate(zip(valid_rows, results, strict=True)):
        trades = int(np.sum(result.orders.side < 0))
        sells = result.orders.side < 0
        wins = int(np.sum(result.orders.price[sells] > result.orders.entry_price[sells]))
        row.update({"status": "ok" if len(result.orders) else "no_orders", "total_orders": len(result.orders),
                    "total_trades": trades, "win_rate": _num(wins / trades) if trades else None,
                    "total_return": _num(point["total_return"][k]), "sharpe_ratio": _num(point["sharpe"][k]),
                    "max_drawdown": _num(point["max_drawdown"][k]), "calmar_ratio": _num(point["calmar"][k]),
                    "total_alpha": _num(point["alpha"][k]), "score": _num(score[k]), "_k": k})
    completed = [row for row in rows if row["status"] == "ok"]
    completion = len(completed) / len(rows)
    ranked = sorted(completed, key=lambda r: (-(r["score"] if r["score"] is not None else -math.inf), r["_k"]))
    current_row = rows[0]
    selected_row = ranked[0] if ranked else current_row
    selected_is_current = selected_row is current_row

    # 3. the holdout: selected and current, each starting flat, never seen by the search
    holdout_features = _slice_features(features, split, n_days)
    selected_config = configs[selected_row["_k"]] if "_k" in selected_row else current
    held = simulate_vectorized(holdout_inputs, [selected_config, current], holdout_features)
    indices_holdout = stationary_bootstrap_indices(n_days - split, n_resamples=options.n_bootstrap,
                                                   mean_block=options.mean_block_days, seed=seed + 1)
    holdout_stats = [backtest_statistics(r, holdout_inputs.index_close, n_bootstrap=options.n_bootstrap,
                                         block_length=options.mean_block_days, seed=seed + 1) for r in held]
    difference = optimizer_gate(_daily_returns(held[0]), _daily_returns(held[1]), indices=indices_holdout,
                                confidence=options.confidence).sharpe_difference
    holdout_nav = nav_statistics(np.vstack([r.nav for r in held]), current.initial_cash, holdout_inputs.index_close)
    holdout_score = holdout_nav["sharpe"] - options.drawdown_penalty * np.abs(holdout_nav["max_drawdown"])

    # 4. the twin simulation over the whole window
    proposed_full = current_full if selected_is_current else simulate_vectorized(inputs, [selected_config], features)[0]
    twin_stats = backtest_statistics(proposed_full, inputs.index_close, n_bootstrap=options.n_bootstrap,
                                     block_length=options.mean_block_days, seed=seed)
    twin_difference = optimizer_gate(_daily_returns(proposed_full), _daily_returns(current_full), indices=indices_full,
                                     confidence=options.confidence).sharpe_difference

    # 5. the recommendation
    recommendation = recommend_executor(
        completion=completion, min_completion=options.min_completion, selected_is_current=selected_is_current,
        search_trades=int(selected_row.get("total_trades", 0)), min_trades=options.min_trades,
        search_sharpe=float(selected_row.get("sharpe_ratio") or math.nan),
        holdout_sharpe=holdout_stats[0].sharpe, holdout_difference=difference)
    wall = time.perf_counter() - started
    for row in rows:
        row.pop("_k", None)
    window = {"start": _days(inputs.dates[:1])[0], "end": _days(inputs.dates[-1:])[0], "n_days": n_days}
    split_doc = {"search": {"start": window["start"], "end": _days(search_inputs.dates[-1:])[0], "n_days": split},
                 "holdout": {"start": _days(holdout_inputs.dates[:1])[0], "end": window["end"], "n_days": n_days - split},
                 "holdout_fraction": options.holdout_fraction, "chronological": True}
    caveats = list(context.get("caveats", ()))
    nav = current_full.nav / current.initial_cash
    index_nav = None
    if inputs.index_close is not None:
        filled = inputs.index_close[np.flatnonzero(~np.isnan(inputs.index_close))]
        index_nav = [_num(v) for v in inputs.index_close / filled[0]] if len(filled) else None
    status = "ok" if context.get("signal_source_status", "ok") == "ok" else "degraded"
    portfolio_stats = {
        **{k: context[k] for k in ("run_date", "as_of_session", "seed", "signal_source")}, "status": status,
        "window": window, "dates_simulated": n_days, "signal_dates": int(inputs.signal_day.sum()),
        "tickers": list(inputs.tickers), "config": current.model_dump(mode="json"),
        **({"config_source": context["config_source"]} if "config_source" in context else {}),
        **_stats_document(current_stats, current_full), "bootstrap": {
            "method": "stationary", "n_resamples": options.n_bootstrap, "mean_block_days": options.mean_block_days,
            "confidence": 0.95},
        "blocked": current_full.blocked_counts(), "unfilled": current_full.unfilled, "parity": parity,
        "atr_method": current_full.atr_method, "caveats": caveats,
        "dates": _days(inputs.dates), "nav": [_num(v) for v in nav], "index_nav": index_nav,
    }
    sweep = {
        **{k: context[k] for k in ("run_date", "seed", "signal_source")}, "mode": options.search,
        "grid": {k: list(v) for k, v in options.grid.items()}, "grid_size": grid_size, "trials": len(rows),
        "completed": len(completed), "completion": _num(completion),
        "low_completion": completion < options.min_completion, "objective": "sharpe - "
        f"{options.drawdown_penalty} x |max_drawdown| on the search part", "split": split_doc, "rows": rows,
    }
    def side(name: str, params: Mapping[str, float], row: Mapping[str, Any], k: int) -> dict[str, Any]:
        s = holdout_stats[k]
        return {"name": name, "params": dict(params), "search_score": row.get("score"),
                "search_sharpe": row.get("sharpe_ratio"), "search_max_drawdown": row.get("max_drawdown"),
                "search_trades": row.get("total_trades"), "holdout_score": _num(holdout_score[k]),
                "holdout_sharpe": _num(s.sharpe), "holdout_sharpe_ci": _pair(s.sharpe_ci),
                "holdout_max_drawdown": _num(s.max_drawdown), "holdout_total_return": _num(s.total_return),
                "holdout_trades": s.n_trades}
    executor_rec = {
        **{k: context[k] for k in ("run_date", "seed", "signal_source")},
        "recommendation": recommendation.action, "reasons": list(recommendation.reasons),
        **({"config_source": context["config_source"]} if "config_source" in context else {}),
        "current": current.model_dump(mode="json"), "proposed": selected_config.model_dump(mode="json"),
        "changed": {k: v for k, v in selected_row["params"].items() if v != current_row["params"][k]},
        "split": split_doc, "completion": _num(completion), "trials": len(rows),
        "selected": side("selected", selected_row["params"], selected_row, 0),
        "baseline": side("current", current_row["params"], current_row, 1),
        "holdout_sharpe_difference": _interval(difference),
        "twin": {"window": window, "current": _stats_document(current_stats, current_full),
                 "proposed": _stats_document(twin_stats, proposed_full),
                 "sharpe_difference": _interval(twin_difference),
                 "note": "the whole window, whose search part the selection saw: reported, not decisive"},
        "caveats": caveats,
    }
    summary = {
        "signal_source": context["signal_source"], "window": [window["start"], window["end"]],
        "current": {"sharpe": [_num(current_stats.sharpe_ci[0]), _num(current_stats.sharpe), _num(current_stats.sharpe_ci[1])],
                    "max_drawdown": _num(current_stats.max_drawdown)},
        "proposed": {"sharpe": [_num(twin_stats.sharpe_ci[0]), _num(twin_stats.sharpe), _num(twin_stats.sharpe_ci[1])],
                     "max_drawdown": _num(twin_stats.max_drawdown)},
        "holdout_sharpe_difference": [difference.to_json(_D)["ci_low"], _num(difference.estimate),
                                      difference.to_json(_D)["ci_high"]],
        "recommendation": recommendation.action, "sweep": {"trials": len(rows), "completed": len(completed),
                                                            "completion": _num(completion)},
        "parity": "skipped" if not parity["checked"] else ("agree" if parity["passed"] else "disagree"),
        "wall_seconds": round(wall, 1),
    }
    log.info("recommendation: %s (%s)", recommendation.action, "; ".join(recommendation.reasons))
    return BacktesterRun(portfolio_stats=portfolio_stats, sweep=sweep, executor_rec=executor_rec, summary=summary)


