"""The scanner's gates: pass/fail per ticker, gates not applied when their input is missing."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from alpha_engine.data._scanner import ScannerOptions, scan_candidates


def table(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).T
    frame["date"] = "2022-12-28"
    return frame


def test_a_ticker_passes_only_when_every_applied_gate_passes() -> None:
    latest = table({
        "AAA": {"Close": 10, "avg_volume_20d_raw": 1e6, "momentum_20d": 0.05, "price_vs_ma50": 0.1, "price_vs_ma200": 0.2},
        "BBB": {"Close": 10, "avg_volume_20d_raw": 1e5, "momentum_20d": 0.05, "price_vs_ma50": 0.1, "price_vs_ma200": 0.2},
        "CCC": {"Close": 10, "avg_volume_20d_raw": 1e6, "momentum_20d": -0.01, "price_vs_ma50": 0.1, "price_vs_ma200": 0.2},
        "DDD": {"Close": 10, "avg_volume_20d_raw": 1e6, "momentum_20d": 0.09, "price_vs_ma50": 0.1, "price_vs_ma200": -0.2},
    })
    result = scan_candidates(latest, ScannerOptions())
    assert result["candidates"] == ["AAA"]
    by = {r["ticker"]: r for r in result["tickers"]}
    assert by["BBB"]["gates"]["liquidity"] == {"value": 1e5, "threshold": 500_000.0, "pass": False}
    assert by["CCC"]["gates"]["momentum"]["pass"] is False
    assert by["DDD"]["gates"]["trend_ma200"]["pass"] is False
    assert result["counts"] == {"scanned": 4, "passed": 1}


def test_close_only_data_does_not_apply_the_liquidity_gate() -> None:
    latest = table({
        "AAA": {"Close": 10, "avg_volume_20d_raw": math.nan, "momentum_20d": 0.02, "price_vs_ma50": 0.1,
                "price_vs_ma200": 0.1},
        "BBB": {"Close": 10, "avg_volume_20d_raw": math.nan, "momentum_20d": 0.07, "price_vs_ma50": 0.1,
                "price_vs_ma200": 0.1},
    })
    result = scan_candidates(latest, ScannerOptions())
    assert result["candidates"] == ["BBB", "AAA"]  # by 20-day momentum, highest first
    assert result["tickers"][0]["gates"]["liquidity"]["pass"] is None
    assert result["gates_not_applied_for_some_tickers"] == ["liquidity"]


def test_a_ticker_with_no_applicable_gate_does_not_pass() -> None:
    latest = table({"AAA": {"Close": 10, "avg_volume_20d_raw": math.nan, "momentum_20d": math.nan,
                            "price_vs_ma50": math.nan, "price_vs_ma200": math.nan}})
    assert scan_candidates(latest, ScannerOptions())["candidates"] == []


def test_options_are_validated() -> None:
    assert ScannerOptions.model_validate({"min_avg_volume": "1000"}).min_avg_volume == 1000.0
    with pytest.raises(ValidationError, match="min_volume"):
        ScannerOptions.model_validate({"min_volume": 1})
    with pytest.raises(ValidationError, match="min_momentum_20d"):
        ScannerOptions.model_validate({"min_momentum_20d": "high"})
