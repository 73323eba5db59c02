"""The Saturday pipeline: its stages in upstream order, wired to their resources.

Stages join as they are implemented; the graph is never padded with placeholders. Upstream
order (see docs/architecture.md): MorningEnrich, DataPhase1, Scanner, ..., a parallel group of
the Research and Predictor branches, DriftDetection, the backtest family, Parity, Evaluator,
SaturdayHealthCheck, WeeklySubstrateHealthCheck. The Research branch runs Research, DataPhase2 and
then the eval chain (EvalJudge ... AggregateCosts), as upstream's branch A does.

Adding a stage is its module in its domain package plus one line here.
"""

from __future__ import annotations

from pathlib import Path

from alpha_engine.backtest import Backtester, Parity, PortfolioOptimizerBacktest, PredictorBacktest
from alpha_engine.data import DataPhase1, DataPhase2, MorningEnrich, Scanner, check_data_settings
from alpha_engine.evals import (
    AggregateCosts,
    Counterfactual,
    EvalJudge,
    EvalRollingMean,
    RationaleClustering,
    ReplayConcordance,
)
from alpha_engine.evaluator import Evaluator
from alpha_engine.health import SaturdayHealthCheck, WeeklySubstrateHealthCheck
from alpha_engine.pipeline import Branch, ParallelGroup, PipelineApp, StageGraph
from alpha_engine.predictor import DriftDetection, PredictorTraining
from alpha_engine.rag import RAGIngestion
from alpha_engine.regime import RegimeRetrospectiveEval, RegimeSubstrate
from alpha_engine.research import Research

from ._resources import RESOURCES
from ._run_date import check_run_date, default_run_date

__all__ = ["DEFINITION_FILE", "SATURDAY", "SATURDAY_GRAPH"]

SATURDAY_GRAPH = StageGraph(
    title="Saturday",
    steps=(
        MorningEnrich,
        DataPhase1,
        Scanner,
        RAGIngestion,
        RegimeSubstrate,
        RegimeRetrospectiveEval,
        # Branch A: research, then the eval chain (soft; EvalJudge and EvalRollingMean share
        # skip_eval_judge; AggregateCosts is last, after every LLM-emitting stage).
        ParallelGroup("ResearchPredictorParallel", (
            Branch("Research", (Research, DataPhase2, EvalJudge, EvalRollingMean, RationaleClustering,
                                ReplayConcordance, Counterfactual, AggregateCosts)),
            Branch("Predictor", (PredictorTraining,)))),
        DriftDetection,
        # The backtest family (upstream: Backtester -> PredictorBacktest -> PortfolioOptimizerBacktest),
        # one skip flag for all of it and Parity: skip_backtester.
        Backtester,
        PredictorBacktest,
        PortfolioOptimizerBacktest,
        Parity,  # soft, its own flag skip_parity too
        Evaluator,
        SaturdayHealthCheck,
        WeeklySubstrateHealthCheck,  # soft; runs whatever SaturdayHealthCheck's verdict
    ),
)

SATURDAY = PipelineApp(graph=SATURDAY_GRAPH, resources=RESOURCES, default_run_date=default_run_date,
                       check_run_date=check_run_date, settings_checks=(check_data_settings,))

# The committed definition: compose_definition(SATURDAY_GRAPH) with default settings, byte for
# byte ('alpha-engine definition -o' rewrites it; a test fails when it drifts).
DEFINITION_FILE = Path(__file__).resolve().parent / "definitions" / "saturday.asl.json"
