"""Run the pipeline on the embedded runtime: start, status, redrive, resume, logs.

The definition is composed from the configured app's stage graph with the configured names (the
composition root's committed ``saturday.asl.json`` is the same composition with default settings).
Lambda stages are bound to :mod:`._lambda_handler`; Batch stages run their command with the
virtualenv's ``bin`` first on ``PATH``; both reach the stage runner through log capture.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alpha_engine.config import Settings
from alpha_engine.sfn import ExecutionResult, LocalRuntime, RuntimeConfig

from ._app import PipelineApp, load_app
from ._artifacts import HEALTH_MARKER
from ._compose import (
    SNS_PUBLISH,
    compose_definition,
    definition_json,
    local_substitutions,
    substitute,
    task_states,
)
from ._errors import RecoveryError
from ._graph import StageGraph
from ._logcapture import stage_log_prefix
from ._recovery import rewind_keys
from ._stage import Compute, Stage
from ._workspace_lock import WorkspaceLock

__all__ = ["LocalPipeline", "StageStatus", "execution_cause_line", "short_cause", "stage_statuses"]

_LOG = logging.getLogger(__name__)
LAMBDA_HANDLER = "alpha_engine.pipeline._lambda_handler:handler"
# Upstream's Step Functions metrics, which the substrate row pipeline_execution reads as a success rate.
EXECUTION_NAMESPACE = "AlphaEngine/Pipeline"
_EXECUTION_METRIC = {"SUCCEEDED": "ExecutionsSucceeded", "FAILED": "ExecutionsFailed",
                     "TIMED_OUT": "ExecutionsFailed", "ABORTED": "ExecutionsFailed"}


@dataclass(frozen=True)
class StageStatus:
    """One stage's outcome in one execution, read from its history."""

    name: str
    slug: str
    failure_class: str
    status: str  # SUCCEEDED | FAILED | SOFT_FAILED | SKIPPED | RUNNING | ABORTED | NOT_RUN
    seconds: float | None = None
    error: str | None = None
    # The last lines of a failed Batch stage's output (its job's Container.LogTail), if any.
    log_tail: str | None = None


def _event_time(event: Mapping[str, Any]) -> float:
    stamp = event["timestamp"]
    if isinstance(stamp, int | float):
        return float(stamp)
    return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


def _cause_body(cause: Any) -> Any:
    try:
        return json.loads(str(cause or ""))
    except ValueError:
        return None


_SIGNAL_NAMES = {int(sig): sig.name for sig in signal.Signals}


def short_cause(error: str, cause: Any) -> str:
    """One line for a stage's failure: the Lambda error message, or the Batch job's reason (the
    stage's own ``ErrorType: message``, from its termination message) with the job's status and
    exit code: ``States.TaskFailed: PreflightError: ... (job FAILED, exit code 2)``."""
    text = str(cause or "")
    body = _cause_body(cause)
    if isinstance(body, dict) and "errorMessage" in body:
        text = str(body["errorMessage"])
    elif isinstance(body, dict) and "Status" in body:
        container = body.get("Container") or {}
        code = container.get("ExitCode")
        text = f"job {body['Status']}" + (f", exit code {code}" if code is not None else "")
        if isinstance(code, int) and code > 128 and code - 128 in _SIGNAL_NAMES:
            text += f": killed by {_SIGNAL_NAMES[code - 128]}"
        if container.get("Reason"):
            text = f"{container['Reason']} ({text})"
    return f"{error}: {text[:300]}" if text else error


def execution_cause_line(error: str | None, cause: Any) -> str:
    """One line for an execution's own error: a pipeline failure's reason line (``$.error.reason``,
    which the definition computes), else the raw cause, cut to 500 characters."""
    body = _cause_body(cause)
    if isinstance(body, dict) and body.get("reason"):
        where = f" at {body['phase']}" if body.get("phase") else ""
        return f"{error}{where}: {body['reason']}"[:500]
    text = str(cause or "")
    return f"{error}: {text[:500]}" if text else str(error)


