"""The A-F scorecard: bands, normalisers, sample-size floors and the 52-week history."""

from __future__ import annotations

import pytest

from alpha_engine.evaluator import (
    InsufficientDataError,
    grade_component,
    ic_to_grade,
    letter,
    lift_to_grade,
    pct_to_grade,
    update_grade_history,
)


@pytest.mark.parametrize(("score", "grade"), [(95, "A"), (90, "A"), (85, "A-"), (73, "B+"), (65, "B"), (60, "B-"),
                                              (50, "C+"), (45, "C"), (35, "C-"), (30, "D+"), (20, "D"), (19.9, "F")])
def test_letter_bands(score: float, grade: str) -> None:
    assert letter(score) == grade


def test_normalisers() -> None:
    assert pct_to_grade(0.5, 0.5, 0.65) == 30 and pct_to_grade(0.65, 0.5, 0.65) == pytest.approx(95)
    assert lift_to_grade(-0.10, -0.10, 0.20) == 0 and lift_to_grade(0.0, -0.10, 0.20) == 40
    assert lift_to_grade(0.20, -0.10, 0.20) == 100 and lift_to_grade(0.5, -0.1, 0.2) == 100
    assert ic_to_grade(0.0) == 20 and ic_to_grade(0.05) == pytest.approx(55) and ic_to_grade(-0.1) == 0


def test_a_grade_from_too_few_observations_is_refused() -> None:
    with pytest.raises(InsufficientDataError, match="research.cio: 3 observation"):
        grade_component("research", "cio", 1.0, 3, 20, lambda v: pct_to_grade(v, 0.5, 0.65), "3 of 3 beat the index")
    graded = grade_component("research", "cio", 0.6, 20, 20, lambda v: pct_to_grade(v, 0.5, 0.65), "fine")
    assert graded.score == pytest.approx(30 + 65 * 0.1 / 0.15)


def _scorecard(overall: float | None) -> dict[str, object]:
    group = {"score": overall, "grade": None if overall is None else letter(overall),
             "components": {"cio": {"score": overall}}}
    return {"overall": {"score": overall, "grade": group["grade"]},
            "groups": {"research": group, "predictor": group, "executor": group}}


def test_the_grade_history_replaces_a_rerun_week_and_keeps_52() -> None:
    history = None
    for week in range(60):
        day = f"2022-{1 + week // 5:02d}-{1 + (week % 5) * 6:02d}" if week < 55 else f"2023-0{week - 54}-01"
        history = update_grade_history(history, day, _scorecard(float(week)))
    assert history is not None and len(history["entries"]) == 52
    dates = [e["date"] for e in history["entries"]]
    assert dates == sorted(dates) and len(set(dates)) == 52
    again = update_grade_history(history, dates[-1], _scorecard(59.0))
    assert again == history  # the same week, the same scorecard: the same document
    changed = update_grade_history(history, dates[-1], _scorecard(10.0))
    assert len(changed["entries"]) == 52 and changed["entries"][-1]["overall"] == 10.0
    older = update_grade_history(history, dates[3], _scorecard(None))  # rerunning an old week keeps the later ones
    assert [e["date"] for e in older["entries"]] == dates and older["entries"][3]["overall"] is None
