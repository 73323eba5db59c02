"""What the evaluator reads: the stored signal and prediction history, and realised outcomes.

**Outcome alignment.** A signal dated D (a Saturday run date) is built from closes up to the
session before it; the first price it can trade is the close of the first session *strictly after*
D (closes only: no open). The outcome at horizon h is the return from that entry close to the close
h sessions later, against the index over the same two closes. An outcome is realised only when its
exit session is on or before the evaluation's as-of session; later ones are NaN (never filled).
:func:`check_outcome_alignment` refuses a table that breaks either rule (:class:`LookAheadError`),
and every table :func:`forward_outcomes` builds passes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ._errors import EvaluatorInputError, LookAheadError

__all__ = [
    "History",
    "check_outcome_alignment",
    "forward_outcomes",
    "load_history",
    "prediction_rows",
    "signal_rows",
]

_DATED = re.compile(r"(\d{4}-\d{2}-\d{2})")

SIGNAL_COLUMNS = ("signal_date", "ticker", "signal", "score", "rating", "conviction", "sector", "sector_rating",
                  "market_regime", "buy_candidate", "quant", "qual")
PREDICTION_COLUMNS = ("signal_date", "ticker", "predicted_alpha", "p_up", "predicted_direction",
                      "prediction_confidence", "combined_rank", "gbm_veto", "n_in_date", "model_status")


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def signal_rows(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """One row per universe entry of a signals.json (``buy_candidate`` marks the buy candidates)."""
    try:
        day = str(doc["date"])[:10]
        regime = str(doc.get("market_regime", "unknown"))
        buys = {str(e["ticker"]) for e in doc.get("buy_candidates", [])}
        rows = []
        for entry in doc.get("universe", []):
            sub = entry.get("sub_scores") or {}
            rows.append({"signal_date": day, "ticker": str(entry["ticker"]), "signal": str(entry.get("signal", "")),
                         "score": _number(entry.get("score")), "rating": str(entry.get("rating", "")),
                         "conviction": str(entry.get("conviction", "")), "sector": str(entry.get("sector") or "unknown"),
                         "sector_rating": str(entry.get("sector_rating", "")), "market_regime": regime,
                         "buy_candidate": entry["ticker"] in buys,
                         "quant": _number(sub.get("quant")), "qual": _number(sub.get("qual"))})
    except (KeyError, TypeError) as exc:
        raise EvaluatorInputError(f"{key}: not a usable signals document ({type(exc).__name__}: {exc})") from exc
    return rows


def prediction_rows(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """One row per prediction of a predictions/{date}.json."""
    try:
        day = str(doc["date"])[:10]
        predictions = doc["predictions"]
        status = str(doc.get("model_status", "champion"))
        return [{"signal_date": day, "ticker": str(p["ticker"]), "predicted_alpha": _number(p.get("predicted_alpha")),
                 "p_up": _number(p.get("p_up")), "predicted_direction": str(p.get("predicted_direction", "")),
                 "prediction_confidence": _number(p.get("prediction_confidence")),
                 "combined_rank": _number(p.get("combined_rank")), "gbm_veto": bool(p.get("gbm_veto", False)),
                 "n_in_date": len(predictions), "model_status": status}
                for p in predictions]
    except (KeyError, TypeError) as exc:
        raise EvaluatorInputError(f"{key}: not a usable predictions document ({type(exc).__name__}: {exc})") from exc


@dataclass(frozen=True)
class History:
    """The stored history in the evaluation window: one row per (signal date, ticker)."""

    signals: pd.DataFrame  # SIGNAL_COLUMNS
    predictions: pd.DataFrame  # PREDICTION_COLUMNS
    signal_keys: tuple[str, ...]
    prediction_keys: tuple[str, ...]


def _dated_keys(keys: Sequence[str], matches: Callable[[str], bool], start: date, end: date) -> list[str]:
    out = []
    for key in keys:
        found = _DATED.search(key)
        if found and matches(key) and start.isoformat() <= found.group(1) <= end.isoformat():
            out.append(key)
    return sorted(out)


def load_history(list_keys: Callable[[str], list[str]], read_json: Callable[[str], Any],
                 signals: Any, predictions: Any, start: date, end: date) -> History:
    """Every signals and predictions document dated in [start, end], from their artifact
    declarations (``signals``/``predictions`` are the producers' Artifact constants)."""
    signal_keys = _dated_keys(list_keys(signals.prefix), signals.matches, start, end)
    prediction_keys = _dated_keys(list_keys(predictions.prefix), predictions.matches, start, end)
    srows = [row for key in signal_keys for row in signal_rows(read_json(key), key)]
    prows = [row for key in prediction_keys for row in prediction_rows(read_json(key), key)]
    return History(pd.DataFrame(srows, columns=list(SIGNAL_COLUMNS)),
                   pd.DataFrame(prows, columns=list(PREDICTION_COLUMNS)),
                   tuple(signal_keys), tuple(prediction_keys))


def forward_outcomes(events: pd.DataFrame, closes: pd.DataFrame, index: pd.Series, horizons: Sequence[int],
                     as_of: date) -> pd.DataFrame:
    """Realised outcomes of ``events`` (columns ``signal_date``, ``ticker``; any others kept).

    ``closes`` is (session x ticker), ``index`` the market index's closes on the same sessions.
    Adds ``entry_date`` (the first session strictly after signal_date) and per horizon h:
    ``exit_date_{h}``, ``ret_{h}`` and ``index_ret_{h}`` (simple returns entry close -> exit close),
    ``alpha_{h}`` = ret - index_ret and ``beat_{h}`` (1.0/0.0, NaN when unrealised). Sessions after
    ``as_of`` are never read. The result passes :func:`check_outcome_alignment`.
    """
    out = events.copy().reset_index(drop=True)
    sessions_all = pd.DatetimeIndex(closes.index)
    keep = sessions_all <= pd.Timestamp(as_of)
    sessions = sessions_all[keep]
    prices = closes.loc[keep]
    bench = index.reindex(sessions_all).loc[keep].to_numpy(dtype=float)
    signal_ts = pd.to_datetime(out["signal_date"]).to_numpy()
    entry_pos = np.searchsorted(sessions.to_numpy(), signal_ts, side="right")  # strictly after the signal date
    has_entry = entry_pos < len(sessions)
    out["entry_date"] = [sessions[p].date().isoformat() if ok else None for p, ok in zip(entry_pos, has_entry, strict=True)]
    columns = {t: i for i, t in enumerate(prices.columns)}
    col = np.array([columns.get(t, -1) for t in out["ticker"]], dtype=np.int64)
    matrix = prices.to_numpy(dtype=float)
    for h in horizons:
        exit_pos = entry_pos + h
        ok = has_entry & (exit_pos < len(sessions)) & (col >= 0)
        e, x, c = np.where(ok, entry_pos, 0), np.where(ok, exit_pos, 0), np.where(ok, col, 0)
        ret = np.where(ok, matrix[x, c] / matrix[e, c] - 1, np.nan)
        bench_ret = np.where(ok, bench[x] / bench[e] - 1, np.nan)
        alpha = ret - bench_ret
        out[f"exit_date_{h}"] = [sessions[p].date().isoformat() if k else None for p, k in zip(exit_pos, ok, strict=True)]
        out[f"ret_{h}"] = ret
        out[f"index_ret_{h}"] = bench_ret
        out[f"alpha_{h}"] = alpha
        out[f"beat_{h}"] = np.where(np.isfinite(alpha), (alpha > 0).astype(float), np.nan)
    check_outcome_alignment(out, horizons, as_of)
    return out


def check_outcome_alignment(outcomes: pd.DataFrame, horizons: Sequence[int], as_of: date) -> None:
    """Raise :class:`LookAheadError` if any realised outcome starts on or before its signal date,
    ends on or before its entry, or ends after ``as_of``; the message names the first offending row."""
    for h in horizons:
        realised = outcomes[np.isfinite(outcomes[f"ret_{h}"].to_numpy(dtype=float))]
        if realised.empty:
            continue
        signal = realised["signal_date"].astype(str)
        entry = realised["entry_date"].astype(str)
        exit_ = realised[f"exit_date_{h}"].astype(str)
        for problem, bad in (("starts on or before its signal date", entry <= signal),
                             ("ends on or before its entry", exit_ <= entry),
                             (f"ends after the as-of session {as_of}", exit_ > as_of.isoformat())):
            if bad.any():
                row = realised[bad.to_numpy()].iloc[0]
                raise LookAheadError(
                    f"look-ahead in outcome alignment at horizon {h}: {row['ticker']} signalled {row['signal_date']} "
                    f"has an outcome that {problem} (entry {row['entry_date']}, exit {row[f'exit_date_{h}']}); "
                    f"{int(bad.sum())} row(s) affected. Outcomes must run from the first session after the "
                    f"signal date to a session on or before the as-of session")
