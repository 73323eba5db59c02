"""Predictions document: schema, veto truth table, ranks, rounding and determinism."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alpha_engine.app import SATURDAY_GRAPH
from alpha_engine.predictor import PREDICTIONS
from alpha_engine.predictor._predictions import apply_vetoes, build_predictions
from alpha_engine.store import ArtifactStore, ContractError

CONTRACTS = SATURDAY_GRAPH.contracts()

KEY = "predictor/predictions/2026-05-08.json"


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "predicted_alpha": [0.02, -0.031, 0.0049999999, -0.01],
            "predicted_alpha_std": [0.01, 0.012, 0.011, 0.02],
            "p_up": [0.62, 0.1, 0.51, 0.45],
            "momentum_score": [0.3, np.nan, -0.1, 0.0],
            "momentum_20d": [0.04, -0.08, np.nan, -0.05],
            "expected_move": [0.05, 0.07, 0.06, np.nan],
            "price_data_age_days": [0, 1, 0, 3],
        },
        index=pd.Index(["AAPL", "XOM", "MSFT", "JPM"], name="ticker"),
    )


def _build(table: pd.DataFrame | None = None, **kwargs: Any) -> dict[str, Any]:
    return build_predictions(_table() if table is None else table, run_date="2026-05-08",
                             model_version="meta-2026-05-01-0123abcd", caveats=["IC is out-of-sample"], **kwargs)


def test_contract_covers_predictions_keys() -> None:
    assert CONTRACTS.artifact_for(KEY).schema == "predictions.schema.json"
    assert CONTRACTS.artifact_for("predictor/predictions/latest.json").schema == "predictions.schema.json"


def test_built_document_is_valid_and_complete() -> None:
    document = _build()
    PREDICTIONS.validate(key=KEY, value=document)
    assert document["date"] == "2026-05-08"
    assert document["model_version"] == "meta-2026-05-01-0123abcd"
    assert document["n_predictions"] == 4
    assert document["caveats"] == ["IC is out-of-sample"]
    assert [row["ticker"] for row in document["predictions"]] == ["AAPL", "MSFT", "JPM", "XOM"]
    assert [row["combined_rank"] for row in document["predictions"]] == [1, 2, 3, 4]


def test_the_model_status_is_stamped_and_checked() -> None:
    assert _build()["model_status"] == "champion"
    provisional = _build(model_status="provisional")
    PREDICTIONS.validate(key=KEY, value=provisional)
    assert provisional["model_status"] == "provisional"
    with pytest.raises(ValueError, match="model_status 'tentative'"):
        _build(model_status="tentative")
    with pytest.raises(ContractError):
        PREDICTIONS.validate(key=KEY, value={**provisional, "model_status": "tentative"})


def test_direction_and_confidence_follow_p_up() -> None:
    rows = {row["ticker"]: row for row in _build()["predictions"]}
    assert rows["AAPL"]["predicted_direction"] == "UP" and rows["AAPL"]["prediction_confidence"] == 0.24
    assert rows["XOM"]["predicted_direction"] == "DOWN" and rows["XOM"]["prediction_confidence"] == 0.8
    assert rows["MSFT"]["prediction_confidence"] == 0.02
    assert rows["JPM"]["predicted_direction"] == "DOWN"


def test_p_up_against_the_rank_is_refused() -> None:
    table = _table()
    table.loc["MSFT", "p_up"] = 0.7  # alpha 0.005 below AAPL's 0.02, p_up above its 0.62
    with pytest.raises(ValueError, match="not monotone"):
        _build(table)


def test_p_up_of_one_half_is_up_with_zero_confidence() -> None:
    table = _table()
    table.loc["AAPL", "p_up"] = 0.5
    table.loc["MSFT", "p_up"] = 0.49  # p_up stays non-decreasing in alpha
    row = next(r for r in _build(table)["predictions"] if r["ticker"] == "AAPL")
    assert row["predicted_direction"] == "UP" and row["prediction_confidence"] == 0.0


def test_n_high_confidence_counts_at_or_above_threshold() -> None:
    assert _build()["n_high_confidence"] == 1  # only XOM (0.8)
    assert _build(high_confidence=0.24)["n_high_confidence"] == 2  # AAPL exactly at the threshold


def test_floats_are_rounded_to_six_decimals_and_nan_optionals_omitted() -> None:
    rows = {row["ticker"]: row for row in _build()["predictions"]}
    assert rows["MSFT"]["predicted_alpha"] == 0.005
    assert "momentum_score" not in rows["XOM"]
    assert "momentum_20d" not in rows["MSFT"]
    assert "expected_move" not in rows["JPM"]
    assert rows["AAPL"]["momentum_score"] == 0.3
    assert isinstance(rows["JPM"]["price_data_age_days"], int)


def test_negative_zero_is_not_written() -> None:
    table = _table()
    table.loc["AAPL", "predicted_alpha"] = -1e-9
    table.loc["AAPL", "p_up"] = 0.5  # p_up stays non-decreasing in alpha
    row = next(r for r in _build(table)["predictions"] if r["ticker"] == "AAPL")
    assert json.dumps(row["predicted_alpha"]) == "0.0"


def test_equal_alphas_are_ranked_by_ticker() -> None:
    table = pd.DataFrame({"predicted_alpha": [0.01, 0.01, 0.0100000001, 0.02], "predicted_alpha_std": 0.01,
                          "p_up": 0.6, "price_data_age_days": 0}, index=["ZZZ", "BBB", "AAA", "MMM"])
    rows = _build(table)["predictions"]
    assert [(r["ticker"], r["combined_rank"]) for r in rows] == [("MMM", 1), ("AAA", 2), ("BBB", 3), ("ZZZ", 4)]


def test_bytes_are_deterministic_and_independent_of_row_order(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, contracts=CONTRACTS)
    store.write_json(KEY, _build())
    first = store.read_bytes(KEY)
    store.write_json(KEY, _build(_table().iloc[::-1]))
    assert store.read_bytes(KEY) == first


def test_empty_table_gives_an_empty_valid_document() -> None:
    document = _build(_table().iloc[:0])
    assert document["n_predictions"] == 0 and document["predictions"] == [] and document["n_high_confidence"] == 0


def test_vetoes_in_the_built_document() -> None:
    rows = {row["ticker"]: row for row in _build(veto_confidence=0.65)["predictions"]}
    # XOM: alpha < 0, rank 4 > 2, confidence 0.8 >= 0.65 -> gbm veto; momentum -0.08 < -0.05.
    assert rows["XOM"]["gbm_veto"] and rows["XOM"]["momentum_veto"]
    # JPM: alpha < 0, rank 3 > 2 but confidence 0.1 -> no gbm veto; momentum -0.05 is not below -0.05.
    assert not rows["JPM"]["gbm_veto"] and not rows["JPM"]["momentum_veto"]
    assert not any(rows[t]["gbm_veto"] or rows[t]["momentum_veto"] for t in ("AAPL", "MSFT"))


# -- apply_vetoes -------------------------------------------------------------------------

@pytest.mark.parametrize(("alpha", "rank", "confidence", "expected"), [
    (-0.01, 4, 0.70, True),
    (-0.01, 4, 0.65, True),    # confidence at the threshold vetoes
    (-0.01, 4, 0.64, False),   # below the confidence threshold
    (0.0, 4, 0.90, False),     # alpha not negative
    (0.01, 4, 0.90, False),
    (-0.01, 2, 0.90, False),   # rank == N/2 is not the bottom half
    (-0.01, 3, 0.90, True),    # rank > N/2
    (np.nan, 4, 0.90, False),  # missing alpha never vetoes
    (-0.01, 4, np.nan, False),
])
def test_gbm_veto_truth_table(alpha: float, rank: int, confidence: float, expected: bool) -> None:
    # N = 4 rows; the row under test is the first, the others are inert fillers.
    table = pd.DataFrame({"predicted_alpha": [alpha, 0.1, 0.1, 0.1], "combined_rank": [rank, 1, 1, 1],
                          "prediction_confidence": [confidence, 0.0, 0.0, 0.0], "momentum_20d": 0.0})
    out = apply_vetoes(table, veto_confidence=0.65)
    assert bool(out["gbm_veto"].iloc[0]) is expected
    assert not out["gbm_veto"].iloc[1:].any()


@pytest.mark.parametrize(("momentum", "expected"), [
    (-0.06, True), (-0.05, False), (-0.04, False), (0.2, False), (np.nan, False),
])
def test_momentum_veto_truth_table(momentum: float, expected: bool) -> None:
    table = pd.DataFrame({"predicted_alpha": [0.1], "combined_rank": [1], "prediction_confidence": [0.5],
                          "momentum_20d": [momentum]})
    assert bool(apply_vetoes(table)["momentum_veto"].iloc[0]) is expected


def test_momentum_threshold_is_configurable() -> None:
    table = pd.DataFrame({"predicted_alpha": [0.1], "combined_rank": [1], "prediction_confidence": [0.5],
                          "momentum_20d": [-0.03]})
    assert bool(apply_vetoes(table, momentum_veto_threshold=-0.02)["momentum_veto"].iloc[0])


def test_missing_momentum_column_means_no_momentum_veto() -> None:
    table = pd.DataFrame({"predicted_alpha": [-0.1], "combined_rank": [1], "prediction_confidence": [0.9]})
    assert apply_vetoes(table)["momentum_veto"].tolist() == [False]


def test_apply_vetoes_does_not_mutate_its_input() -> None:
    table = pd.DataFrame({"predicted_alpha": [-0.1], "combined_rank": [1], "prediction_confidence": [0.9]})
    apply_vetoes(table)
    assert list(table.columns) == ["predicted_alpha", "combined_rank", "prediction_confidence"]


def test_apply_vetoes_needs_its_columns() -> None:
    with pytest.raises(ValueError, match="combined_rank"):
        apply_vetoes(pd.DataFrame({"predicted_alpha": [0.1], "prediction_confidence": [0.5]}))


# -- schema rejects bad documents ---------------------------------------------------------

def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(_build())
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


_DELETE = object()


@pytest.mark.parametrize(("path", "value"), [
    (("caveats",), _DELETE),
    (("date",), "08/05/2026"),
    (("n_predictions",), -1),
    (("model_version",), ""),
    (("predictions", 0, "predicted_direction"), "FLAT"),
    (("predictions", 0, "prediction_confidence"), 1.2),
    (("predictions", 0, "p_up"), -0.1),
    (("predictions", 0, "combined_rank"), 0),
    (("predictions", 0, "combined_rank"), 1.5),
    (("predictions", 0, "gbm_veto"), "no"),
    (("predictions", 0, "momentum_veto"), _DELETE),
    (("predictions", 0, "price_data_age_days"), -1),
    (("predictions", 0, "model_version"), _DELETE),
    (("predictions", 0, "ticker"), _DELETE),
    (("predictions", 0, "predicted_alpha_std"), _DELETE),
    (("predictions", 0, "momentum_20d"), "high"),
])
def test_schema_rejects_bad_documents(path: tuple[Any, ...], value: Any) -> None:
    with pytest.raises(ContractError, match="predictions.schema.json"):
        PREDICTIONS.validate(key=KEY, value=_broken(path, value))


@pytest.mark.parametrize(("column", "value", "message"), [
    ("p_up", 1.5, "p_up"),
    ("p_up", np.nan, "p_up"),
    ("predicted_alpha", np.inf, "predicted_alpha"),
    ("predicted_alpha_std", -0.1, "predicted_alpha_std"),
    ("price_data_age_days", 1.5, "price_data_age_days"),
])
def test_build_rejects_bad_inputs_naming_the_ticker(column: str, value: float, message: str) -> None:
    table = _table()
    table[column] = table[column].astype(float)
    table.loc["MSFT", column] = value
    with pytest.raises(ValueError, match=rf"{message}.*MSFT"):
        _build(table)


def test_build_rejects_duplicate_tickers_and_missing_columns() -> None:
    table = _table()
    with pytest.raises(ValueError, match="duplicate tickers"):
        _build(pd.concat([table, table.iloc[:1]]))
    with pytest.raises(ValueError, match="p_up"):
        _build(table.drop(columns="p_up"))


@pytest.mark.parametrize("run_date", ["2026-5-8", "2026-02-30", "2026/05/08", "x"])
def test_build_rejects_bad_run_dates(run_date: str) -> None:
    with pytest.raises(ValueError, match="run_date"):
        build_predictions(_table(), run_date=run_date, model_version="m", caveats=[])
