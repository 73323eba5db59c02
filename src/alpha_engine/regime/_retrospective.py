"""Score past regime calls against hindsight: the HMM smoother fitted on the data available now.

A call is the ``label`` (and ``probabilities``) of an earlier ``regime/{date}/substrate.json``, for
its ``week``. The reference label of that week is the argmax of the smoothed posterior
``P(s_week | all weeks up to now)`` of the HMM refitted on today's data. Only calls whose week is
at least ``lag_weeks`` (8) weeks before the last reference week are scored: the smoother needs
data after a week to judge it.

Cost of a call: 0 when right; ``bear_miss_weight`` (2) when the reference says bear and the call
did not (a missed bear market costs most); 1 for any other miss. Metrics, each with a 95%
percentile-bootstrap interval over weeks (calls resampled with replacement; seeded):

* ``weighted_accuracy`` = 1 - sum(cost) / sum(weight of the reference label) (1 is perfect);
* ``mean_cost`` = mean cost per call;
* ``weighted_brier``: the multi-class Brier score of the call's probabilities, each call weighted
  by its reference label's weight (0 is perfect, 2 the worst);
* ``hit_rate``: the fraction of calls equal to the reference (unweighted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from ._errors import RegimeInputError
from ._hmm import STATE_LABELS, fit_regime_hmm
from ._inputs import RegimeInputs
from ._options import RegimeRetrospectiveOptions

__all__ = ["RegimeCall", "build_retrospective", "score_calls"]

_LEVEL = 0.95


@dataclass(frozen=True)
class RegimeCall:
    """One earlier call: the run's date, the week it called, its label and state probabilities."""

    date: str
    week: str
    label: str
    probabilities: Mapping[str, float]


def _metrics(correct: np.ndarray, weight: np.ndarray, cost: np.ndarray, brier: np.ndarray) -> np.ndarray:
    """(weighted_accuracy, mean_cost, weighted_brier, hit_rate) over axis -1 (vectorized over resamples)."""
    total_weight = weight.sum(axis=-1)
    return np.stack([1.0 - cost.sum(axis=-1) / total_weight, cost.mean(axis=-1),
                     (weight * brier).sum(axis=-1) / total_weight, correct.mean(axis=-1)], axis=-1)


