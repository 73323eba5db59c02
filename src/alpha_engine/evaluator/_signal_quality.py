"""Signal quality and attribution: do the research signals beat the index after they are issued?

**Signal quality.** The headline is the buy candidates' hit rate (share whose return from the entry
close beat the index's over the same closes) at each horizon, with a Wilson 95% interval at the
effective sample size (outcomes of consecutive weeks overlap: n / ceil(h / spacing)) and a z-test
against 0.5. Then every scored name is sliced by score bucket, by the week's market regime and by
sector; each slice with at least ``min_observations`` outcomes is tested against 0.5, and the
Benjamini-Hochberg procedure at FDR ``fdr_q`` runs across all those tests together. A slice under
the floor is listed as "insufficient data" with its count, never with a rate.

**Attribution.** Pearson correlation of the composite score and its quant/qual sub-scores with the
alpha at each horizon (at least ``min_attribution_rows`` rows), t-tested at the effective size,
with BH across the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._completeness import ModuleResult, SkipModule
from ._errors import InsufficientDataError
from ._inputs import EvaluationInputs
from ._stats import benjamini_hochberg, pearson_test, proportion_pvalue, wilson_interval

__all__ = ["SCORE_BUCKETS", "attribution", "hit_rate_summary", "signal_quality"]

# (label, low inclusive, high exclusive): upstream's 60-70/70-80/80-90/90+, and everything under 60.
SCORE_BUCKETS = (("<60", -np.inf, 60.0), ("60-70", 60.0, 70.0), ("70-80", 70.0, 80.0),
                 ("80-90", 80.0, 90.0), ("90+", 90.0, np.inf))


def hit_rate_summary(beat: pd.Series | np.ndarray[Any, Any], alpha: pd.Series | np.ndarray[Any, Any],
                     n_effective: float, floor: int) -> dict[str, Any]:
    """Hit rate, Wilson interval and z-test p at the effective size, and the mean alpha, of the
    realised rows; raises :class:`InsufficientDataError` when fewer than ``floor`` are realised."""
    hits = np.asarray(beat, dtype=float)
    gains = np.asarray(alpha, dtype=float)
    keep = np.isfinite(hits)
    n = int(keep.sum())
    if n < floor:
        raise InsufficientDataError(f"{n} realised outcome(s), the floor is {floor}")
    rate = float(hits[keep].mean())
    low, high = wilson_interval(rate * n_effective, n_effective)
    return {"n": n, "n_effective": round(n_effective, 2), "hit_rate": rate, "ci_low": low, "ci_high": high,
            "p_value": proportion_pvalue(rate * n_effective, n_effective), "mean_alpha": float(np.nanmean(gains[keep]))}


def _slices(frame: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    out: list[tuple[str, str, pd.Series]] = []
    scored = frame["score"].to_numpy(dtype=float)
    for label, low, high in SCORE_BUCKETS:
        out.append(("score_bucket", label, pd.Series((scored >= low) & (scored < high), index=frame.index)))
    for dimension in ("market_regime", "sector"):
        for value in sorted(frame[dimension].dropna().unique()):
            out.append(("regime" if dimension == "market_regime" else "sector", str(value), frame[dimension] == value))
    return out


def signal_quality(inputs: EvaluationInputs) -> ModuleResult:
    frame = inputs.signal_outcomes
    options = inputs.options
    if frame.empty:
        raise SkipModule("no stored signals in the evaluation window")
    primary = options.primary_horizon
    if not np.isfinite(frame[f"ret_{primary}"].to_numpy(dtype=float)).any():
        raise SkipModule(f"no signal has a realised {primary}-session outcome by {inputs.as_of} "
                         f"(signals dated {frame['signal_date'].min()} to {frame['signal_date'].max()})")
    degraded: list[str] = []
    buys = frame[frame["buy_candidate"]]
    headline: dict[str, Any] = {}
    for h in options.horizons:
        realised = int(np.isfinite(buys[f"beat_{h}"].to_numpy(dtype=float)).sum())
        try:
            headline[str(h)] = hit_rate_summary(buys[f"beat_{h}"], buys[f"alpha_{h}"],
                                                inputs.n_effective(realised, h), options.min_observations)
        except InsufficientDataError as exc:
            headline[str(h)] = {"n": realised, "status": "insufficient_data", "reason": str(exc)}
            if h == primary:
                degraded.append(f"buy candidates at {h} sessions: {exc}")

    scored = frame[np.isfinite(frame["score"].to_numpy(dtype=float))]
    slices: list[dict[str, Any]] = []
    for dimension, value, mask in _slices(scored):
        rows = scored[mask.to_numpy()]
        realised = int(np.isfinite(rows[f"beat_{primary}"].to_numpy(dtype=float)).sum())
        entry: dict[str, Any] = {"dimension": dimension, "value": value, "horizon": primary}
        try:
            entry.update(hit_rate_summary(rows[f"beat_{primary}"], rows[f"alpha_{primary}"],
                                          inputs.n_effective(realised, primary), options.min_observations))
            entry["status"] = "tested"
        except InsufficientDataError as exc:
            entry.update({"n": realised, "status": "insufficient_data", "reason": str(exc)})
        slices.append(entry)
    tested = [s for s in slices if s["status"] == "tested"]
    reject, adjusted = benjamini_hochberg([s["p_value"] for s in tested], options.fdr_q)
    for s, r, q in zip(tested, reject, adjusted, strict=True):
        s["q_value"], s["significant"] = q, r
    insufficient = [f"{s['dimension']} {s['value']}" for s in slices if s["status"] == "insufficient_data" and s["n"]]
    if insufficient:
        degraded.append(f"{len(insufficient)} slice(s) under the floor of {options.min_observations} "
                        f"outcomes: {', '.join(insufficient[:6])}{' ...' if len(insufficient) > 6 else ''}")
    data = {
        "population": "buy candidates (headline); every scored name (slices)",
        "signal_dates": int(frame["signal_date"].nunique()),
        "buy_candidates": int(len(buys)),
        "horizons": headline,
        "slices": slices,
        "fdr": {"q": options.fdr_q, "tests": len(tested), "raw_p_below_0_05": sum(s["p_value"] < 0.05 for s in tested),
                "rejected": int(sum(reject))},
        "overlap_note": f"outcome windows overlap ceil(h / {inputs.spacing}) ways across signal dates: "
                        "intervals and tests use n / overlap observations",
    }
    return ModuleResult(data, tuple(degraded))


def attribution(inputs: EvaluationInputs) -> ModuleResult:
    frame = inputs.signal_outcomes
    options = inputs.options
    if frame.empty:
        raise SkipModule("no stored signals in the evaluation window")
    rows: list[dict[str, Any]] = []
    degraded: list[str] = []
    for factor in ("score", "quant", "qual"):
        values = frame[factor].to_numpy(dtype=float)
        if not np.isfinite(values).any():
            degraded.append(f"no stored {factor} values")
            continue
        for h in options.horizons:
            alpha = frame[f"alpha_{h}"].to_numpy(dtype=float)
            n = int((np.isfinite(values) & np.isfinite(alpha)).sum())
            if n < options.min_attribution_rows:
                rows.append({"factor": factor, "horizon": h, "n": n, "status": "insufficient_data",
                             "reason": f"{n} row(s), the floor is {options.min_attribution_rows}"})
                continue
            r, p, _ = pearson_test(values, alpha, inputs.n_effective(n, h))
            rows.append({"factor": factor, "horizon": h, "n": n, "status": "tested", "pearson_r": r, "p_value": p})
    tested = [r for r in rows if r["status"] == "tested"]
    if not tested:
        best = max((r["n"] for r in rows), default=0)
        raise InsufficientDataError(f"{best} realised row(s) with a score, the floor is {options.min_attribution_rows}")
    reject, adjusted = benjamini_hochberg([r["p_value"] for r in tested], options.fdr_q)
    for row, rej, q in zip(tested, reject, adjusted, strict=True):
        row["q_value"], row["significant"] = q, rej
    if len(tested) < len(rows):
        degraded.append(f"{len(rows) - len(tested)} factor/horizon pair(s) under the floor")
    return ModuleResult({"correlations": rows, "fdr": {"q": options.fdr_q, "tests": len(tested),
                                                       "rejected": int(sum(reject))}}, tuple(degraded))
