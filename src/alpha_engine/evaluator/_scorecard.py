"""The A-F weighted scorecard and its 52-week history (weights and bands from upstream's grading).

A numeric score 0-100 maps to a letter: A >= 90, A- >= 80, B+ >= 73, B >= 65, B- >= 58, C+ >= 50,
C >= 42, C- >= 35, D+ >= 28, D >= 20, else F. Normalisers: :func:`pct_to_grade` (baseline -> 30,
ceiling -> 95), :func:`lift_to_grade` (floor -> 0, 0 -> 40, ceiling -> 100), :func:`ic_to_grade`
(20 + 700 IC), Sharpe 30 + 32.5 S, drawdown 95 + 2.83 DD (DD in percent, negative).

Groups and component weights: Research = .10 scanner + .30 sector teams + .10 macro + .25 CIO +
.25 composite scoring; Predictor = .55 meta-model + .45 veto gate; Executor = .15 triggers + .20
risk guard + .20 exits + .15 sizing + .30 portfolio; Overall = .40 / .25 / .35. A component that
cannot be measured here, or whose figure rests on fewer observations than its floor, is not graded
(its reason is kept) and the weights of the rest are re-normalised. :func:`grade_component` refuses
a grade under its floor (:class:`InsufficientDataError`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import InsufficientDataError
from ._inputs import EvaluationInputs
from ._predictor_eval import daily_ics
from ._stats import rank_ic

__all__ = [
    "BANDS",
    "GROUP_WEIGHTS",
    "WEIGHTS",
    "Component",
    "compute_scorecard",
    "grade_component",
    "ic_to_grade",
    "letter",
    "lift_to_grade",
    "pct_to_grade",
    "update_grade_history",
]

BANDS = ((90, "A"), (80, "A-"), (73, "B+"), (65, "B"), (58, "B-"), (50, "C+"), (42, "C"), (35, "C-"),
         (28, "D+"), (20, "D"))
WEIGHTS: dict[str, dict[str, float]] = {
    "research": {"scanner": 0.10, "sector_teams": 0.30, "macro": 0.10, "cio": 0.25, "composite_scoring": 0.25},
    "predictor": {"meta_model": 0.55, "veto_gate": 0.45},
    "executor": {"triggers": 0.15, "risk_guard": 0.20, "exits": 0.20, "sizing": 0.15, "portfolio": 0.30},
}
GROUP_WEIGHTS = {"research": 0.40, "predictor": 0.25, "executor": 0.35}
HISTORY_WEEKS = 52


def letter(score: float) -> str:
    for floor, grade in BANDS:
        if score >= floor:
            return grade
    return "F"


def _clip(score: float) -> float:
    return float(min(100.0, max(0.0, score)))


def pct_to_grade(value: float, baseline: float, ceiling: float) -> float:
    return _clip(30 + 65 * (value - baseline) / (ceiling - baseline))


def lift_to_grade(value: float, floor: float, ceiling: float) -> float:
    return _clip(40 * (value - floor) / -floor if value < 0 else 40 + 60 * value / ceiling)


def ic_to_grade(ic: float) -> float:
    return _clip(20 + 700 * ic)


@dataclass(frozen=True)
class Component:
    group: str
    name: str
    score: float | None  # None: not graded
    n: int  # observations behind the figure
    figure: str  # what was measured, e.g. "rank IC 0.031 (live, 40 dates)"
    reason: str | None = None  # why not graded

    def as_dict(self) -> dict[str, Any]:
        score = self.score
        return {"score": round(score, 2) if score is not None else None,
                "grade": letter(score) if score is not None else None,
                "weight": WEIGHTS[self.group][self.name], "n": self.n, "figure": self.figure, "reason": self.reason}


def grade_component(group: str, name: str, value: float, n: int, floor: int, to_grade: Callable[[float], float],
                    figure: str) -> Component:
    """A graded component; raises :class:`InsufficientDataError` when ``n`` is under ``floor``
    (a grade from 3 observations is refused, not softened)."""
    if n < floor:
        raise InsufficientDataError(f"{group}.{name}: {n} observation(s), the floor is {floor}")
    if not math.isfinite(value):
        raise InsufficientDataError(f"{group}.{name}: the figure is not finite")
    return Component(group, name, to_grade(value), n, figure)


def _try(group: str, name: str, build: Callable[[], Component]) -> Component:
    try:
        return build()
    except InsufficientDataError as exc:
        return Component(group, name, None, 0, "", f"insufficient data: {exc}")


def _data(modules: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    report = modules.get(name)
    return report.data if report is not None and report.status in ("ok", "degraded") else None


def _within_sector_ic(inputs: EvaluationInputs) -> tuple[float, int]:
    frame = inputs.signal_outcomes
    h = inputs.options.primary_horizon
    ics, rows = [], 0
    for _, g in frame.groupby(["signal_date", "sector"]):
        realised = g[np.isfinite(g[f"alpha_{h}"].to_numpy(dtype=float)) & np.isfinite(g["score"].to_numpy(dtype=float))]
        if len(realised) >= 3:
            ic = rank_ic(realised["score"], realised[f"alpha_{h}"])
            if math.isfinite(ic):
                ics.append(ic)
                rows += len(realised)
    return (float(np.mean(ics)) if ics else float("nan")), rows


def _components(inputs: EvaluationInputs, modules: Mapping[str, Any]) -> list[Component]:
    options = inputs.options
    floor = options.min_observations
    h = options.primary_horizon
    out: list[Component] = []
    not_here = "not measurable from the stored artifacts yet"
    out.append(Component("research", "scanner", None, 0, "", f"{not_here} (no scanner outcomes stored)"))
    out.append(Component("research", "macro", None, 0, "", f"{not_here} (regime calls are scored by RegimeRetrospectiveEval)"))

    def sector_teams() -> Component:
        ic, rows = _within_sector_ic(inputs)
        return grade_component("research", "sector_teams", ic, rows, floor, ic_to_grade,
                               f"mean within-sector rank IC of score vs {h}-session alpha {ic:.3f} ({rows} rows)")
    out.append(_try("research", "sector_teams", sector_teams))

    def cio() -> Component:
        quality = _data(modules, "signal_quality")
        head = (quality or {}).get("horizons", {}).get(str(h), {})
        if "hit_rate" not in head:
            raise InsufficientDataError(head.get("reason") or "signal quality not available")
        return grade_component("research", "cio", head["hit_rate"], head["n"], floor,
                               lambda v: pct_to_grade(v, 0.5, 0.65),
                               f"buy candidates beat the index {head['hit_rate']:.1%} at {h} sessions (n={head['n']})")
    out.append(_try("research", "cio", cio))

    def composite() -> Component:
        ics = daily_ics(inputs.signal_outcomes, "score", f"alpha_{h}", options.min_names_per_date)
        rows = int(np.isfinite(inputs.signal_outcomes[f"alpha_{h}"].to_numpy(dtype=float)).sum())
        if len(ics) < options.min_ic_dates:
            raise InsufficientDataError(f"{len(ics)} date(s) with a score IC, the floor is {options.min_ic_dates}")
        ic = float(ics.mean())
        return grade_component("research", "composite_scoring", ic, rows, floor, ic_to_grade,
                               f"mean rank IC of score vs {h}-session alpha {ic:.3f} ({len(ics)} dates)")
    out.append(_try("research", "composite_scoring", composite))

    def meta_model() -> Component:
        predictor = _data(modules, "predictor")
        if predictor is None or not isinstance(predictor.get("rank_ic"), int | float):
            raise InsufficientDataError("no predictor IC")
        ic, n = float(predictor["rank_ic"]), int(predictor["rank_ic_n"] or 0)
        return grade_component("predictor", "meta_model", ic, n, options.min_ic_dates, ic_to_grade,
                               f"rank IC {ic:.4f} ({predictor['graded_on']}, {n} dates)")
    out.append(_try("predictor", "meta_model", meta_model))

    def veto_gate() -> Component:
        veto = _data(modules, "veto")
        if veto is None or "best_lift" not in veto:
            raise InsufficientDataError("no veto threshold with enough vetoes")
        return grade_component("predictor", "veto_gate", veto["best_lift"], veto["best_vetoes"], options.min_vetoes,
                               lambda v: lift_to_grade(v, -0.10, 0.20),
                               f"veto precision lift {veto['best_lift']:+.3f} at threshold {veto['best_threshold']}")
    out.append(_try("predictor", "veto_gate", veto_gate))

    for name in ("triggers", "risk_guard", "sizing"):
        out.append(Component("executor", name, None, 0, "", f"{not_here} (no executor trade log)"))

    def exits() -> Component:
        timing = _data(modules, "exit_timing")
        if timing is None or timing.get("median_capture") is None:
            raise InsufficientDataError("no exit timing")
        return grade_component("executor", "exits", timing["median_capture"], timing["n"], options.min_trades,
                               lambda v: pct_to_grade(v, 0.3, 0.8),
                               f"median capture of the favourable move {timing['median_capture']:.2f} ({timing['n']} trades)")
    out.append(_try("executor", "exits", exits))

    def portfolio() -> Component:
        path = _data(modules, "portfolio")
        if path is None:
            raise InsufficientDataError("no portfolio path")
        parts = [30 + 32.5 * path["sharpe_ratio"], 95 + 2.83 * 100 * path["max_drawdown"]]
        if isinstance(path.get("total_alpha"), int | float):
            parts.append(lift_to_grade(path["total_alpha"], -0.10, 0.10))
        n = int(path.get("sessions", floor))
        score = float(np.mean([_clip(p) for p in parts]))
        return grade_component("executor", "portfolio", score, n, floor, _clip,
                               f"{path['source']}: Sharpe {path['sharpe_ratio']:.2f}, max drawdown {path['max_drawdown']:.1%}"
                               + (f", alpha {path['total_alpha']:+.1%}" if "total_alpha" in path else ""))
    out.append(_try("executor", "portfolio", portfolio))
    return out


def compute_scorecard(inputs: EvaluationInputs, modules: Mapping[str, Any]) -> dict[str, Any]:
    """The scorecard: per group its components, weighted score and letter; the overall score."""
    components = _components(inputs, modules)
    groups: dict[str, Any] = {}
    for group, weights in WEIGHTS.items():
        mine = {c.name: c for c in components if c.group == group}
        graded = [c for c in mine.values() if c.score is not None]
        total = sum(weights[c.name] for c in graded)
        score = sum(weights[c.name] * (c.score or 0.0) for c in graded) / total if graded else None
        groups[group] = {"score": round(score, 2) if score is not None else None,
                         "grade": letter(score) if score is not None else None,
                         "weight_graded": round(total, 4),
                         "components": {name: mine[name].as_dict() for name in weights}}
    graded_groups = [g for g in GROUP_WEIGHTS if groups[g]["score"] is not None]
    total = sum(GROUP_WEIGHTS[g] for g in graded_groups)
    overall = sum(GROUP_WEIGHTS[g] * groups[g]["score"] for g in graded_groups) / total if graded_groups else None
    status = "ok" if len(graded_groups) == len(GROUP_WEIGHTS) else "partial" if graded_groups else "insufficient_data"
    return {"status": status, "overall": {"score": round(overall, 2) if overall is not None else None,
                                          "grade": letter(overall) if overall is not None else None},
            "groups": groups, "group_weights": GROUP_WEIGHTS}


def update_grade_history(existing: Mapping[str, Any] | None, run_date: str, scorecard: Mapping[str, Any]) -> dict[str, Any]:
    """The history with this run_date's entry (replacing any earlier entry for that date), sorted by
    date, the latest ``HISTORY_WEEKS`` kept. Applying it twice gives the same document."""
    entries = [e for e in (existing or {}).get("entries", []) if e.get("date") != run_date]
    groups = scorecard["groups"]
    entries.append({"date": run_date, "overall": scorecard["overall"]["score"], "grade": scorecard["overall"]["grade"],
                    **{g: groups[g]["score"] for g in WEIGHTS},
                    "components": {f"{g}.{n}": c["score"] for g in WEIGHTS for n, c in groups[g]["components"].items()
                                   if c["score"] is not None}})
    entries.sort(key=lambda e: e["date"])
    return {"weeks_kept": HISTORY_WEEKS, "entries": entries[-HISTORY_WEEKS:]}
