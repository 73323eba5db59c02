"""max_assets: over a universe larger than it, the optimizers fit on a per-fold pre-selection, and the
documents say so; at or under it nothing changes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from alpha_engine.backtest import ClosePanel, PortfolioOptimizerOptions, run_portfolio_backtest

SMALL = {"train_days": 120, "test_days": 40, "covariance_estimators": ("ledoit_wolf",), "risk_aversions": (10.0,),
         "n_bootstrap": 200}


def _panel(n_assets: int = 12, n_days: int = 400) -> ClosePanel:
    rng = np.random.default_rng(7)
    returns = rng.normal(0.0003, np.linspace(0.005, 0.03, n_assets), size=(n_days, n_assets))
    closes = 100 * np.vstack([np.ones(n_assets), np.cumprod(1 + returns, axis=0)])
    frame = pd.DataFrame(closes, index=pd.bdate_range("2020-01-01", periods=n_days + 1),
                         columns=[f"T{i:02d}" for i in range(n_assets)])
    return ClosePanel(frame, (), "test")


def _run(**options: Any) -> Any:
    return run_portfolio_backtest(_panel(), PortfolioOptimizerOptions(**{**SMALL, **options}), seed=3,
                                  context={"run_date": "2021-08-07"})


def _without_pre_selection(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "walk_forward": {k: v for k, v in doc["walk_forward"].items() if k != "pre_selection"}}


def test_over_max_assets_the_optimizers_fit_on_a_pre_selection_and_the_documents_say_so() -> None:
    result = _run(max_assets=4)
    selection = result.gate["walk_forward"]["pre_selection"]
    assert selection["applied"] and selection["max_assets"] == 4 and selection["n_assets"] == 12
    assert result.summary["optimizer_universe"] == 4
    assert result.covariance_sweep["walk_forward"]["pre_selection"] == selection
    assert result.gate["causality"]["look_ahead"]["passed"]
    # The baseline still holds all 12 names, so the optimizer is not the baseline.
    assert result.gate["optimizer"]["sharpe"] != result.gate["baseline"]["sharpe"]


def test_a_pre_selected_run_is_reproducible() -> None:
    assert _run(max_assets=4).gate == _run(max_assets=4).gate


def test_at_or_under_max_assets_nothing_is_pre_selected_and_nothing_changes() -> None:
    under, off = _run(max_assets=12), _run(max_assets=None)
    assert under.gate["walk_forward"]["pre_selection"]["applied"] is False
    assert off.summary["optimizer_universe"] == under.summary["optimizer_universe"] == 12
    assert _without_pre_selection(under.gate) == _without_pre_selection(off.gate)
    assert _without_pre_selection(under.risk_aversion_sweep) == _without_pre_selection(off.risk_aversion_sweep)


def test_max_assets_below_2_is_refused() -> None:
    with pytest.raises(ValidationError, match="max_assets"):
        PortfolioOptimizerOptions(max_assets=1)
