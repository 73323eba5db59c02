"""The agreement scorers on planted pairs: identical = 1, disjoint = 0, and a known partial value."""

from __future__ import annotations

from typing import Any

import pytest

from alpha_engine.evals import agreement, jaccard, pearson


def _quant(tickers: list[str]) -> dict[str, Any]:
    return {"team": "t", "top": [{"ticker": t, "quant_score": 50.0, "factors": {}, "rationale": "r"} for t in tickers]}


def _cio(decisions: dict[str, str]) -> dict[str, Any]:
    return {"decisions": [{"ticker": t, "decision": d, "rank": i, "conviction": 50.0, "rationale": "r",
                           "rule_tags": []} for i, (t, d) in enumerate(decisions.items(), 1)], "rationale": "r"}


def _macro(regime: str, modifiers: dict[str, float]) -> dict[str, Any]:
    return {"market_regime": regime, "sector_modifiers": modifiers, "sector_ratings": {}, "rationale": "r"}


def _thesis(conviction: str, summary: str, triggers: list[str]) -> dict[str, Any]:
    return {"ticker": "AAA", "team": "t", "triggers": triggers, "thesis_summary": summary, "conviction": conviction}


TEN = [f"T{i}" for i in range(10)]
OTHER = [f"U{i}" for i in range(10)]
CASES = [
    # family, original, identical, disjoint, (partial, expected)
    ("sector_quant", _quant(TEN), _quant(OTHER),
     # top-5 shares 4 of 6, top-10 shares 9 of 11: 0.6 * 4/6 + 0.4 * 9/11
     (_quant(["T0", "T1", "T2", "T3", "U0", "T5", "T6", "T7", "T8", "T9"]), 0.6 * 4 / 6 + 0.4 * 9 / 11)),
    ("sector_qual", {"assessments": [{"ticker": t} for t in TEN[:4]]}, {"assessments": [{"ticker": "U0"}]},
     ({"assessments": [{"ticker": t} for t in ("T0", "T1", "U1")]}, 2 / 5)),
    ("sector_peer_review", {"picks": ["T0", "T1", "T2"]}, {"picks": ["U0", "U1"]}, ({"picks": ["T0", "U0"]}, 1 / 4)),
    ("macro_economist", _macro("bull", {"a": 0.9, "b": 1.0, "c": 1.2}), _macro("bear", {"a": 1.2, "b": 1.0, "c": 0.9}),
     # same regime, modifiers perfectly anti-correlated: 0.6 + 0.4 * max(0, -1)
     (_macro("bull", {"a": 1.2, "b": 1.0, "c": 0.9}), 0.6)),
    ("ic_cio", _cio({"A": "ADVANCE", "B": "REJECT"}), _cio({"C": "ADVANCE", "D": "REJECT"}),
     # advanced {A} vs {A, B}: 1/2; same label on A only of {A, B}: 1/2 -> 0.7 * 0.5 + 0.3 * 0.5
     (_cio({"A": "ADVANCE", "B": "ADVANCE_FORCED"}), 0.5)),
    ("thesis_update", _thesis("rising", "strong cloud growth", ["score_change"]),
     _thesis("declining", "weak margins", ["price_move"]),
     # stable vs rising: 1 - 50/100 = 0.5; words {strong, cloud, growth, score, change} vs
     # {strong, cloud, demand, score, change}: 4/6 -> 0.6 * 0.5 + 0.4 * 4/6
     (_thesis("stable", "strong cloud demand", ["score_change"]), 0.6 * 0.5 + 0.4 * 4 / 6)),
    ("something_new", {"a": 1, "b": 2}, {"c": 3}, ({"a": 9, "c": 3}, 1 / 3)),
]


@pytest.mark.parametrize(("family", "original", "disjoint", "partial"), CASES, ids=[c[0] for c in CASES])
def test_identical_is_one_disjoint_is_zero_and_partial_is_known(family: str, original: dict[str, Any],
                                                                disjoint: dict[str, Any],
                                                                partial: tuple[dict[str, Any], float]) -> None:
    assert agreement(family, original, original) == 1.0
    assert agreement(family, original, disjoint) == 0.0
    assert agreement(family, original, partial[0]) == pytest.approx(partial[1], abs=1e-6)


def test_a_thesis_replay_without_an_update_scores_zero_and_edge_conventions_hold() -> None:
    assert agreement("thesis_update", _thesis("rising", "x", []), None) == 0.0
    assert agreement("ic_cio", _cio({"A": "ADVANCE"}), None) == 0.0
    assert jaccard([], []) == 1.0 and jaccard(["a"], []) == 0.0
    assert pearson([1.0], [1.0]) == 1.0 and pearson([1.0, 1.0], [1.0, 1.2]) == 0.0
    assert pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    # a planted flaw: ranking order inside the top 5 does not matter, membership does
    assert agreement("sector_quant", _quant(TEN), _quant(TEN[4::-1] + TEN[5:])) == 1.0
