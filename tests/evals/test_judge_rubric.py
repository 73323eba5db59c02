"""The rubric judge: every planted good decision scores 5 on each dimension that applies, and each
dimension falls on its own planted flaw (and only there); the share-to-score thresholds."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from judge_corpus import good

from alpha_engine.evals import AGENT_FAMILIES, rubric_judge
from alpha_engine.evals._judge_rubric import RUBRIC_DIMENSIONS, SCORE_THRESHOLDS, score_share


@pytest.mark.parametrize("family", AGENT_FAMILIES)
def test_a_good_decision_scores_5_where_a_dimension_applies(family: str) -> None:
    _, snapshot, output = good()[family]
    result = rubric_judge(family, snapshot, output)
    assert {k: v.score for k, v in result.scores.items()} == dict.fromkeys(result.scores, 5)
    assert set(result.scores) | set(result.not_applicable) == set(RUBRIC_DIMENSIONS)
    assert "output_completeness" in result.scores


def test_which_dimensions_apply_per_family() -> None:
    applies = {f: sorted(rubric_judge(f, good()[f][1], good()[f][2]).scores) for f in AGENT_FAMILIES}
    assert applies == {
        "ic_cio": ["numerical_grounding", "output_completeness", "ranking_coherence"],
        "macro_economist": ["numerical_grounding", "output_completeness", "ranking_coherence"],
        "sector_peer_review": ["numerical_grounding", "output_completeness", "ranking_coherence"],
        "sector_qual": ["numerical_grounding", "output_completeness"],
        "sector_quant": ["numerical_grounding", "output_completeness", "ranking_coherence"],
        "thesis_update": ["output_completeness"],
    }
    result = rubric_judge("thesis_update", good()["thesis_update"][1], good()["thesis_update"][2])
    assert result.not_applicable["ranking_coherence"] == "not a dimension of thesis_update (docs/evals.md)"


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        for part in path[:-1]:
            doc = doc[part]
        doc[path[-1]] = value
    return apply


# (family, where: snapshot|output, flaw, the one dimension it must lower, a phrase of the reason)
FLAWS = [
    ("sector_quant", "output", _set(("top", 0, "ticker"), "ZZZ"), "numerical_grounding", "'ZZZ' is not a snapshot"),
    ("sector_quant", "output", _set(("top", 1, "rationale"), ""), "output_completeness", "top[1].rationale"),
    ("sector_quant", "output", _set(("top", 2, "quant_score"), 99.0), "ranking_coherence", "descending quant_score"),
    ("sector_qual", "output", _set(("assessments", 0, "evidence"), ["c9 | s1 | 0.9 | x"]), "numerical_grounding",
     "'c9'"),
    ("sector_qual", "output", _set(("note",), ""), "output_completeness", "note missing or empty"),
    ("sector_peer_review", "output", _set(("picks",), ["AAA", "QQQ"]), "numerical_grounding", "'QQQ'"),
    ("sector_peer_review", "output", _set(("rationale",), ""), "output_completeness", "rationale"),
    ("sector_peer_review", "output", _set(("picks",), ["BBB", "AAA"]), "ranking_coherence", "quant rank 2"),
    ("macro_economist", "output", _set(("sector_modifiers", "Utilities"), 0.9), "numerical_grounding", "Utilities"),
    ("macro_economist", "snapshot", _set(("sector_of", "CCC"), "Energy"), "output_completeness", "'Energy'"),
    ("macro_economist", "output", _set(("sector_ratings", "Information Technology", "rating"), "underweight"),
     "ranking_coherence", "underweight with modifier 1.1"),
    ("ic_cio", "output", _set(("decisions", 1, "ticker"), "XYZ"), "numerical_grounding", "'XYZ'"),
    ("ic_cio", "output", _set(("decisions", 0, "rationale"), ""), "output_completeness", "decisions[0].rationale"),
    ("ic_cio", "snapshot", _set(("picks", 1, "final_score"), 90.0), "ranking_coherence", "descending final_score"),
    ("thesis_update", "output", _set(("triggers",), []), "output_completeness", "triggers missing or empty"),
]


@pytest.mark.parametrize(("family", "where", "flaw", "dimension", "phrase"), FLAWS,
                         ids=[f"{f[0]}-{f[3]}-{i}" for i, f in enumerate(FLAWS)])
def test_each_dimension_falls_on_its_planted_flaw(family: str, where: str, flaw: Callable[[dict[str, Any]], None],
                                                 dimension: str, phrase: str) -> None:
    _, snapshot, output = copy.deepcopy(good()[family])
    flaw(snapshot if where == "snapshot" else output)
    result = rubric_judge(family, snapshot, output)
    assert result.scores[dimension].score < 5, result.scores[dimension]
    assert phrase in result.scores[dimension].reason
    others = {k: v.score for k, v in result.scores.items() if k != dimension}
    if not (family == "ic_cio" and dimension == "numerical_grounding"):  # an unknown ticker has no score to rank
        assert set(others.values()) <= {5}, others


def test_a_missing_field_counts_as_empty() -> None:
    _, snapshot, output = copy.deepcopy(good()["sector_peer_review"])
    del output["team"]
    result = rubric_judge("sector_peer_review", snapshot, output)
    assert "team missing or empty" in result.scores["output_completeness"].reason


def test_nothing_to_check_is_not_applicable_not_a_5() -> None:
    result = rubric_judge("ic_cio", {"picks": []}, {"decisions": [], "rationale": "no picks"})
    assert result.not_applicable == {"numerical_grounding": "nothing to check in this decision",
                                     "ranking_coherence": "nothing to check in this decision"}


@pytest.mark.parametrize(("passed", "total", "score"), [
    (10, 10, 5), (9, 10, 4), (8, 10, 3), (3, 4, 3), (7, 10, 2), (1, 2, 2), (4, 10, 1), (0, 3, 1)])
def test_share_thresholds(passed: int, total: int, score: int) -> None:
    assert score_share(passed, total) == score
    assert SCORE_THRESHOLDS == ((1.0, 5), (0.9, 4), (0.75, 3), (0.5, 2))


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="no rubric for agent family 'score_aggregator'"):
        rubric_judge("score_aggregator", {}, {})
