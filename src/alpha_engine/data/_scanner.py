"""The quant scanner: which tickers pass the liquidity, momentum and trend gates on run_date.

A pure function of the latest feature row per ticker. A gate whose input is missing is *not
applied* (recorded as ``null``), never passed or failed by a guess: on close-only data there is
no volume, so the liquidity gate is not applied and the output says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SCANNER_COLUMNS", "ScannerOptions", "scan_candidates"]

SCANNER_COLUMNS = ("Close", "avg_volume_20d_raw", "momentum_20d", "price_vs_ma50", "price_vs_ma200")


class ScannerOptions(BaseModel):
    """Gate thresholds: the Scanner stage's options (``[stages.scanner]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_avg_volume: float = 500_000.0  # shares/day, 20-day mean (upstream's liquidity gate)
    min_momentum_20d: float = 0.0  # 20-day return above this
    min_price_vs_ma50: float = 0.0  # Close above its 50-day mean
    min_price_vs_ma200: float = 0.0  # and above its 200-day mean



def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _gate(value: float | None, threshold: float) -> dict[str, Any]:
    return {"value": value, "threshold": threshold, "pass": None if value is None else value > threshold}


def scan_candidates(latest: pd.DataFrame, config: ScannerOptions) -> dict[str, Any]:
    """Per-ticker gate results and the passing tickers, by 20-day momentum (highest first).

    ``latest``: one row per ticker (index), columns :data:`SCANNER_COLUMNS` plus ``date``.
    """
    rows: list[dict[str, Any]] = []
    for ticker in sorted(latest.index):
        row = latest.loc[ticker]
        gates = {
            "liquidity": _gate(_finite(row.get("avg_volume_20d_raw")), config.min_avg_volume),
            "momentum": _gate(_finite(row.get("momentum_20d")), config.min_momentum_20d),
            "trend_ma50": _gate(_finite(row.get("price_vs_ma50")), config.min_price_vs_ma50),
            "trend_ma200": _gate(_finite(row.get("price_vs_ma200")), config.min_price_vs_ma200),
        }
        if gates["liquidity"]["value"] is not None:  # >= for the volume floor, as upstream
            gates["liquidity"]["pass"] = gates["liquidity"]["value"] >= config.min_avg_volume
        applied = [g["pass"] for g in gates.values() if g["pass"] is not None]
        rows.append({
            "ticker": str(ticker),
            "date": str(row.get("date", "")),
            "close": _finite(row.get("Close")),
            "passed": bool(applied) and all(applied),
            "gates": gates,
        })
    passing = [r for r in rows if r["passed"]]
    passing.sort(key=lambda r: (-(r["gates"]["momentum"]["value"] or 0.0), r["ticker"]))
    not_applied = sorted({name for r in rows for name, g in r["gates"].items() if g["pass"] is None})
    return {
        "config": config.model_dump(),
        "counts": {"scanned": len(rows), "passed": len(passing)},
        "gates_not_applied_for_some_tickers": not_applied,
        "candidates": [r["ticker"] for r in passing],
        "tickers": rows,
    }
