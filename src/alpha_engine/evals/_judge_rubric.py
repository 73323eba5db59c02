"""The rubric judge: the dimensions of a decision a program can check, scored 1-5 without a model.

It always runs (judge model :data:`RUBRIC_JUDGE`), on LLM and deterministic decisions alike, and
reads only the captured decision: its ``input_data_snapshot`` and its ``agent_output`` (the shapes
:mod:`alpha_engine.research` captures, see ``research/_orchestrate.py``). Three dimensions, each
where it applies to the agent family:

``numerical_grounding``
    What the output restates from its input is in the input: quant picks are snapshot tickers
    with at least one feature value; qual assessments are of the quant top 5 and cite evidence
    chunks the snapshot holds; peer-review picks are quant picks; CIO decisions are of the
    snapshot's picks; the macro economist's per-sector modifier equals its modifier table.
    (Not applied to thesis updates: their text mixes derived figures with inputs.)
``output_completeness``
    The family's output fields are present and non-empty (the team, the picks, each rationale or
    note, ...); a missing field counts as empty.
``ranking_coherence``
    Ordering agrees with scores: quant picks by descending ``quant_score`` (unscored last), peer
    picks in the quant ranking's order, CIO ranks 1..n by descending snapshot ``final_score``, and
    each macro rating agrees with its modifier (overweight > 1, underweight < 1, market weight
    within 1 +/- :data:`MARKET_WEIGHT_BAND`). Not applied to qual or thesis updates.

Each dimension is a list of checks; the score is the share that pass (:func:`score_share`):
5 when all pass, 4 from 90 %, 3 from 75 %, 2 from 50 %, else 1. A dimension with nothing to check
(a CIO with no picks has no ranks) is *not applicable* for that decision, with the reason, and is
not scored. The reason of a failing dimension names the first failures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AGENT_FAMILIES",
    "MARKET_WEIGHT_BAND",
    "RUBRIC_DIMENSIONS",
    "RUBRIC_JUDGE",
    "SCORE_THRESHOLDS",
    "DimensionScore",
    "RubricResult",
    "rubric_judge",
    "score_share",
]

RUBRIC_JUDGE = "rubric-v1"
# The six canonical agent families upstream judges (research's agent ids are {family} or {family}:...).
AGENT_FAMILIES = ("ic_cio", "macro_economist", "sector_peer_review", "sector_qual", "sector_quant", "thesis_update")
RUBRIC_DIMENSIONS = ("numerical_grounding", "output_completeness", "ranking_coherence")
# (minimum share of checks passing, score), best first; below the last: 1.
SCORE_THRESHOLDS = ((1.0, 5), (0.9, 4), (0.75, 3), (0.5, 2))
MARKET_WEIGHT_BAND = 0.1
_SHOWN = 3  # failures named in a reason


@dataclass(frozen=True)
class DimensionScore:
    score: int
    reason: str


@dataclass
class RubricResult:
    """One decision's rubric scores, and the dimensions that did not apply (with why)."""

    scores: dict[str, DimensionScore] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)


def score_share(passed: int, total: int) -> int:
    """1-5 from the share of checks that pass (:data:`SCORE_THRESHOLDS`); ``total`` > 0."""
    share = passed / total
    for floor, score in SCORE_THRESHOLDS:
        if share >= floor:
            return score
    return 1