def score_calls(calls: Sequence[RegimeCall], reference: Mapping[str, str], *, bear_miss_weight: float = 2.0,
                n_bootstrap: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Score ``calls`` against ``reference`` (week -> hindsight label); every call's week must be in it.

    Returns {metrics: {name: {estimate, ci_low, ci_high}}, confusion, calls, bear: {...}}.
    """
    if not calls:
        raise ValueError("score_calls: no calls to score")
    index = {label: i for i, label in enumerate(STATE_LABELS)}
    for call in calls:
        if call.label not in index:
            raise ValueError(f"score_calls: call of {call.date} has label {call.label!r}, not one of {STATE_LABELS}")
        if call.week not in reference:
            raise ValueError(f"score_calls: call of {call.date} is for week {call.week}, which the reference lacks")
    truth = np.array([index[reference[c.week]] for c in calls])
    called = np.array([index[c.label] for c in calls])
    probs = np.array([[float(c.probabilities.get(label, 0.0)) for label in STATE_LABELS] for c in calls])
    weight = np.where(truth == index["bear"], bear_miss_weight, 1.0)
    correct = (called == truth).astype(float)
    cost = weight * (1.0 - correct)
    brier = ((probs - np.eye(len(STATE_LABELS))[truth]) ** 2).sum(axis=1)

    estimate = _metrics(correct, weight, cost, brier)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(calls), size=(n_bootstrap, len(calls)))
    boot = _metrics(correct[picks], weight[picks], cost[picks], brier[picks])
    low, high = np.quantile(boot, [(1 - _LEVEL) / 2, (1 + _LEVEL) / 2], axis=0)
    names = ("weighted_accuracy", "mean_cost", "weighted_brier", "hit_rate")
    metrics = {name: {"estimate": float(estimate[i]), "ci_low": float(low[i]), "ci_high": float(high[i])}
               for i, name in enumerate(names)}
    bear_weeks = truth == index["bear"]
    confusion = {c: {t: int(np.sum((called == index[c]) & (truth == index[t]))) for t in STATE_LABELS}
                 for c in STATE_LABELS}
    return {
        "metrics": metrics,
        "bear": {"reference_weeks": int(bear_weeks.sum()),
                 "missed": int(np.sum(bear_weeks & (called != index["bear"]))),
                 "recall": float(correct[bear_weeks].mean()) if bear_weeks.any() else None},
        "confusion": confusion,
        "calls": [{"date": c.date, "week": c.week, "call": c.label, "reference": STATE_LABELS[truth[i]],
                   "cost": float(cost[i])} for i, c in enumerate(calls)],
    }


def build_retrospective(calls: Sequence[RegimeCall], inputs: RegimeInputs, options: RegimeRetrospectiveOptions,
                        *, seed: int, run_date: date) -> dict[str, Any]:
    """The retrospective document (``regime/retrospective/{date}.json``): the hindsight reference
    from the smoother of the HMM refitted on ``inputs``, and the scores of the calls old enough.

    With fewer than ``min_calls`` scorable calls the status is ``insufficient_history`` and the
    message says "insufficient history (n calls)"; nothing fails.
    """
    from ._substrate import rounded

    features = inputs.hmm_features()
    if len(features) < options.min_weeks:
        raise RegimeInputError(
            f"regime: {len(features)} weeks of {inputs.market_symbol} returns up to {inputs.as_of.isoformat()}; "
            f"the HMM needs at least {options.min_weeks} (min_weeks)")
    x = features.to_numpy()
    model = fit_regime_hmm(x, seed=seed, n_init=options.n_init, n_iter=options.n_iter)
    smoothed = model.smoothed(x)
    weeks = [w.date().isoformat() for w in features.index]
    # A call is scorable when the smoother has seen at least lag_weeks of data after its week.
    judged = weeks[: max(len(weeks) - options.lag_weeks, 0)]
    reference = {w: STATE_LABELS[int(np.argmax(smoothed[i]))] for i, w in enumerate(judged)}
    ordered = sorted(calls, key=lambda c: c.date)
    scorable = [c for c in ordered if c.week in reference]
    too_recent = [c for c in ordered if c.week > (judged[-1] if judged else "")]
    document: dict[str, Any] = {
        "date": run_date.isoformat(),
        "as_of": inputs.as_of.isoformat(),
        "market_symbol": inputs.market_symbol,
        "lag_weeks": options.lag_weeks,
        "bear_miss_weight": options.bear_miss_weight,
        "min_calls": options.min_calls,
        "n_calls_found": len(ordered),
        "n_calls_too_recent": len(too_recent),
        "n_calls_outside_reference": len(ordered) - len(scorable) - len(too_recent),
        "n_scorable": len(scorable),
        "reference": {
            "method": "argmax of the smoothed (forward-backward) posterior of the 3-state HMM refitted on every "
                      "week up to the as-of session; weeks within lag_weeks of the end are not judged",
            "features": list(features.columns),
            "n_weeks": len(weeks),
            "last_judged_week": judged[-1] if judged else None,
            "diagnostics": {"log_likelihood": model.log_likelihood, "iterations": model.n_iter,
                            "converged": model.converged, "seed": model.seed, "n_init": options.n_init,
                            "n_iter_cap": options.n_iter},
        },
        "interval": {"method": "percentile bootstrap over weeks (calls resampled with replacement)",
                     "level": _LEVEL, "n_resamples": options.n_bootstrap, "seed": seed},
        "seed": seed,
    }
    if len(scorable) < options.min_calls:
        document.update(status="insufficient_history",
                        message=f"insufficient history ({len(scorable)} calls): at least {options.min_calls} "
                                f"calls {options.lag_weeks} or more weeks old are needed",
                        metrics=None, bear=None, confusion=None, calls=[])
    else:
        scored = score_calls(scorable, reference, bear_miss_weight=options.bear_miss_weight,
                             n_bootstrap=options.n_bootstrap, seed=seed)
        document.update(status="scored", message=f"{len(scorable)} calls scored", **scored)
    return dict(rounded(document))
