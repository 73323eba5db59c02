"""The predictor, graded on its stored predictions against realised outcomes.

* **IC decay**: per prediction date, the Spearman IC of ``predicted_alpha`` with the index-relative
  return at each horizon; the mean over dates with a Newey-West interval (lag 2 x the number of
  dates one outcome window spans) and the fixed-b critical value, so overlapping labels do not
  shrink it.
* **Calibration**: ECE of ``p_up`` against "beat the index at the predictor's horizon", with the
  reliability bins, and the UP/DOWN confusion matrix.
* When too few stored predictions are realised (a new install, or the sample's single week), the
  module falls back to the serving model's walk-forward evidence (its registry manifest: out-of-
  sample IC with its interval, IC by horizon, cross-fitted calibration) and says so (degraded).

Outcomes here are index-relative simple returns; the predictor's label is a vol-bucket-relative
log return, so the two ICs measure neighbouring, not identical, things.

**Vetoes**: the veto rule (``predicted_alpha < 0``, rank in the bottom half, confidence >=
threshold) swept over ``veto_thresholds``: vetoes, precision (vetoed and underperformed the index),
its Wilson interval, lift over the base rate, recall, F1; and the dollar value of the stored
``gbm_veto`` flags on the week's buy candidates at ``veto_position_usd`` each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._completeness import ModuleResult, SkipModule
from ._errors import InsufficientDataError
from ._factor import cross_sectional_ic
from ._inputs import EvaluationInputs, overlap
from ._stats import expected_calibration_error, hac_mean_interval, reliability_table, wilson_interval

__all__ = ["daily_ics", "predictor_quality", "veto_analysis"]


def daily_ics(frame: pd.DataFrame, column: str, outcome: str, min_names: int) -> pd.Series:
    """date -> Spearman IC of ``column`` with ``outcome`` over that date's realised rows (dates with
    fewer than ``min_names`` realised rows are left out).

    The long frame is laid out wide (one row per date, one column per row of that date, so a ticker
    listed twice stays two entries) and every date is ranked at once (``cross_sectional_ic``)."""
    if frame.empty:
        return pd.Series({}, dtype=float)
    dates = frame["signal_date"].to_numpy()
    day_codes, days = pd.factorize(dates, sort=True)
    slot = frame.groupby(day_codes, sort=False).cumcount().to_numpy()
    x = np.full((len(days), int(slot.max()) + 1), np.nan)
    y = x.copy()
    x[day_codes, slot] = frame[column].to_numpy(dtype=float)
    y[day_codes, slot] = frame[outcome].to_numpy(dtype=float)
    ics = cross_sectional_ic(x, y, min_names=3)
    realised = np.isfinite(y).sum(axis=1) >= min_names
    keep = realised & np.isfinite(ics)
    return pd.Series({str(day): float(ic) for day, ic in zip(days[keep], ics[keep], strict=True)}, dtype=float)


def _training_fallback(inputs: EvaluationInputs) -> dict[str, Any] | None:
    evidence = inputs.training_evidence
    if not evidence:
        return None
    validation = evidence.get("validation") or {}
    calibrator = (evidence.get("models") or {}).get("calibrator") or {}
    decay = {str(h): float(v["meta"]) for h, v in sorted((validation.get("ic_decay") or {}).items(), key=lambda kv: int(kv[0]))
             if isinstance(v, dict) and isinstance(v.get("meta"), int | float)}
    oos = validation.get("meta_oos_ic") or {}
    curve = [{"low": None, "high": None, "n": int(b["count"]), "mean_predicted": float(b["mean_predicted"]),
              "observed": float(b["observed_frequency"])} for b in calibrator.get("curve") or []
             if {"count", "mean_predicted", "observed_frequency"} <= set(b)]
    return {"model_version": evidence.get("version_id"), "horizon": evidence.get("horizon"),
            "mean_ic": oos.get("mean"), "ic_ci_low": validation.get("ic_ci_low"),
            "ic_ci_high": validation.get("ic_ci_high"), "ic_ci_method": validation.get("ic_ci_method"),
            "n_dates": oos.get("n_dates"), "ic_decay": decay, "ece": calibrator.get("ece"), "calibration_curve": curve,
            "dsr": validation.get("dsr"), "hit_rate": validation.get("hit_rate")}


def predictor_quality(inputs: EvaluationInputs) -> ModuleResult:
    frame = inputs.prediction_outcomes
    options = inputs.options
    degraded: list[str] = []
    live: dict[str, Any] = {"ic_decay": {}, "stored_prediction_dates": int(frame["signal_date"].nunique())}
    for h in options.ic_horizons:
        ics = daily_ics(frame, "predicted_alpha", f"alpha_{h}", options.min_names_per_date)
        try:
            interval = hac_mean_interval(ics.to_numpy(), 2 * overlap(h, inputs.spacing), options.min_ic_dates)
            live["ic_decay"][str(h)] = {**interval.as_dict(), "status": "tested"}
        except InsufficientDataError as exc:
            live["ic_decay"][str(h)] = {"n": int(len(ics)), "status": "insufficient_data", "reason": str(exc)}
    h = options.predictor_horizon
    resolved = frame[np.isfinite(frame[f"alpha_{h}"].to_numpy(dtype=float)) & np.isfinite(frame["p_up"].to_numpy(dtype=float))]
    if len(resolved) >= options.min_calibration:
        up = resolved[f"alpha_{h}"].to_numpy(dtype=float) > 0
        p_up = resolved["p_up"].to_numpy(dtype=float)
        predicted_up = resolved["predicted_direction"].to_numpy() == "UP"
        live["calibration"] = {"horizon": h, "n": int(len(resolved)), "ece": expected_calibration_error(p_up, up),
                               "brier": float(np.mean((p_up - up) ** 2)), "bins": reliability_table(p_up, up)}
        matrix = {f"{p}_{a}": int(((predicted_up == (p == "UP")) & (up == (a == "UP"))).sum())
                  for p in ("UP", "DOWN") for a in ("UP", "DOWN")}
        live["confusion"] = {"horizon": h, "matrix": matrix, "accuracy": float((predicted_up == up).mean()),
                             "precision_up": matrix["UP_UP"] / max(matrix["UP_UP"] + matrix["UP_DOWN"], 1),
                             "recall_up": matrix["UP_UP"] / max(matrix["UP_UP"] + matrix["DOWN_UP"], 1)}
    else:
        live["calibration"] = {"status": "insufficient_data", "n": int(len(resolved)),
                               "reason": f"{len(resolved)} resolved prediction(s) at {h} sessions, "
                                         f"the floor is {options.min_calibration}"}
    graded_ic = live["ic_decay"].get(str(h), {})
    training = _training_fallback(inputs)
    data: dict[str, Any] = {"live": live, "training": training}
    if graded_ic.get("status") == "tested":
        data["graded_on"] = "live"
        data["rank_ic"], data["rank_ic_n"] = graded_ic["mean"], graded_ic["n"]
        data["rank_ic_ci"] = [graded_ic["ci_low"], graded_ic["ci_high"]]
    elif training is not None and isinstance(training.get("mean_ic"), int | float):
        data["graded_on"] = "walk-forward"
        data["rank_ic"], data["rank_ic_n"] = training["mean_ic"], training.get("n_dates") or 0
        data["rank_ic_ci"] = [training.get("ic_ci_low"), training.get("ic_ci_high")]
        degraded.append(f"too few realised live predictions at {h} sessions ({graded_ic.get('reason')}): graded on "
                        f"the serving model's walk-forward evidence ({training['model_version']})")
    elif frame.empty:
        raise SkipModule("no stored predictions in the evaluation window and no serving model's evidence")
    else:
        raise InsufficientDataError(f"live IC at {h} sessions: {graded_ic.get('reason')}; no walk-forward evidence stored")
    if live["calibration"].get("status") == "insufficient_data":
        degraded.append(f"calibration: {live['calibration']['reason']}")
    return ModuleResult(data, tuple(degraded))


def veto_analysis(inputs: EvaluationInputs) -> ModuleResult:
    frame = inputs.prediction_outcomes
    options = inputs.options
    h = options.predictor_horizon
    if frame.empty:
        raise SkipModule("no stored predictions in the evaluation window")
    resolved = frame[np.isfinite(frame[f"alpha_{h}"].to_numpy(dtype=float))]
    if resolved.empty:
        raise SkipModule(f"no stored prediction has a realised {h}-session outcome by {inputs.as_of}")
    under = resolved[f"alpha_{h}"].to_numpy(dtype=float) < 0
    base = float(under.mean())
    bottom = (resolved["predicted_alpha"].to_numpy(dtype=float) < 0) & \
             (resolved["combined_rank"].to_numpy(dtype=float) > resolved["n_in_date"].to_numpy(dtype=float) / 2)
    confidence = resolved["prediction_confidence"].to_numpy(dtype=float)
    sweep: list[dict[str, Any]] = []
    for threshold in options.veto_thresholds:
        vetoed = bottom & (confidence >= threshold)
        n = int(vetoed.sum())
        row: dict[str, Any] = {"threshold": threshold, "vetoes": n}
        if n < options.min_vetoes:
            row.update({"status": "insufficient_data", "reason": f"{n} veto(es), the floor is {options.min_vetoes}"})
        else:
            hits = int((vetoed & under).sum())
            precision = hits / n
            recall = hits / max(int(under.sum()), 1)
            low, high = wilson_interval(precision * inputs.n_effective(n, h), inputs.n_effective(n, h))
            row.update({"status": "tested", "precision": precision, "ci_low": low, "ci_high": high,
                        "lift": precision - base, "recall": recall,
                        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
                        "missed_alpha": float(resolved[f"alpha_{h}"].to_numpy(dtype=float)[vetoed & ~under].sum())})
        sweep.append(row)
    tested = [r for r in sweep if r["status"] == "tested"]
    data: dict[str, Any] = {"horizon": h, "base_rate_underperform": base, "resolved": int(len(resolved)), "sweep": sweep}
    if tested:
        worst = max(r["missed_alpha"] for r in tested) or 1.0
        best = max(tested, key=lambda r: (r["precision"] - 0.30 * r["missed_alpha"] / worst, -r["threshold"]))
        data["best_threshold"] = best["threshold"]
        data["best_lift"] = best["lift"]
        data["best_vetoes"] = best["vetoes"]
    buys = inputs.signal_outcomes
    joined = resolved.merge(buys[buys["buy_candidate"]][["signal_date", "ticker"]], on=["signal_date", "ticker"])
    flagged = joined[joined["gbm_veto"]]
    alpha = flagged[f"alpha_{h}"].to_numpy(dtype=float)
    size = options.veto_position_usd
    data["dollar_value"] = {"vetoed_buy_candidates": int(len(flagged)), "position_usd": size,
                            "losses_avoided_usd": float(np.clip(-alpha, 0, None).sum() * size),
                            "alpha_forgone_usd": float(np.clip(alpha, 0, None).sum() * size),
                            "net_usd": float(-alpha.sum() * size) + 0.0}
    degraded = []
    if not tested:
        degraded.append(f"no threshold reaches {options.min_vetoes} vetoes: no precision is stated")
    if flagged.empty:
        degraded.append("no stored gbm_veto flag fell on a buy candidate with a realised outcome: the dollar value is 0 by absence")
    return ModuleResult(data, tuple(degraded))
