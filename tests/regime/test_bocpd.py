"""Bayesian online change-point detection: it finds a planted shift and stays quiet without one."""

from __future__ import annotations

import numpy as np
import pytest

from alpha_engine.regime import NormalGammaPrior, bocpd_run_length, change_probability

HAZARD = 1 / 52


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_mean_shift_is_detected_and_dated(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(150), rng.standard_normal(60) + 3.0])
    run_length = bocpd_run_length(x, hazard=HAZARD)
    recent = change_probability(run_length, 15)
    assert recent[149] < 0.3  # before the shift: no recent change
    assert recent[160] > 0.8  # ten weeks after it: a change within the last 15 weeks
    assert abs(int(np.argmax(run_length[160])) - 11) <= 2  # dated: the current run started at the shift
    assert abs(int(np.argmax(run_length[-1])) - 60) <= 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stationary_series_keeps_one_run(seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(300)
    run_length = bocpd_run_length(x, hazard=HAZARD)
    recent = change_probability(run_length, 4)
    assert int(np.argmax(run_length[-1])) == 300  # the most probable run is the whole series
    assert recent[-1] < 0.2
    assert recent[30:].mean() < 0.15


def test_each_row_is_a_distribution_over_the_possible_run_lengths() -> None:
    run_length = bocpd_run_length(np.random.default_rng(3).standard_normal(40), hazard=0.1)
    assert run_length.shape == (40, 41)
    np.testing.assert_allclose(run_length.sum(axis=1), 1.0)
    assert all(np.all(run_length[t, t + 2:] == 0) for t in range(40))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"x": [0.0, np.nan], "hazard": 0.1}, "NaN or infinite"),
    ({"x": [[0.0]], "hazard": 0.1}, "must be 1-D"),
    ({"x": [0.0], "hazard": 1.0}, "hazard must be in (0, 1)"),
])
def test_bad_input_is_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        bocpd_run_length(np.asarray(kwargs["x"]), hazard=float(kwargs["hazard"]))  # type: ignore[arg-type]


def test_a_bad_prior_is_refused() -> None:
    with pytest.raises(ValueError, match="kappa0, alpha0 and beta0 must be > 0"):
        NormalGammaPrior(beta0=0.0)
