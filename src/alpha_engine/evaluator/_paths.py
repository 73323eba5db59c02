"""Realised paths: exit timing (MFE/MAE) of the signalled names, and the portfolio path.

**Exit timing.** A position opens at a signal date where the ticker is a buy candidate and was not
one at the previous signal date; it is entered at the close of the first session after that date
and leaves at the close of the first session after the first later signal date that says EXIT for
it, or ``max_hold_sessions`` after entry, whichever is first. Positions whose exit is not realised
by the as-of session are left out. On the closes: MFE = best close / entry - 1, MAE = worst close /
entry - 1, realised = exit / entry - 1, capture = realised / MFE (MFE > 0). Closes only: upstream
used highs and lows, which the sample does not have, so MFE and MAE are close-to-close.

**Portfolio path.** When the backtest family stored ``backtest/{date}/portfolio_stats.json`` its
figures are the portfolio's; otherwise the path is the signals' own: each week's buy candidates
held equal-weight (daily rebalanced) from the close of the first session after the signal date to
the close of the first session after the next one (cash in a week without candidates), against
the index over the same sessions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._completeness import ModuleResult, SkipModule
from ._errors import InsufficientDataError
from ._inputs import EvaluationInputs

__all__ = ["exit_timing", "portfolio_path", "round_trips", "signal_path"]

TRADING_DAYS = 252


def round_trips(signals: pd.DataFrame, closes: pd.DataFrame, max_hold: int) -> pd.DataFrame:
    """One row per realised round trip (see module docstring): ticker, signal_date, entry_date,
    exit_date, sessions, mfe, mae, realised, capture, exit_reason."""
    sessions = pd.DatetimeIndex(closes.index)
    dates = sorted(signals["signal_date"].unique())
    buys = {d: set(g.loc[g["buy_candidate"], "ticker"]) for d, g in signals.groupby("signal_date")}
    exits = {d: set(g.loc[g["signal"] == "EXIT", "ticker"]) for d, g in signals.groupby("signal_date")}
    columns = {t: i for i, t in enumerate(closes.columns)}
    matrix = closes.to_numpy(dtype=float)
    rows = []
    for i, day in enumerate(dates):
        previous = buys.get(dates[i - 1], set()) if i else set()
        for ticker in sorted(buys.get(day, set()) - previous):
            col = columns.get(ticker)
            entry = int(np.searchsorted(sessions.to_numpy(), np.datetime64(day), side="right"))
            if col is None or entry >= len(sessions):
                continue
            stop, reason = entry + max_hold, "max_hold"
            for later in dates[i + 1:]:
                if ticker in exits.get(later, set()):
                    exit_signal = int(np.searchsorted(sessions.to_numpy(), np.datetime64(later), side="right"))
                    if exit_signal < stop:
                        stop, reason = exit_signal, "exit_signal"
                    break
            if stop >= len(sessions):
                continue  # not realised by the as-of session
            path = matrix[entry:stop + 1, col]
            if not np.isfinite(path).all() or path[0] <= 0:
                continue
            mfe, mae = float(path.max() / path[0] - 1), float(path.min() / path[0] - 1)
            realised = float(path[-1] / path[0] - 1)
            rows.append({"ticker": ticker, "signal_date": day, "entry_date": sessions[entry].date().isoformat(),
                         "exit_date": sessions[stop].date().isoformat(), "sessions": stop - entry, "mfe": mfe,
                         "mae": mae, "realised": realised, "capture": realised / mfe if mfe > 0 else float("nan"),
                         "exit_reason": reason})
    return pd.DataFrame(rows, columns=["ticker", "signal_date", "entry_date", "exit_date", "sessions", "mfe", "mae",
                                       "realised", "capture", "exit_reason"])


def _diagnosis(capture: float) -> str:
    if not math.isfinite(capture):
        return "no_favourable_move"
    return "well_timed" if capture >= 0.7 else "could_improve" if capture >= 0.3 else "gave_back_most"


def exit_timing(inputs: EvaluationInputs) -> ModuleResult:
    signals = inputs.history.signals
    if signals.empty or not signals["buy_candidate"].any():
        raise SkipModule("no buy candidate in the stored signals of the evaluation window")
    trips = round_trips(signals, inputs.closes, inputs.options.max_hold_sessions)
    if len(trips) < inputs.options.min_trades:
        raise InsufficientDataError(f"{len(trips)} realised round trip(s), the floor is {inputs.options.min_trades}")
    diagnosis = trips["capture"].map(_diagnosis)
    by_reason = {str(r): {"n": int(len(g)), "mean_realised": float(g["realised"].mean()),
                          "mean_capture": float(g["capture"].mean(skipna=True)) if g["capture"].notna().any() else None}
                 for r, g in trips.groupby("exit_reason")}
    data = {"n": int(len(trips)), "mean_mfe": float(trips["mfe"].mean()), "mean_mae": float(trips["mae"].mean()),
            "mean_realised": float(trips["realised"].mean()),
            "median_capture": float(trips["capture"].median(skipna=True)) if trips["capture"].notna().any() else None,
            "diagnosis": {str(k): int(v) for k, v in diagnosis.value_counts().sort_index().items()},
            "by_exit_reason": by_reason, "basis": "closes (no highs/lows stored)",
            "trades": trips.assign(diagnosis=diagnosis).to_dict(orient="records")}
    return ModuleResult(data)


def signal_path(signals: pd.DataFrame, closes: pd.DataFrame, index: pd.Series) -> pd.DataFrame:
    """The signals' equal-weight path (see module docstring): per session after the first entry,
    ``portfolio`` and ``index`` daily returns, ``held`` names, and the cumulative ``nav``/``index_nav``."""
    sessions = pd.DatetimeIndex(closes.index)
    dates = sorted(signals["signal_date"].unique())
    if not dates:
        return pd.DataFrame(columns=["portfolio", "index", "held", "nav", "index_nav"])
    starts = np.searchsorted(sessions.to_numpy(), np.array(dates, dtype="datetime64[D]"), side="right")
    weights = np.zeros((len(sessions), len(closes.columns)))
    columns = {t: i for i, t in enumerate(closes.columns)}
    for i, day in enumerate(dates):
        tickers = [columns[t] for t in signals.loc[(signals["signal_date"] == day) & signals["buy_candidate"], "ticker"]
                   if t in columns]
        end = starts[i + 1] if i + 1 < len(dates) else len(sessions)
        if tickers and starts[i] < len(sessions):
            weights[starts[i]:end, tickers] = 1.0 / len(tickers)
    prices = closes.to_numpy(dtype=float)
    returns = np.zeros_like(prices)
    returns[1:] = prices[1:] / prices[:-1] - 1
    returns = np.nan_to_num(returns, nan=0.0, posinf=0.0, neginf=0.0)
    portfolio = np.zeros(len(sessions))
    portfolio[1:] = (weights[:-1] * returns[1:]).sum(axis=1)  # held from the close of t to the close of t+1
    bench = index.reindex(sessions).to_numpy(dtype=float)
    bench_ret = np.zeros(len(sessions))
    bench_ret[1:] = np.nan_to_num(bench[1:] / bench[:-1] - 1)
    first = int(starts[0])
    frame = pd.DataFrame({"portfolio": portfolio, "index": bench_ret, "held": (weights > 0).sum(axis=1)},
                         index=sessions).iloc[first:]
    if not frame.empty:
        frame.iloc[0, :2] = 0.0  # the entry close: the path starts at 1
    frame["nav"] = (1 + frame["portfolio"]).cumprod()
    frame["index_nav"] = (1 + frame["index"]).cumprod()
    return frame


def _path_stats(returns: np.ndarray[Any, Any], nav: np.ndarray[Any, Any]) -> dict[str, float]:
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    drawdown = nav / np.maximum.accumulate(nav) - 1
    return {"total_return": float(nav[-1] - 1), "sharpe_ratio": float(returns.mean() / std * math.sqrt(TRADING_DAYS)) if std else 0.0,
            "max_drawdown": float(drawdown.min())}


def portfolio_path(inputs: EvaluationInputs) -> ModuleResult:
    backtest = inputs.backtest
    if backtest is not None and isinstance(backtest.get("sharpe_ratio"), int | float):
        keys = ("sharpe_ratio", "max_drawdown", "total_return", "total_alpha", "spy_return", "win_rate", "calmar_ratio")
        data = {"source": "backtest", **{k: float(backtest[k]) for k in keys if isinstance(backtest.get(k), int | float)}}
        if isinstance(backtest.get("dates"), list) and isinstance(backtest.get("nav"), list):
            data["path"] = {"dates": backtest["dates"], "nav": backtest["nav"], "index_nav": backtest.get("index_nav")}
        return ModuleResult(data)
    signals = inputs.history.signals
    if signals.empty or not signals["buy_candidate"].any():
        raise SkipModule("no backtest results stored and no buy candidate in the stored signals")
    frame = signal_path(signals, inputs.closes, inputs.index)
    if len(frame) < inputs.options.min_observations:
        raise InsufficientDataError(f"{len(frame)} session(s) of realised path, the floor is {inputs.options.min_observations}")
    nav, index_nav = frame["nav"].to_numpy(), frame["index_nav"].to_numpy()
    stats = _path_stats(frame["portfolio"].to_numpy()[1:], nav)
    index_stats = _path_stats(frame["index"].to_numpy()[1:], index_nav)
    active = frame["portfolio"].to_numpy()[1:] - frame["index"].to_numpy()[1:]
    data = {"source": "signals", "sessions": int(len(frame)), **stats, "index_return": index_stats["total_return"],
            "index_max_drawdown": index_stats["max_drawdown"], "total_alpha": stats["total_return"] - index_stats["total_return"],
            "hit_rate_daily": float((active > 0).mean()) if len(active) else None,
            "path": {"dates": [d.date().isoformat() for d in frame.index], "nav": nav.round(8).tolist(),
                     "index_nav": index_nav.round(8).tolist()}}
    return ModuleResult(data, ("no backtest results stored: the path is the signals' equal-weight buy candidates, "
                               "without the executor's sizing, stops or costs",))