def _log_tail(cause: Any) -> str | None:
    """The last output lines a failed Batch job's cause carries (``Container.LogTail``), if any."""
    body = _cause_body(cause)
    tail = (body.get("Container") or {}).get("LogTail") if isinstance(body, dict) else None
    return str(tail) if tail else None


def stage_statuses(events: Sequence[Mapping[str, Any]], graph: StageGraph) -> list[StageStatus]:
    """Each stage's status in an execution history (the last attempt wins after a redrive).

    A stage's outcome is read from the output of its Task state, which its Catch annotates:
    ``$.<slug>_failure`` (hard) or ``$.<slug>_error`` (soft). This holds for stages in
    concurrent parallel branches, whose events interleave.
    """
    stages = {stage.name: stage for stage in graph.stages()}
    gates = {f"CheckSkip{name}": name for name in stages}
    # Every Task state of a stage: its own (the last), and a polling stage's submit and poll phases.
    owner = {state: stage.name for stage in stages.values() for state in task_states(stage)}
    entered: dict[str, float] = {}
    status: dict[str, tuple[str, float | None, str | None, str | None]] = {}
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name in owner and status.get(owner[name], ("",))[0] != "RUNNING":
                entered[owner[name]] = _event_time(event)
                status[owner[name]] = ("RUNNING", None, None, None)
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            name = details["name"]
            output = json.loads(details.get("output") or "null")
            if name in owner:
                stage_name = owner[name]
                snake = stages[stage_name].snake()
                seconds = round(_event_time(event) - entered.get(stage_name, _event_time(event)), 1)
                caught = output.get(f"{snake}_failure") or output.get(f"{snake}_error") \
                    if isinstance(output, dict) else None
                if isinstance(caught, dict):
                    hard = f"{snake}_failure" in output
                    error = short_cause(str(caught.get("Error")), caught.get("Cause"))
                    status[stage_name] = ("FAILED" if hard else "SOFT_FAILED", seconds, error,
                                          _log_tail(caught.get("Cause")))
                elif name == stage_name:
                    status[stage_name] = ("SUCCEEDED", seconds, None, None)
            elif name in gates and gates[name] not in status:
                skip_key = stages[gates[name]].skip_flag()
                if isinstance(output, dict) and output.get(skip_key) is True:
                    # the gate skips every stage its flag covers (a family, and what is skipped with it)
                    for skipped in stages.values():
                        if skip_key in skipped.skip_flags() and skipped.name not in status:
                            status[skipped.name] = ("SKIPPED", None, None, None)
    out = []
    for name, stage in stages.items():
        state, elapsed, note, tail = status.get(name, ("NOT_RUN", None, None, None))
        out.append(StageStatus(name, stage.slug, stage.failure_class.value, state, elapsed, note, tail))
    return out


def stamped_run_date(events: Sequence[Mapping[str, Any]]) -> str | None:
    """The run_date ``InitializeInput`` stamped in an execution history, None if it never ran."""
    for event in events:
        details = event.get("stateExitedEventDetails")
        if details and details.get("name") == "InitializeInput":
            return str(json.loads(details["output"]).get("run_date"))
    return None


# The role of a recovery execution: it bypasses the mutex (only cadence roles take it).
RECOVERY_ROLE = "recovery"


def rerun_input(events: Sequence[Mapping[str, Any]], graph: StageGraph,
                original: Mapping[str, Any]) -> dict[str, Any]:
    """The input of a new execution that continues a failed one (how a run is redriven on AWS).

    ``events`` is the failed execution's history (AWS ``GetExecutionHistory`` events, or the
    embedded runtime's, which have the same shape), ``original`` its input. The new input keeps the
    original's keys and its ``run_date`` (the one ``InitializeInput`` stamped), takes the
    ``recovery`` role (no mutex), and sets a stage's skip flag only when every stage that flag
    skips finished: succeeded, was skipped, or failed soft (as the local redrive, it does not re-run
    a soft failure the run went past). A family whose later member failed runs again whole, and a
    flag never skips a stage that still has to run.
    """
    statuses = {status.name: status.status for status in stage_statuses(events, graph)}
    value = dict(original)
    stamped = stamped_run_date(events)
    if stamped is not None:
        value["run_date"] = stamped
    value["pipeline_role"] = RECOVERY_ROLE
    done = {name for name, status in statuses.items() if status in ("SUCCEEDED", "SKIPPED", "SOFT_FAILED")}
    for flag in sorted({flag for stage in graph.stages() for flag in stage.skip_flags()}):
        covered = {stage.name for stage in graph.stages() if flag in stage.skip_flags()}
        if covered <= done:
            value[flag] = True
    return value


