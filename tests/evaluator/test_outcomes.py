"""Outcome alignment: outcomes start the session after the signal date and never read past as-of."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from alpha_engine.evaluator import LookAheadError, check_outcome_alignment, forward_outcomes

SESSIONS = pd.bdate_range("2022-01-03", periods=60)


def _panel(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    closes = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (60, 3)), axis=0)), index=SESSIONS,
                          columns=["A", "B", "C"])
    index = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 60))), index=SESSIONS)
    return closes, index


EVENTS = pd.DataFrame({"signal_date": ["2022-01-08", "2022-01-15", "2022-02-19"], "ticker": ["A", "B", "C"]})


def test_the_entry_is_the_first_session_after_the_signal_date() -> None:
    closes, index = _panel()
    out = forward_outcomes(EVENTS, closes, index, [5], date(2022, 3, 25))
    assert out["entry_date"].tolist() == ["2022-01-10", "2022-01-17", "2022-02-21"]
    assert out["exit_date_5"].tolist()[0] == "2022-01-17"
    a = closes["A"]
    expected = a["2022-01-17"] / a["2022-01-10"] - 1 - (index["2022-01-17"] / index["2022-01-10"] - 1)
    assert out["alpha_5"][0] == pytest.approx(expected)


def test_a_signal_on_a_session_enters_the_next_session_not_the_same_close() -> None:
    closes, index = _panel()
    events = pd.DataFrame({"signal_date": ["2022-01-10"], "ticker": ["A"]})  # a Monday, itself a session
    out = forward_outcomes(events, closes, index, [1], date(2022, 3, 25))
    assert out["entry_date"][0] == "2022-01-11"


def test_outcomes_do_not_change_when_prices_up_to_the_signal_date_change() -> None:
    closes, index = _panel()
    before = forward_outcomes(EVENTS, closes, index, [5, 10], date(2022, 3, 25))
    perturbed = closes.copy()
    perturbed.loc[:"2022-01-14"] *= np.random.default_rng(9).uniform(0.5, 1.5, perturbed.loc[:"2022-01-14"].shape)
    after = forward_outcomes(EVENTS, perturbed, index, [5, 10], date(2022, 3, 25))
    # B signalled 2022-01-15 enters 2022-01-17: untouched; A signalled 2022-01-08 enters on 01-10, which moved
    assert after.loc[1, "alpha_5"] == before.loc[1, "alpha_5"] and after.loc[2, "alpha_10"] == before.loc[2, "alpha_10"]


def test_outcomes_after_the_as_of_session_are_unrealised_never_filled() -> None:
    closes, index = _panel()
    out = forward_outcomes(EVENTS, closes, index, [30], date(2022, 2, 25))
    assert np.isfinite(out["alpha_30"][0]) and np.isnan(out["alpha_30"][2]) and out["exit_date_30"][2] is None
    later = closes.copy()
    later.loc["2022-02-26":] *= 3  # prices after as-of never matter
    assert forward_outcomes(EVENTS, later, index, [30], date(2022, 2, 25))["alpha_30"][0] == out["alpha_30"][0]


def test_a_planted_look_ahead_in_outcome_alignment_is_caught() -> None:
    closes, index = _panel()
    out = forward_outcomes(EVENTS, closes, index, [5], date(2022, 3, 25))
    leaked = out.copy()
    leaked.loc[1, "entry_date"] = "2022-01-14"  # the Friday close the signal already saw
    with pytest.raises(LookAheadError, match="B signalled 2022-01-15 has an outcome that starts on or before its signal date"):
        check_outcome_alignment(leaked, [5], date(2022, 3, 25))
    future = out.copy()
    future.loc[0, "exit_date_5"] = "2022-04-01"
    with pytest.raises(LookAheadError, match="ends after the as-of session 2022-03-25"):
        check_outcome_alignment(future, [5], date(2022, 3, 25))
