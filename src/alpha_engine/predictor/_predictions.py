"""The daily predictions document (``predictor/predictions/{date}.json``) and its veto rules.

The document follows the upstream contract (``predictions.schema.json``, v1, additive-only).
Every float is rounded to 6 decimals *before* directions, confidences, ranks and vetoes are
derived, so the document is self-consistent (re-applying the rules to it gives the same
answer) and the same inputs always give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ._artifacts import PREDICTIONS

__all__ = ["apply_vetoes", "build_predictions"]

DECIMALS = 6
MODEL_STATUSES = ("champion", "provisional")
_REQUIRED_FLOATS = ("predicted_alpha", "predicted_alpha_std", "p_up")
_OPTIONAL_FLOATS = ("momentum_score", "momentum_20d", "expected_move")


def apply_vetoes(table: pd.DataFrame, *, veto_confidence: float = 0.65,
                 momentum_veto_threshold: float = -0.05) -> pd.DataFrame:
    """Add the boolean ``gbm_veto`` and ``momentum_veto`` columns (a copy; ``table`` is untouched).

    ``gbm_veto = predicted_alpha < 0 AND combined_rank > N/2 AND prediction_confidence >= veto_confidence``
    (N = number of rows): a confident call to avoid a name in the bottom half.
    ``momentum_veto = momentum_20d < momentum_veto_threshold``. Missing values (NaN) never veto,
    and a missing ``momentum_20d`` column means no momentum vetoes.

    Parameters
    ----------
    table : DataFrame of shape (n_tickers, n_columns)
        Needs ``predicted_alpha``, ``prediction_confidence`` and ``combined_rank``; ``momentum_20d``
        is optional.
    veto_confidence : float, default 0.65
        Confidence floor of the GBM veto, in [0, 1].
    momentum_veto_threshold : float, default -0.05
        20-day momentum below which a name is vetoed.

    Returns
    -------
    DataFrame of shape (n_tickers, n_columns + 2)
    """
    missing = [c for c in ("predicted_alpha", "prediction_confidence", "combined_rank") if c not in table.columns]
    if missing:
        raise ValueError(f"apply_vetoes: table is missing columns {missing}")
    if not (isinstance(veto_confidence, int | float) and 0.0 <= veto_confidence <= 1.0):
        raise ValueError(f"apply_vetoes: veto_confidence {veto_confidence!r} is not in [0, 1]")
    if not (isinstance(momentum_veto_threshold, int | float) and math.isfinite(momentum_veto_threshold)):
        raise ValueError(f"apply_vetoes: momentum_veto_threshold {momentum_veto_threshold!r} is not finite")
    out = table.copy()
    n = len(out)
    alpha = pd.to_numeric(out["predicted_alpha"], errors="coerce")
    confidence = pd.to_numeric(out["prediction_confidence"], errors="coerce")
    rank = pd.to_numeric(out["combined_rank"], errors="coerce")
    # NaN compares False everywhere, so missing data never vetoes.
    out["gbm_veto"] = ((alpha < 0) & (rank > n / 2) & (confidence >= veto_confidence)).astype(bool)
    if "momentum_20d" in out.columns:
        momentum = pd.to_numeric(out["momentum_20d"], errors="coerce")
        out["momentum_veto"] = (momentum < momentum_veto_threshold).astype(bool)
    else:
        out["momentum_veto"] = False
    return out


def build_predictions(table: pd.DataFrame, *, run_date: str, model_version: str, caveats: Sequence[str],
                      model_status: str = "champion", high_confidence: float = 0.5, veto_confidence: float = 0.65,
                      momentum_veto_threshold: float = -0.05) -> dict[str, Any]:
    """The predictions document for ``run_date``, validated against ``predictions.schema.json``.

    ``p_up`` must be non-decreasing in ``predicted_alpha`` (ValueError otherwise), so the direction
    never contradicts the rank. Derived per row: ``predicted_direction`` (UP if ``p_up >= 0.5``: the
    threshold is 0.5, not the base rate, so a calibrator shrunk to a base rate below 0.5 marks every
    name DOWN and one above 0.5 every name UP), ``prediction_confidence``
    (``|p_up - 0.5| * 2``), ``combined_rank`` (1 = highest ``predicted_alpha``; equal alphas are
    ordered by ticker) and the vetoes of :func:`apply_vetoes`. Rows are sorted by rank.
    ``n_high_confidence`` counts rows with ``prediction_confidence >= high_confidence``.

    Parameters
    ----------
    table : DataFrame of shape (n_tickers, n_columns), indexed by ticker
        Required columns ``predicted_alpha``, ``predicted_alpha_std``, ``p_up`` (finite) and
        ``price_data_age_days`` (non-negative whole numbers); optional ``momentum_score``,
        ``momentum_20d``, ``expected_move`` (NaN leaves the field out of that row).
    run_date : str
        YYYY-MM-DD.
    model_version : str
        Registry version id; stamped on the document and every row.
    caveats : sequence of str
        Limits of this document, carried verbatim.
    model_status : {"champion", "provisional"}
        ``provisional`` when the model serves without having passed the promotion gate.

    Returns
    -------
    dict
        JSON-ready document: ``date, model_version, model_status, n_predictions,
        n_high_confidence, caveats, predictions``.
    """
    _check_run_date(run_date)
    if not isinstance(model_version, str) or not model_version:
        raise ValueError(f"build_predictions: model_version {model_version!r} must be a non-empty string")
    _check_table(table)
    if model_status not in MODEL_STATUSES:
        raise ValueError(f"build_predictions: model_status {model_status!r} is not one of {MODEL_STATUSES}")
    if isinstance(caveats, str) or not all(isinstance(c, str) for c in caveats):
        raise TypeError("build_predictions: caveats must be a sequence of strings")
    if not (isinstance(high_confidence, int | float) and 0.0 <= high_confidence <= 1.0):
        raise ValueError(f"build_predictions: high_confidence {high_confidence!r} is not in [0, 1]")

    frame = pd.DataFrame(index=pd.Index([str(t) for t in table.index], name="ticker"))
    for column in (*_REQUIRED_FLOATS, *_OPTIONAL_FLOATS):
        if column in table.columns:
            frame[column] = _rounded(table[column].to_numpy(dtype=float))
    frame["price_data_age_days"] = table["price_data_age_days"].to_numpy(dtype=float).astype(np.int64)
    frame["predicted_direction"] = np.where(frame["p_up"] >= 0.5, "UP", "DOWN")
    frame["prediction_confidence"] = _rounded((frame["p_up"] - 0.5).abs().to_numpy() * 2.0)
    # Rank on the rounded alpha so rows that print equal are ordered by ticker, as stated.
    frame = frame.reset_index().sort_values(["predicted_alpha", "ticker"], ascending=[False, True],
                                            kind="mergesort").set_index("ticker")
    frame["combined_rank"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    # The direction must not contradict the rank: p_up is non-decreasing in alpha (the calibrator is).
    ranked_p = frame["p_up"].to_numpy()
    ranked_alpha = frame["predicted_alpha"].to_numpy()
    bad = np.flatnonzero((ranked_p[1:] > ranked_p[:-1]) & (ranked_alpha[1:] < ranked_alpha[:-1]))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"build_predictions: p_up is not monotone in predicted_alpha: {frame.index[i]} "
                         f"(alpha {ranked_alpha[i]}) has p_up {ranked_p[i]} < {ranked_p[i + 1]} of "
                         f"{frame.index[i + 1]} (alpha {ranked_alpha[i + 1]})")
    frame = apply_vetoes(frame, veto_confidence=veto_confidence, momentum_veto_threshold=momentum_veto_threshold)

    rows = [_row(ticker, values, model_version) for ticker, values in frame.iterrows()]
    document: dict[str, Any] = {
        "date": run_date,
        "model_version": model_version,
        "model_status": model_status,
        "n_predictions": len(rows),
        "n_high_confidence": int((frame["prediction_confidence"] >= high_confidence).sum()),
        "caveats": list(caveats),
        "predictions": rows,
    }
    PREDICTIONS.validate(document, key=PREDICTIONS.format(run_date))
    return document


def _rounded(values: np.ndarray) -> np.ndarray:
    # Adding 0.0 turns -0.0 into 0.0, so a tiny negative never prints as "-0.0".
    return np.round(values, DECIMALS) + 0.0


def _check_run_date(run_date: str) -> None:
    # Checked here, not only by the schema: a malformed date would also make a key no contract covers.
    try:
        ok = isinstance(run_date, str) and len(run_date) == 10 and date.fromisoformat(run_date).isoformat() == run_date
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"build_predictions: run_date {run_date!r} is not a YYYY-MM-DD date")


def _check_table(table: pd.DataFrame) -> None:
    missing = [c for c in (*_REQUIRED_FLOATS, "price_data_age_days") if c not in table.columns]
    if missing:
        raise ValueError(f"build_predictions: table is missing columns {missing}")
    tickers = [str(t) for t in table.index]
    if any(not t for t in tickers):
        raise ValueError("build_predictions: empty ticker in the table index")
    duplicated = sorted({t for t in tickers if tickers.count(t) > 1})
    if duplicated:
        raise ValueError(f"build_predictions: duplicate tickers {duplicated}")
    for column in (*_REQUIRED_FLOATS, "price_data_age_days"):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if column == "p_up":
            bad |= (values < 0) | (values > 1)
        elif column == "predicted_alpha_std":
            bad |= values < 0
        elif column == "price_data_age_days":
            bad |= (values < 0) | (values != np.floor(values))
        if bad.any():
            where = [tickers[i] for i in np.flatnonzero(bad)[:5]]
            raise ValueError(f"build_predictions: column {column!r} has invalid values for tickers {where}")


def _row(ticker: Any, values: pd.Series, model_version: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ticker": str(ticker),
        "predicted_direction": str(values["predicted_direction"]),
        "prediction_confidence": float(values["prediction_confidence"]),
        "predicted_alpha": float(values["predicted_alpha"]),
        "predicted_alpha_std": float(values["predicted_alpha_std"]),
        "p_up": float(values["p_up"]),
        "combined_rank": int(values["combined_rank"]),
        "gbm_veto": bool(values["gbm_veto"]),
        "momentum_veto": bool(values["momentum_veto"]),
        "model_version": model_version,
        "price_data_age_days": int(values["price_data_age_days"]),
    }
    for column in _OPTIONAL_FLOATS:
        if column in values.index and math.isfinite(float(values[column])):
            row[column] = float(values[column])
    return row
