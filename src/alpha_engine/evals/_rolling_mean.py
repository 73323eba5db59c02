"""EvalRollingMean's arithmetic: the 28-day mean judge score per agent family and dimension.

* Reads the judgments EvalJudge wrote in the ``window_days`` days ending the run date, listing
  only those days' ``decision_artifacts/_eval/{date}/`` prefixes (a day, then its judge runs).
* Groups by agent **family** (``sector_quant``, not ``sector_quant:technology``): six stable series
  an alarm can watch, where per-team and per-ticker ids (``thesis_update:tech:AAPL``) would come
  and go and average a handful of scores each.
* Counts one score per (decision, dimension): when several judges scored it, the **strongest**
  counts (strong model > weak model > rubric judge), and among judge runs the latest. A strong
  judgment exists exactly when the weak one was doubtful (or on the first Saturday), so the
  strongest is the best estimate of the decision's quality.
* The minimum over every (family, dimension) mean is what the eval-quality alarm watches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._artifacts import EVAL_JUDGMENT
from ._corpus import agent_base
from ._namespaces import EVAL_NAMESPACE

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore, Datapoint

__all__ = ["COUNTED_JUDGE", "TIER_STRENGTH", "RollingMean", "rolling_mean", "rolling_mean_datapoints"]

TIER_STRENGTH = {"rubric": 0, "weak": 1, "strong": 2}
COUNTED_JUDGE = "strongest judge per decision and dimension (strong > weak > rubric), latest judge run first"
_EVAL_ROOT = EVAL_JUDGMENT.prefix  # decision_artifacts/_eval/


@dataclass
class RollingMean:
    start: date
    end: date
    judgments_read: int = 0
    unreadable: list[str] = field(default_factory=list)
    means: list[dict[str, Any]] = field(default_factory=list)  # sorted by family, criterion
    decisions: int = 0

    @property
    def minimum(self) -> dict[str, Any] | None:
        if not self.means:
            return None
        low = min(self.means, key=lambda m: (m["mean"], m["judged_agent_id"], m["criterion"]))
        return {k: low[k] for k in ("judged_agent_id", "criterion", "mean")}

    def document(self, run_date: date) -> dict[str, Any]:
        return {"schema_version": 1, "run_date": run_date.isoformat(),
                "window": [self.start.isoformat(), self.end.isoformat()], "judgments_read": self.judgments_read,
                "decisions": self.decisions, "counted_judge": COUNTED_JUDGE, "means": self.means,
                "minimum": self.minimum, "unreadable": len(self.unreadable)}


def _judgment_keys(store: ArtifactStore, day: date) -> list[str]:
    prefix = f"{_EVAL_ROOT}{day.isoformat()}/"
    keys = []
    for run in sorted(store.children(prefix)):
        keys += [f"{prefix}{run}/{name}" for name in sorted(store.children(f"{prefix}{run}/")) if name.endswith(".json")]
    return keys


def rolling_mean(store: ArtifactStore, *, end: date, window_days: int = 28) -> RollingMean:
    """The means of the judgments of the ``window_days`` days ending ``end`` (module docstring)."""
    result = RollingMean(start=end - timedelta(days=window_days - 1), end=end)
    best: dict[tuple[str, str], tuple[tuple[str, int], str, int]] = {}  # (decision, criterion) -> (rank, family, score)
    for back in range(window_days):
        for key in _judgment_keys(store, end - timedelta(days=back)):
            try:
                doc = store.read_json(key)
                judged, tier, run_date = doc["judged"], doc["judge_tier"], str(doc["judge_run_date"])
                scores = {c: int(s["score"]) for c, s in doc["scores"].items()}
                rank = (run_date, TIER_STRENGTH[tier])
                decision, family = str(judged["key"]), agent_base(str(judged["agent_id"]))
            except Exception as exc:  # noqa: BLE001 - one unreadable judgment is counted, not fatal
                result.unreadable.append(f"{key}: {type(exc).__name__}: {exc}")
                continue
            result.judgments_read += 1
            for criterion, score in scores.items():
                held = best.get((decision, criterion))
                if held is None or rank > held[0]:
                    best[(decision, criterion)] = (rank, family, score)
    groups: dict[tuple[str, str], list[int]] = {}
    for (_, criterion), (_, family, score) in best.items():
        groups.setdefault((family, criterion), []).append(score)
    result.decisions = len({decision for decision, _ in best})
    result.means = [{"judged_agent_id": family, "criterion": criterion, "mean": round(sum(s) / len(s), 6), "n": len(s)}
                    for (family, criterion), s in sorted(groups.items())]
    return result


def rolling_mean_datapoints(result: RollingMean, now: datetime, namespace: str = EVAL_NAMESPACE) -> list[Datapoint]:
    """``agent_quality_score_4w_mean{judged_agent_id, criterion}`` per mean and
    ``agent_quality_score_4w_mean_min`` (no dimensions); none when there is no mean."""
    from alpha_engine.store import Datapoint

    points: list[Datapoint] = [
        Datapoint.of(namespace, "agent_quality_score_4w_mean", m["mean"],
                     {"judged_agent_id": m["judged_agent_id"], "criterion": m["criterion"]}, now)
        for m in result.means]
    low = result.minimum
    if low is not None:
        points.append(Datapoint.of(namespace, "agent_quality_score_4w_mean_min", low["mean"], None, now))
    return points
