"""One evaluation: run every grading module under the completeness tracker, grade, and state the
verdict. Pure: the stage gathers :class:`EvaluationInputs` and writes what this returns."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._completeness import CompletenessTracker, ModuleResult
from ._inputs import EvaluationInputs
from ._paths import exit_timing, portfolio_path
from ._predictor_eval import predictor_quality, veto_analysis
from ._scorecard import compute_scorecard
from ._signal_quality import attribution, signal_quality

__all__ = ["MODULES", "evaluate", "jsonable"]

# name -> module, in the order they run and are reported.
MODULES: dict[str, Callable[[EvaluationInputs], ModuleResult]] = {
    "signal_quality": signal_quality,
    "attribution": attribution,
    "predictor": predictor_quality,
    "veto": veto_analysis,
    "exit_timing": exit_timing,
    "portfolio": portfolio_path,
}

CAVEATS = (
    "outcomes are index-relative simple returns from the close of the first session after each signal date; "
    "the predictor's own label (vol-bucket-relative log return) differs",
    "closes only: exit timing's MFE/MAE are close-to-close",
    "outcome windows of consecutive signal dates overlap: intervals use an effective sample size (hit rates) or a "
    "Newey-West variance with a fixed-b critical value (ICs)",
)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars as Python numbers and every non-finite float as None (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def _verdict(scorecard: Mapping[str, Any], modules: Mapping[str, Any], primary: int) -> str:
    parts: list[str] = []
    overall = scorecard["overall"]
    if overall["score"] is None:
        parts.append("Not graded: too few realised outcomes in the stored history to grade any group.")
    else:
        graded = [g for g, body in scorecard["groups"].items() if body["score"] is not None]
        ungraded = [g for g in scorecard["groups"] if g not in graded]
        parts.append(f"Overall {overall['grade']} ({overall['score']:.0f}/100) on {', '.join(graded)}"
                     + (f"; {', '.join(ungraded)} not graded." if ungraded else "."))
    predictor = modules["predictor"]
    if predictor.status in ("ok", "degraded"):
        d = predictor.data
        low, high = d["rank_ic_ci"]
        if isinstance(low, int | float) and isinstance(high, int | float):
            skill = ("no detectable skill (the interval includes 0)" if low <= 0 <= high
                     else "skill (the interval excludes 0)" if low > 0 else "negative skill (the interval is below 0)")
            parts.append(f"Predictor: rank IC {d['rank_ic']:+.4f}, 95% CI [{low:+.4f}, {high:+.4f}] "
                         f"({d['graded_on']}): {skill}.")
    quality = modules["signal_quality"]
    if quality.status in ("ok", "degraded"):
        s = quality.data["horizons"].get(str(primary), {})
        if "hit_rate" in s:
            parts.append(f"Buy candidates beat the index {s['hit_rate']:.0%} of the time at {primary} sessions "
                         f"(95% CI {s['ci_low']:.0%}-{s['ci_high']:.0%}, n={s['n']}).")
    troubled = [f"{name} {m.status}" for name, m in modules.items() if m.status in ("skipped", "error")]
    if troubled:
        parts.append(f"Not assessed: {', '.join(troubled)} (reasons below).")
    return " ".join(parts)


def evaluate(inputs: EvaluationInputs, logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
             extra: Mapping[str, Callable[[], ModuleResult]] | None = None) -> dict[str, Any]:
    """The evaluation document (without the report): verdict, scorecard, modules, window, caveats.

    ``extra`` modules (the stage's config auto-apply, which does I/O) run after the grading ones
    under the same completeness tracker."""
    tracker = CompletenessTracker(logger)
    for name, module in MODULES.items():
        tracker.run(name, lambda module=module: module(inputs))  # type: ignore[misc]
    for name, run in (extra or {}).items():
        tracker.run(name, run)
    scorecard = compute_scorecard(inputs, tracker.reports)
    signals, predictions = inputs.history.signals, inputs.history.predictions
    document = {
        "date": inputs.run_date.isoformat(),
        "as_of_session": inputs.as_of.isoformat(),
        "market_symbol": inputs.market_symbol,
        "window": {"start": (inputs.run_date.fromordinal(inputs.run_date.toordinal() - 7 * inputs.options.lookback_weeks)).isoformat(),
                   "end": inputs.run_date.isoformat(),
                   "signal_dates": int(signals["signal_date"].nunique()),
                   "prediction_dates": int(predictions["signal_date"].nunique()),
                   "spacing_sessions": inputs.spacing},
        "verdict": _verdict(scorecard, tracker.reports, inputs.options.primary_horizon),
        "status": "ok" if all(r.status == "ok" for r in tracker.reports.values()) else "degraded",
        "completeness": tracker.counts(),
        "scorecard": scorecard,
        "modules": {name: report.as_dict() for name, report in tracker.reports.items()},
        "caveats": list(CAVEATS),
    }
    return dict(jsonable(document))
