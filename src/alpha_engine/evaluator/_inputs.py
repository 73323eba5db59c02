"""Everything the grading modules read, gathered once (pure data; the stage does the I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from ._history import History
from ._options import EvaluatorOptions

__all__ = ["EvaluationInputs", "overlap"]


def overlap(horizon: int, spacing: int) -> int:
    """How many consecutive signal dates share part of one outcome window: outcomes h sessions long,
    taken every ``spacing`` sessions, overlap ceil(h / spacing) ways (1: no overlap)."""
    return max(1, math.ceil(horizon / max(spacing, 1)))


@dataclass(frozen=True)
class EvaluationInputs:
    run_date: date
    as_of: date  # the last session closed by the run date: no outcome reads past it
    options: EvaluatorOptions
    history: History
    signal_outcomes: pd.DataFrame  # history.signals + forward_outcomes at options.horizons
    prediction_outcomes: pd.DataFrame  # history.predictions + forward_outcomes at options.ic_horizons
    closes: pd.DataFrame  # session x ticker, up to as_of
    index: pd.Series  # the market index's closes on the same sessions
    market_symbol: str
    spacing: int  # median sessions between consecutive signal dates (5 for weekly)
    training_evidence: dict[str, Any] | None  # the serving model's walk-forward validation, if stored
    backtest: dict[str, Any] | None  # backtest/{date}/portfolio_stats.json, if stored

    def n_effective(self, n: int, horizon: int) -> float:
        """Observations discounted for overlapping outcome windows (n / overlap)."""
        return n / overlap(horizon, self.spacing)
