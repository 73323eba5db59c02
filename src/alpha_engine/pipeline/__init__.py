"""The weekly pipeline as code: stage contract, stage graph, composer, runner, log capture."""

from ._errors import PipelineError, PreflightError, RecoveryError, StageDefinitionError, UnknownStageError
from ._graph import Branch, ParallelGroup, StageGraph, Step, load_graph, parallel
from ._stage import Compute, FailureClass, Stage, StageContext, StageOutcome, Stores, check_stage_class

__all__ = [
    "Branch",
    "Compute",
    "FailureClass",
    "ParallelGroup",
    "PipelineError",
    "PreflightError",
    "RecoveryError",
    "Stage",
    "StageContext",
    "StageDefinitionError",
    "StageGraph",
    "StageOutcome",
    "Step",
    "Stores",
    "UnknownStageError",
    "check_stage_class",
    "load_graph",
    "parallel",
]
