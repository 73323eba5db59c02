from ._app import PipelineApp, load_app
from ._artifacts import FRAMEWORK_ARTIFACTS, HEALTH_MARKER, STAGE_LOG
from ._compose import ComposeOptions, compose_definition, definition_json
from ._errors import (
    PipelineError,
    PreflightError,
    RecoveryError,
    RunDateError,
    StageDefinitionError,
    UnknownStageError,
    WorkspaceBusyError,
)
from ._fence import LeaseFence
from ._graph import Branch, ParallelGroup, StageGraph, Step
from ._local import LocalPipeline, StageStatus, execution_cause_line, short_cause, stage_statuses
from ._logcapture import LogCaptureResult, log_key_for, run_with_log_capture, stage_log_path, stage_log_prefix
from ._notifier import Notifier
from ._resources import ARTIFACTS, MARKET, NOTIFICATIONS, Opener, Probe, Resource, Resources, Wiring
from ._runner import (
    TERMINATION_MESSAGE_ENV,
    ExitCode,
    StageReport,
    artifact_present,
    run_stage,
    write_report,
    write_termination_message,
)
from ._stage import (
    Compute,
    Consumption,
    FailureClass,
    NoOptions,
    Stage,
    StageContext,
    StageOutcome,
    check_stage_class,
    optional,
)
from ._workspace_lock import WorkspaceLock

__all__ = [
    "ARTIFACTS",
    "FRAMEWORK_ARTIFACTS",
    "HEALTH_MARKER",
    "MARKET",
    "NOTIFICATIONS",
    "STAGE_LOG",
    "TERMINATION_MESSAGE_ENV",
    "Branch",
    "ComposeOptions",
    "Compute",
    "Consumption",
    "ExitCode",
    "FailureClass",
    "LeaseFence",
    "LocalPipeline",
    "LogCaptureResult",
    "NoOptions",
    "Notifier",
    "Opener",
    "ParallelGroup",
    "PipelineApp",
    "PipelineError",
    "PreflightError",
    "Probe",
    "RecoveryError",
    "Resource",
    "Resources",
    "RunDateError",
    "Stage",
    "StageContext",
    "StageDefinitionError",
    "StageGraph",
    "StageOutcome",
    "StageReport",
    "StageStatus",
    "Step",
    "UnknownStageError",
    "Wiring",
    "WorkspaceBusyError",
    "WorkspaceLock",
    "artifact_present",
    "check_stage_class",
    "compose_definition",
    "definition_json",
    "execution_cause_line",
    "load_app",
    "log_key_for",
    "optional",
    "run_stage",
    "run_with_log_capture",
    "short_cause",
    "stage_log_path",
    "stage_log_prefix",
    "stage_statuses",
    "write_report",
    "write_termination_message",
]
