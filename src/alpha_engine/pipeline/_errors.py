"""Errors of the pipeline layer.

::

    PipelineError
     ├── StageDefinitionError   a stage class or graph is declared wrongly
     ├── UnknownStageError      no stage with that slug in the graph
     ├── PreflightError         a preflight found something missing (raised by stages)
     ├── RunDateError           the app's run-date policy refuses the run date (a usage error)
     ├── RecoveryError          an execution cannot be redriven or resumed as asked
     └── WorkspaceBusyError     another run, resume or redrive holds the workspace
"""

from __future__ import annotations

__all__ = [
    "PipelineError",
    "PreflightError",
    "RecoveryError",
    "RunDateError",
    "StageDefinitionError",
    "UnknownStageError",
    "WorkspaceBusyError",
]


class PipelineError(Exception):
    """Base of every pipeline error."""


class StageDefinitionError(PipelineError):
    """A stage or stage graph violates the stage contract."""


class UnknownStageError(PipelineError, LookupError):
    """No stage with the requested slug."""


class PreflightError(PipelineError):
    """A stage cannot run: its preflight names what is missing or unreachable."""


class RunDateError(PipelineError, ValueError):
    """The run date is refused before anything runs (it is after the last closed session): the
    message names the date, the last closed session and what to pass instead."""


class RecoveryError(PipelineError):
    """The execution is not in a state that allows the requested recovery."""


class WorkspaceBusyError(PipelineError):
    """One run per workspace: another process is running, resuming or redriving an execution in it."""
