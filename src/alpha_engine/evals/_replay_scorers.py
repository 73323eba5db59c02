"""Agreement between an agent's captured output and a target model's replay, per agent family.

The scorers are upstream's (reference backtester.md §4), mapped onto our research output models
(:mod:`alpha_engine.research`); each returns a score in [0, 1] (1: the same decision):

============================  =====================================================================
family (output model)         score (upstream's field -> ours)
============================  =====================================================================
sector_quant (QuantOutput)    0.6 Jaccard(top-5 tickers) + 0.4 Jaccard(top-10 tickers) of the
                              ranked picks (``ranked_picks`` -> ``top``, best first)
sector_qual (QualOutput)      Jaccard of the assessed tickers (``assessments[].ticker``)
sector_peer_review            Jaccard of the recommendations (``recommendations`` ∪
(PeerReviewOutput)            ``additional_accepted`` -> ``picks``: our peer review has no separate
                              accepted-additions list; the qual analyst's extra candidate reaches it
                              through the quant top)
macro_economist (MacroOutput) 0.6 regime match (``market_regime``) + 0.4 max(0, Pearson of the
                              ``sector_modifiers`` over the sectors both name)
ic_cio (CioOutput)            0.7 Jaccard(advanced tickers: ADVANCE or ADVANCE_FORCED) + 0.3 share
                              of the tickers either side decided on which both gave the same label
thesis_update (ThesisUpdate)  0.6 numeric + 0.4 word-set Jaccard of the text. Upstream's numeric
                              fields are final_score and conviction (1 - |Δ|/100 each, averaged);
                              our thesis has no score and a categorical conviction, mapped to
                              rising 100 / stable 50 / declining 0. Upstream's text fields
                              (bull_case, conviction_rationale, thesis_summary) -> ours
                              (thesis_summary, triggers). A replay that writes no thesis
                              (``{"update": null}``) scores 0.
any other (generic)           Jaccard of the top-level key sets
============================  =====================================================================

Conventions: the Jaccard of two empty sets is 1 (both decided nothing); a Pearson with fewer than
two common sectors, or a constant side, is 1 when the two modifier vectors are equal and 0
otherwise (the correlation is undefined there; upstream does not say).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["CONVICTION_LEVELS", "SCORERS", "agreement", "jaccard", "pearson", "score_cio", "score_generic",
           "score_macro", "score_peer_review", "score_qual", "score_quant", "score_thesis"]

Output = Mapping[str, Any]
CONVICTION_LEVELS = {"rising": 100.0, "stable": 50.0, "declining": 0.0}
_WORD = re.compile(r"[a-z0-9]+")


def jaccard(a: Iterable[Any], b: Iterable[Any]) -> float:
    left, right = set(a), set(b)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """The correlation of ``x`` and ``y`` (see the module docstring for the undefined cases)."""
    n = len(x)
    if n < 2:
        return 1.0 if list(x) == list(y) else 0.0
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((v - mx) ** 2 for v in x)
    syy = sum((v - my) ** 2 for v in y)
    if sxx == 0 or syy == 0:
        return 1.0 if list(x) == list(y) else 0.0
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def _tickers(rows: Any, n: int | None = None) -> list[str]:
    items = list(rows or [])[:n] if n is not None else list(rows or [])
    return [str(r.get("ticker")) for r in items if isinstance(r, Mapping)]


def score_quant(original: Output, replay: Output) -> float:
    return (0.6 * jaccard(_tickers(original.get("top"), 5), _tickers(replay.get("top"), 5))
            + 0.4 * jaccard(_tickers(original.get("top"), 10), _tickers(replay.get("top"), 10)))


def score_qual(original: Output, replay: Output) -> float:
    return jaccard(_tickers(original.get("assessments")), _tickers(replay.get("assessments")))


def score_peer_review(original: Output, replay: Output) -> float:
    return jaccard(original.get("picks") or [], replay.get("picks") or [])


def score_macro(original: Output, replay: Output) -> float:
    regime = 1.0 if original.get("market_regime") == replay.get("market_regime") else 0.0
    left, right = original.get("sector_modifiers") or {}, replay.get("sector_modifiers") or {}
    common = sorted(set(left) & set(right))
    r = pearson([float(left[s]) for s in common], [float(right[s]) for s in common]) if common else 0.0
    return 0.6 * regime + 0.4 * max(0.0, r)


def _decisions(output: Output) -> dict[str, str]:
    return {str(d.get("ticker")): str(d.get("decision")) for d in output.get("decisions") or []
            if isinstance(d, Mapping)}


def score_cio(original: Output, replay: Output) -> float:
    left, right = _decisions(original), _decisions(replay)
    advanced = jaccard((t for t, d in left.items() if d != "REJECT"), (t for t, d in right.items() if d != "REJECT"))
    tickers = set(left) | set(right)
    same = sum(1 for t in tickers if left.get(t) is not None and left.get(t) == right.get(t))
    agreement_share = same / len(tickers) if tickers else 1.0
    return 0.7 * advanced + 0.3 * agreement_share


def _words(*texts: Any) -> set[str]:
    return {w for t in texts for w in _WORD.findall(str(t).lower())}


def score_thesis(original: Output, replay: Output | None) -> float:
    if replay is None:
        return 0.0
    left = CONVICTION_LEVELS.get(str(original.get("conviction")))
    right = CONVICTION_LEVELS.get(str(replay.get("conviction")))
    numeric = 0.0 if left is None or right is None else 1 - abs(left - right) / 100
    text = jaccard(_words(original.get("thesis_summary"), *(original.get("triggers") or [])),
                   _words(replay.get("thesis_summary"), *(replay.get("triggers") or [])))
    return 0.6 * numeric + 0.4 * text


def score_generic(original: Output, replay: Output | None) -> float:
    return jaccard(original, replay or {})


SCORERS: dict[str, Callable[[Output, Any], float]] = {
    "sector_quant": score_quant, "sector_qual": score_qual, "sector_peer_review": score_peer_review,
    "macro_economist": score_macro, "ic_cio": score_cio, "thesis_update": score_thesis,
}


def agreement(family: str, original: Output, replay: Output | None) -> float:
    """The family's score (the generic key-set Jaccard for a family without its own), rounded to 6 places."""
    scorer = SCORERS.get(family, score_generic)
    if replay is None and scorer is not score_thesis and scorer is not score_generic:
        return 0.0
    return round(scorer(original, replay), 6)