class _Checks:
    """The checks of one dimension: each passes or fails with a label."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, ok: bool, label: str) -> None:
        if ok:
            self.passed += 1
        else:
            self.failed.append(label)

    @property
    def total(self) -> int:
        return self.passed + len(self.failed)

    def result(self, what: str) -> DimensionScore:
        score = score_share(self.passed, self.total)
        if not self.failed:
            return DimensionScore(score, f"all {self.total} {what} pass")
        shown = "; ".join(self.failed[:_SHOWN]) + (f"; and {len(self.failed) - _SHOWN} more"
                                                    if len(self.failed) > _SHOWN else "")
        return DimensionScore(score, f"{self.passed} of {self.total} {what} pass; failing: {shown}")


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict | tuple):
        return len(value) > 0
    return True


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fields(checks: _Checks, doc: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        checks.check(_filled(doc.get(name)), f"{where}{name} missing or empty")


def _descending(checks: _Checks, items: list[tuple[str, float | None]], what: str) -> None:
    """Adjacent pairs in descending order of score, unscored last."""
    for (a, sa), (b, sb) in zip(items, items[1:], strict=False):
        ok = sb is None or (sa is not None and sa >= sb)
        checks.check(ok, f"{a} ({sa}) before {b} ({sb}) breaks the descending {what}")


# --- one function per family: (snapshot, output) -> {dimension: checks} -------------------------

def _quant(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    grounding, complete, ranking = _Checks(), _Checks(), _Checks()
    tickers = set(_list(snapshot.get("tickers")))
    features = _dict(snapshot.get("features"))
    top = _list(output.get("top"))
    _fields(complete, output, ("team", "top"), "")
    for i, pick in enumerate(top):
        pick = _dict(pick)
        ticker = pick.get("ticker")
        _fields(complete, pick, ("ticker", "factors", "rationale"), f"top[{i}].")
        has_feature = any(_number(v) is not None for v in _dict(features.get(str(ticker))).values())
        grounding.check(ticker in tickers and (pick.get("quant_score") is None or has_feature),
                        f"pick {ticker!r} is not a snapshot ticker with a feature value")
    _descending(ranking, [(str(_dict(p).get("ticker")), _number(_dict(p).get("quant_score"))) for p in top],
                "quant_score")
    return {"numerical_grounding": grounding, "output_completeness": complete, "ranking_coherence": ranking}


def _qual(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    grounding, complete = _Checks(), _Checks()
    top5 = set(_list(snapshot.get("quant_top5")))
    evidence = {t: {str(_dict(c).get("chunk_id")) for c in _list(chunks)}
                for t, chunks in _dict(snapshot.get("evidence")).items()}
    _fields(complete, output, ("team", "assessments", "note"), "")
    for i, item in enumerate(_list(output.get("assessments"))):
        item = _dict(item)
        ticker = item.get("ticker")
        _fields(complete, item, ("ticker", "note"), f"assessments[{i}].")
        grounding.check(ticker in top5, f"assessment of {ticker!r}, not in the quant top 5")
        for cited in _list(item.get("evidence")):
            chunk = str(cited).split(" | ", 1)[0].strip()
            grounding.check(chunk in evidence.get(str(ticker), set()),
                            f"{ticker} cites evidence {chunk!r} the snapshot does not hold")
    return {"numerical_grounding": grounding, "output_completeness": complete}


def _peer_review(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    grounding, complete, ranking = _Checks(), _Checks(), _Checks()
    order = [str(_dict(p).get("ticker")) for p in _list(_dict(snapshot.get("quant")).get("top"))]
    picks = [str(p) for p in _list(output.get("picks"))]
    _fields(complete, output, ("team", "picks", "rationale"), "")
    for ticker in picks:
        grounding.check(ticker in order, f"pick {ticker!r} is not a quant pick")
    ranked = [order.index(t) for t in picks if t in order]
    for a, b in zip(ranked, ranked[1:], strict=False):
        ranking.check(a < b, f"{order[a]} (quant rank {a + 1}) listed before {order[b]} (quant rank {b + 1})"
                      if a > b else f"{order[a]} listed twice")
    return {"numerical_grounding": grounding, "output_completeness": complete, "ranking_coherence": ranking}


def _macro(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    grounding, complete, ranking = _Checks(), _Checks(), _Checks()
    modifiers = _dict(output.get("sector_modifiers"))
    ratings = _dict(output.get("sector_ratings"))
    _fields(complete, output, ("market_regime", "sector_modifiers", "sector_ratings", "rationale"), "")
    for sector in sorted(set(_dict(snapshot.get("sector_of")).values())):
        complete.check(sector in ratings, f"sector {sector!r} of the snapshot has no rating")
    for sector, rating in sorted(ratings.items()):
        rating = _dict(rating)
        _fields(complete, rating, ("rating", "rationale"), f"sector_ratings[{sector}].")
        modifier, stated = _number(rating.get("modifier")), _number(modifiers.get(sector))
        grounding.check(modifier is not None and stated is not None and abs(modifier - stated) < 1e-9,
                        f"{sector}: rating modifier {modifier} vs sector_modifiers {stated}")
        if modifier is not None:
            label = rating.get("rating")
            ok = {"overweight": modifier > 1.0, "underweight": modifier < 1.0,
                  "market_weight": abs(modifier - 1.0) <= MARKET_WEIGHT_BAND}.get(str(label), False)
            ranking.check(ok, f"{sector}: {label} with modifier {modifier}")
    return {"numerical_grounding": grounding, "output_completeness": complete, "ranking_coherence": ranking}


def _cio(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    grounding, complete, ranking = _Checks(), _Checks(), _Checks()
    scores = {str(_dict(p).get("ticker")): _number(_dict(p).get("final_score")) for p in _list(snapshot.get("picks"))}
    decisions = [_dict(d) for d in _list(output.get("decisions"))]
    _fields(complete, output, ("decisions",) if scores else (), "")
    _fields(complete, output, ("rationale",), "")
    for i, d in enumerate(decisions):
        _fields(complete, d, ("ticker", "decision", "rationale"), f"decisions[{i}].")
        grounding.check(d.get("ticker") in scores, f"decision on {d.get('ticker')!r}, not a snapshot pick")
    ranks = [d.get("rank") for d in decisions]
    if decisions:
        ranking.check(sorted(r for r in ranks if isinstance(r, int)) == list(range(1, len(decisions) + 1)),
                      f"ranks {ranks} are not 1..{len(decisions)}")
    by_rank = sorted((d for d in decisions if isinstance(d.get("rank"), int)), key=lambda d: d["rank"])
    _descending(ranking, [(str(d.get("ticker")), scores.get(str(d.get("ticker")))) for d in by_rank], "final_score")
    return {"numerical_grounding": grounding, "output_completeness": complete, "ranking_coherence": ranking}


def _thesis(snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, _Checks]:
    complete = _Checks()
    _fields(complete, output, ("ticker", "team", "triggers", "thesis_summary", "conviction"), "")
    return {"output_completeness": complete}


_FAMILY: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, _Checks]]] = {
    "ic_cio": _cio, "macro_economist": _macro, "sector_peer_review": _peer_review, "sector_qual": _qual,
    "sector_quant": _quant, "thesis_update": _thesis}
_WHAT = {"numerical_grounding": "grounding checks", "output_completeness": "field checks",
         "ranking_coherence": "ordering checks"}


def rubric_judge(family: str, snapshot: Mapping[str, Any], output: Mapping[str, Any]) -> RubricResult:
    """The rubric scores of one decision of ``family`` (one of :data:`AGENT_FAMILIES`)."""
    if family not in _FAMILY:
        raise ValueError(f"no rubric for agent family {family!r} (known: {', '.join(AGENT_FAMILIES)})")
    dims = _FAMILY[family](snapshot, output)
    result = RubricResult()
    for name in RUBRIC_DIMENSIONS:
        checks = dims.get(name)
        if checks is None:
            result.not_applicable[name] = f"not a dimension of {family} (docs/evals.md)"
        elif checks.total == 0:
            result.not_applicable[name] = "nothing to check in this decision"
        else:
            result.scores[name] = checks.result(_WHAT[name])
    return result
