"""The Saturday stage graph: the weekly pipeline's stages in upstream order.

Stages join as they are implemented; the graph is never padded with placeholders. Upstream
order (see docs/architecture.md): MorningEnrich, DataPhase1, Scanner, ..., a parallel group of
Research and PredictorTraining branches, DriftDetection, the backtest family, Parity,
Evaluator, SaturdayHealthCheck. The Research branch joins the group when research lands.
"""

from __future__ import annotations

from alpha_engine.data import DataPhase1, MorningEnrich, Scanner
from alpha_engine.health import SaturdayHealthCheck
from alpha_engine.predictor import DriftDetection, PredictorTraining

from ._graph import Branch, ParallelGroup, StageGraph

__all__ = ["SATURDAY"]

SATURDAY = StageGraph(
    title="Saturday",
    steps=(
        MorningEnrich,
        DataPhase1,
        Scanner,
        ParallelGroup("ResearchPredictorParallel", (Branch("Predictor", (PredictorTraining,)),)),
        DriftDetection,
        SaturdayHealthCheck,
    ),
)
