import numpy as np
import pandas as pd
import pytest

from alpha_engine.predictor._momentum import MOMENTUM_FORMULA, MOMENTUM_INPUTS, momentum_score


def _frame(rows: list[list[float]]) -> pd.DataFrame:
    index = pd.MultiIndex.from_tuples([(pd.Timestamp("2024-01-02"), f"T{i}") for i in range(len(rows))],
                                      names=["date", "ticker"])
    return pd.DataFrame(rows, index=index, columns=list(MOMENTUM_INPUTS))


def test_momentum_score_applies_the_weights() -> None:
    frame = _frame([[0.02, -0.05, 0.10, 70.0]])
    expected = 0.4 * 0.02 + 0.3 * -0.05 + 0.2 * 0.10 + 0.1 * (70.0 - 50.0) / 100.0
    assert momentum_score(frame).iloc[0] == pytest.approx(expected, abs=1e-15)


def test_momentum_formula_string_matches_the_computation() -> None:
    rng = np.random.default_rng(3)
    frame = _frame(np.column_stack([rng.normal(0, 0.05, (50, 3)), rng.uniform(0, 100, 50)]).tolist())
    np.testing.assert_allclose(momentum_score(frame).to_numpy(), frame.eval(MOMENTUM_FORMULA).to_numpy(),
                               rtol=0, atol=1e-15)


@pytest.mark.parametrize("column, neutral", [(0, 0.0), (1, 0.0), (2, 0.0), (3, 50.0)])
def test_missing_input_counts_as_neutral(column: int, neutral: float) -> None:
    row = [0.02, -0.05, 0.10, 70.0]
    with_nan, with_neutral = list(row), list(row)
    with_nan[column] = np.nan
    with_neutral[column] = neutral
    scores = momentum_score(_frame([with_nan, with_neutral]))
    assert scores.iloc[0] == scores.iloc[1]
    assert scores.iloc[0] != momentum_score(_frame([row])).iloc[0]


def test_infinite_input_counts_as_neutral() -> None:
    scores = momentum_score(_frame([[np.inf, 0.01, 0.0, 50.0], [0.0, 0.01, 0.0, 50.0]]))
    assert scores.iloc[0] == scores.iloc[1]


def test_all_inputs_missing_scores_nan() -> None:
    scores = momentum_score(_frame([[np.nan] * 4, [np.nan, np.nan, np.nan, 50.0]]))
    assert np.isnan(scores.iloc[0])
    assert scores.iloc[1] == 0.0


def test_momentum_score_keeps_index_and_name() -> None:
    frame = _frame([[0.01, 0.02, 0.03, 40.0], [0.0, 0.0, 0.0, 50.0]])
    scores = momentum_score(frame)
    assert scores.name == "momentum_score"
    assert scores.index.equals(frame.index)


def test_missing_column_is_named() -> None:
    frame = _frame([[0.01, 0.02, 0.03, 40.0]]).drop(columns=["rsi_14"])
    with pytest.raises(ValueError, match="rsi_14"):
        momentum_score(frame)