def _attempt_order(key: str) -> tuple[tuple[int, ...], str]:
    """Sort shipped logs by attempt (``{redrive}.{retry}``, numerically), then by the time in the name."""
    attempt, _, rest = key.rsplit("/", 1)[-1].partition("-")
    numbers = tuple(int(part) if part.isdigit() else -1 for part in attempt.split("."))
    return numbers, rest.rsplit("-", 1)[-1]


class LocalPipeline:
    """The configured pipeline on the local runtime in the settings' workspace."""

    def __init__(self, settings: Settings, *, app: PipelineApp | None = None,
                 listener: Callable[[str, dict[str, Any]], None] | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.app = app or load_app(settings.pipeline.app)
        self.graph: StageGraph = self.app.graph
        # The definition text deploys as is; locally its placeholders take the settings' names.
        self.definition = json.loads(substitute(definition_json(compose_definition(self.graph)),
                                                local_substitutions(self.graph, settings.pipeline)))
        functions = {f"{settings.pipeline.function_prefix}{stage.slug}": LAMBDA_HANDLER
                     for stage in self.graph.stages() if stage.compute is Compute.LAMBDA}
        bin_dir = str(Path(sys.executable).parent)
        env = {**settings.child_environment(),
               "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
        self.runtime = LocalRuntime(
            RuntimeConfig(workspace=settings.workspace, functions=functions, env=env,
                          terminate_grace_seconds=settings.pipeline.terminate_grace_seconds),
            log=log, listener=listener,
        )

    @property
    def state_machine_name(self) -> str:
        return self.settings.pipeline.state_machine_name

    def execution_input(self, *, run_date: date | None = None, skip: Sequence[str] = (),
                        shell_run: bool = False, role: str | None = None) -> dict[str, Any]:
        """The execution input for these options; unknown stage slugs are an error."""
        value: dict[str, Any] = {}
        if run_date is not None:
            value["run_date"] = run_date.isoformat()
        for slug in skip:
            value[self.graph.stage(slug).skip_flag()] = True
        if shell_run:
            value["shell_run"] = True
        if role:
            value["pipeline_role"] = role
        return value

    def start(self, input_value: Mapping[str, Any], *, name: str | None = None) -> ExecutionResult:
        day = str(input_value.get("run_date") or datetime.now(UTC).date().isoformat())
        name = name or f"{self.graph.title.lower()}-{day}-{uuid.uuid4().hex[:8]}"
        with self.workspace_lock("run", name):
            return self._notified(self.runtime.start(self.definition, dict(input_value), name=name,
                                                     state_machine_name=self.state_machine_name))

    def _notified(self, result: ExecutionResult) -> ExecutionResult:
        """Every driven execution (run, resume, redrive) ends here: count it, and send the stopped-run
        notice for one that ended ABORTED (see :meth:`notify_aborted`)."""
        self._count_execution(result)
        if result.status == "ABORTED":
            self.notify_aborted(result.arn)
        return result

    def _count_execution(self, result: ExecutionResult) -> None:
        """Emit ``AlphaEngine/Pipeline`` ``ExecutionsSucceeded`` or ``ExecutionsFailed`` (FAILED,
        TIMED_OUT, ABORTED) ``{StateMachine=<name>}`` = 1 at the execution's stop time, as the
        Step Functions metrics upstream's substrate row reads; a shell run counts too. A metrics store
        that refuses the datapoint is logged, never fatal to the run."""
        from ._resources import METRICS

        metric = _EXECUTION_METRIC.get(result.status)
        if metric is None or METRICS not in self.app.resources:
            return
        stopped = self.runtime.store.get(result.arn).stop_date
        when = datetime.fromtimestamp(stopped, UTC) if stopped is not None else datetime.now(UTC)
        try:
            store = self.app.open_resources(self.settings, read_only=False).get(METRICS)
            store.emit(EXECUTION_NAMESPACE, metric, 1.0, {"StateMachine": self.state_machine_name}, when,
                       unit="Count")
        except Exception as exc:  # noqa: BLE001 - counting an execution must never change its outcome
            _LOG.warning("could not count execution %s in %s/%s: %s", result.name, EXECUTION_NAMESPACE, metric, exc)

    def notify_aborted(self, execution: str) -> dict[str, Any]:
        """Publish the notice of an ABORTED execution to the pipeline's topic; returns what was sent.

        A stop ends an execution without running its failure route (AWS runs no Catch for
        StopExecution), so the definition cannot send this notice itself. The engine's driver sends
        it, as an EventBridge rule on the execution's status change does on AWS: which execution,
        why (the signal or stop request), which stages were interrupted, and how to continue.
        """
        from alpha_engine.sfn.services import TaskRequest

        arn = self.runtime.resolve(execution)
        described = self.describe(arn)
        given = json.loads(described["input"])
        topic = given.get("sns_topic_arn") or self.settings.pipeline.sns_topic_arn
        label = str(given.get("pipeline_label") or (" Preflight" if given.get("shell_run") else ""))
        stopped = [s.name for s in self.stage_statuses(arn) if s.status == "ABORTED"]
        message = (f"{self.graph.title}{label} pipeline for run_date {self.run_date_of(arn)} was ABORTED: "
                   f"{described.get('error') or 'stopped'}: "
                   f"{str(described.get('cause') or 'no cause recorded').rstrip('.')}. "
                   f"Stages interrupted: {', '.join(stopped) or 'none'}. Finished stages keep their outputs; "
                   f"continue from the interrupted stages with: alpha-engine redrive {described['name']}")
        params = {"TopicArn": topic, "Subject": f"Alpha Engine {self.graph.title}{label} Pipeline — ABORTED",
                  "Message": message}
        request = TaskRequest(resource=SNS_PUBLISH, pattern="request-response", parameters=params,
                              execution_arn=arn, state_name="ExecutionAborted")
        asyncio.run(self.runtime.registry.invoke(request))
        return params

    def workspace_lock(self, command: str, execution: str) -> WorkspaceLock:
        """The lock that keeps this workspace to one driven execution (WorkspaceBusyError if taken)."""
        return WorkspaceLock(self.settings.workspace, command=command, execution=execution)

    def executions(self, limit: int = 20) -> list[Any]:
        return [r for r in self.runtime.store.list_executions(limit=limit)
                if r.state_machine_name == self.state_machine_name]

    def latest(self) -> str:
        runs = self.executions(limit=1)
        if not runs:
            raise RecoveryError(f"no {self.graph.title} pipeline execution in {self.settings.workspace}")
        return str(runs[0].arn)

    def describe(self, execution: str) -> dict[str, Any]:
        return self.runtime.describe(execution)

    def stage_statuses(self, execution: str) -> list[StageStatus]:
        """Each stage's status; a stage still 'running' in an execution that has ended was interrupted
        by its stop: ABORTED."""
        arn = self.runtime.resolve(execution)
        statuses = stage_statuses(self.runtime.store.events(arn), self.graph)
        if self.runtime.store.get(arn).status == "RUNNING":
            return statuses
        return [replace(s, status="ABORTED") if s.status == "RUNNING" else s for s in statuses]

    def stage_warnings(self, execution: str) -> list[dict[str, str]]:
        """Warnings the execution's stages reported (their health markers), each once, in graph order.

        Only markers written during this execution count: a shell run writes none, so it never
        shows an earlier run's warnings, and an old execution whose markers a later run replaced
        shows none.
        """
        from alpha_engine.store import StoreError

        described = self.describe(execution)
        if json.loads(described.get("input") or "{}").get("shell_run"):
            # A shell run writes no marker; one stamped in the second it started is the previous run's.
            return []
        started = str(described["startDate"])[:19] + "Z"  # markers keep whole seconds
        ended = str(described["stopDate"])[:19] + "Z" if described.get("stopDate") else "9999"
        store = self.app.open_artifacts(self.settings, read_only=True)
        seen: dict[str, str] = {}
        for stage in self.graph.stages():
            try:
                marker = store.read_json(HEALTH_MARKER.format(slug=stage.slug))
            except StoreError:
                continue
            if marker.get("status") == "ok" and started <= str(marker.get("last_success") or "") <= ended:
                for warning in marker.get("warnings") or ():
                    seen.setdefault(str(warning), stage.name)
        return [{"stage": name, "warning": warning} for warning, name in seen.items()]

    def stage_logs(self, execution: str, stage: str | None = None) -> dict[str, list[str]]:
        """State name -> the keys of the logs this execution's attempts shipped, first attempt first;
        one stage (name or slug) or every stage of the graph. Another execution's logs, even for the
        same run date, are never listed."""
        run_date = self.run_date_of(execution)
        name = self.runtime.store.get(self.runtime.resolve(execution)).name
        stages = [self.graph.stage(stage)] if stage else self.graph.stages()
        store = self.app.open_artifacts(self.settings, read_only=True)
        return {s.name: sorted(store.list(stage_log_prefix(s.slug, run_date, name)), key=_attempt_order)
                for s in stages}

    def read_log(self, key: str) -> bytes:
        """The bytes of a shipped stage log."""
        return self.app.open_artifacts(self.settings, read_only=True).read_bytes(key)

    def run_date_of(self, execution: str) -> str:
        """The run_date stamped by InitializeInput (or the start date if it never ran)."""
        arn = self.runtime.resolve(execution)
        stamped = stamped_run_date(self.runtime.store.events(arn))
        if stamped is not None:
            return stamped
        record = self.runtime.store.get(arn)
        return datetime.fromtimestamp(record.start_date, UTC).date().isoformat()

    def redrive(self, execution: str) -> tuple[ExecutionResult, list[str]]:
        """Rewind to the failed stages (see :mod:`._recovery`) and redrive; returns the rewound keys."""
        arn = self.runtime.resolve(execution)
        record = self.runtime.store.get(arn)
        with self.workspace_lock("redrive", record.name):
            return self._redrive(arn, record)

    def _redrive(self, arn: str, record: Any) -> tuple[ExecutionResult, list[str]]:
        if record.status == "RUNNING":
            raise RecoveryError(
                f"execution {record.name} is RUNNING; if its process died, continue it with "
                f"'alpha-engine resume {record.name}'"
            )
        if record.status == "SUCCEEDED":
            raise RecoveryError(f"execution {record.name} SUCCEEDED: there is nothing to redrive")
        if record.error == "MutexConflict":
            raise RecoveryError(
                f"execution {record.name} stopped at the mutex (another run started in the same minute); "
                "start a new run instead"
            )
        keys = rewind_keys(self.runtime.store.steps(arn), self.graph)
        if keys:
            self.runtime.store.drop_steps(arn, keys)
        return self._notified(self.runtime.redrive(arn)), keys

    def resume(self, execution: str) -> ExecutionResult:
        """Continue a RUNNING execution whose engine died. The workspace lock tells a dead engine from a
        live one: while another process drives the execution, resuming it is refused."""
        arn = self.runtime.resolve(execution)
        with self.workspace_lock("resume", self.runtime.store.get(arn).name):
            return self._notified(self.runtime.resume(arn))

    def outbox(self) -> Path:
        return self.settings.workspace / "notifications" / "outbox.jsonl"

    def last_notification(self, execution_name: str) -> dict[str, Any] | None:
        """The last outbox message whose text names the execution."""
        path = self.outbox()
        if not path.exists():
            return None
        found = None
        for line in path.read_text(encoding="utf-8").splitlines():
            message = json.loads(line)
            if execution_name in str(message.get("message", "")):
                found = message
        return found

    def stage_class(self, slug: str) -> type[Stage[Any]]:
        return self.graph.stage(slug)
