"""The Saturday stage graph: the weekly pipeline's stages in upstream order.

Stages join as they are implemented; the graph is never padded with placeholders. Upstream
order (see docs/architecture.md): MorningEnrich, DataPhase1, Scanner, ..., a parallel group of
Research and PredictorTraining branches, DriftDetection, the backtest family, Parity,
Evaluator, SaturdayHealthCheck.
"""

from __future__ import annotations

from alpha_engine.data import DataPhase1, MorningEnrich, Scanner
from alpha_engine.health import SaturdayHealthCheck

from ._graph import StageGraph

__all__ = ["SATURDAY"]

SATURDAY = StageGraph(
    title="Saturday",
    steps=(
        MorningEnrich,
        DataPhase1,
        Scanner,
        SaturdayHealthCheck,
    ),
)
