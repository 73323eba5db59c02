"""Retry/Catch matching and backoff, as the pure functions the engine calls."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpha_engine.sfn._model import DEFAULT, Catcher, Retrier
from alpha_engine.sfn._retry import backoff_seconds, error_matches, match_catcher, match_retrier


def retrier(*errors: str, interval: float = 1.0, attempts: int = 3, rate: float = 2.0,
            max_delay: float | None = None, jitter: bool = False) -> Retrier:
    return Retrier(errors=errors, interval_seconds=interval, max_attempts=attempts, backoff_rate=rate,
                   max_delay_seconds=max_delay, jitter_full=jitter)


def catcher(*errors: str, next_state: str = "Handle") -> Catcher:
    return Catcher(errors=errors, next=next_state, result_path=DEFAULT, output=None, assign=None)


# --- error names ------------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["States.Timeout", "States.TaskFailed", "Lambda.Unknown", "MyError",
                                   "States.HeartbeatTimeout", "States.NoChoiceMatched"])
def test_states_all_matches_every_ordinary_error(error: str) -> None:
    assert error_matches(["States.ALL"], error)


@pytest.mark.parametrize("error", ["States.Runtime", "States.DataLimitExceeded"])
def test_states_all_does_not_match_runtime_or_data_limit_errors(error: str) -> None:
    assert not error_matches(["States.ALL"], error)
    assert error_matches([error], error)  # named explicitly, they match


@pytest.mark.parametrize("error", ["States.TaskFailed", "Lambda.ServiceException", "MyError", "Exception"])
def test_task_failed_matches_itself_and_errors_outside_the_states_namespace(error: str) -> None:
    assert error_matches(["States.TaskFailed"], error)


@pytest.mark.parametrize("error", ["States.Timeout", "States.HeartbeatTimeout", "States.Runtime",
                                   "States.Permissions"])
def test_task_failed_does_not_match_other_states_errors(error: str) -> None:
    assert not error_matches(["States.TaskFailed"], error)


def test_names_match_exactly() -> None:
    assert error_matches(["A", "B"], "B")
    assert not error_matches(["A"], "a")
    assert not error_matches([], "A")


def test_the_first_matching_retrier_wins() -> None:
    retriers = [retrier("A"), retrier("States.ALL"), retrier("B")]
    assert match_retrier(retriers, "A") == 0
    assert match_retrier(retriers, "B") == 1
    assert match_retrier(retriers, "States.Runtime") is None


def test_catch_routes_timeout_before_all() -> None:
    catchers = [catcher("States.Timeout", next_state="Slow"), catcher("States.ALL", next_state="Any")]
    assert match_catcher(catchers, "States.Timeout") is catchers[0]
    assert match_catcher(catchers, "Boom") is catchers[1]
    assert match_catcher(catchers, "States.DataLimitExceeded") is None


# --- backoff ----------------------------------------------------------------------------------


def test_backoff_grows_by_the_rate() -> None:
    r = retrier("A", interval=2.0, rate=3.0)
    assert [backoff_seconds(r, n, random.Random(0)) for n in range(4)] == [2.0, 6.0, 18.0, 54.0]


def test_backoff_is_capped_by_max_delay_seconds() -> None:
    r = retrier("A", interval=1.0, rate=10.0, max_delay=50.0)
    assert [backoff_seconds(r, n, random.Random(0)) for n in range(4)] == [1.0, 10.0, 50.0, 50.0]


def test_full_jitter_draws_from_the_given_generator() -> None:
    r = retrier("A", interval=10.0, rate=2.0, jitter=True)
    first = [backoff_seconds(r, n, random.Random(42)) for n in range(3)]
    again = [backoff_seconds(r, n, random.Random(42)) for n in range(3)]
    assert first == again
    assert first != [10.0, 20.0, 40.0]


@given(interval=st.floats(0, 100), rate=st.floats(1, 5), retries=st.integers(0, 10),
       cap=st.none() | st.floats(0, 1000), seed=st.integers(0, 2**32))
def test_full_jitter_stays_between_zero_and_the_capped_delay(interval: float, rate: float, retries: int,
                                                            cap: float | None, seed: int) -> None:
    plain = backoff_seconds(retrier("A", interval=interval, rate=rate, max_delay=cap), retries, random.Random(seed))
    jittered = backoff_seconds(retrier("A", interval=interval, rate=rate, max_delay=cap, jitter=True), retries,
                               random.Random(seed))
    assert 0.0 <= jittered <= plain
    if cap is not None:
        assert plain <= cap
