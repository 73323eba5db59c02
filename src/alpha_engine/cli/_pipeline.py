"""The pipeline commands: run, status, redrive, resume, logs, graph, stages, definition."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from alpha_engine.pipeline import STAGE_LOG, short_cause, stage_log_path

from ._common import (
    RUN_DATE_HELP,
    ConfigOption,
    ExitCode,
    FreezeOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    check_run_date,
    command,
    emit_json,
    err,
    load_configured,
    parse_date,
    signal_exit_code,
)

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.notify import DeliveryReport
    from alpha_engine.pipeline import LocalPipeline, PipelineApp, StageStatus
    from alpha_engine.sfn import ExecutionResult

__all__ = ["register"]

_MARK = {"SUCCEEDED": "ok", "FAILED": "FAILED", "SOFT_FAILED": "soft-failed", "SKIPPED": "skipped",
         "RUNNING": "running", "ABORTED": "aborted", "NOT_RUN": "-"}


def _pipeline(config: Path | None, workspace: Path | None, **kwargs: Any) -> LocalPipeline:
    from alpha_engine.pipeline import LocalPipeline

    settings, app = load_configured(config, workspace)
    return LocalPipeline(settings, app=app, **kwargs)


class _LiveView:
    """One line per stage event, plus new lines of the running stages' logs.

    Only this execution's logs are tailed (``logs/stages/{slug}/{date}/{execution}/``), and of those
    only the attempt files written since the stage started: another run's lines, or an earlier
    attempt's, never show.
    """

    def __init__(self, pipeline_settings: Settings, stages: dict[str, Any]) -> None:
        self.workspace = pipeline_settings.workspace
        self.stages = stages  # state name -> stage class
        self.run_date: str | None = None
        self.execution: str | None = None
        self.started: dict[str, float] = {}  # state name -> wall-clock time it was entered
        self.offsets: dict[Path, int] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._tail_loop, daemon=True)

    def say(self, line: str) -> None:
        with self.lock:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def on_event(self, arn: str, event: dict[str, Any]) -> None:
        self.execution = self.execution or arn.rsplit(":", 1)[-1]
        kind = event["type"]
        if kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            name = details["name"]
            if name == "InitializeInput":
                self.run_date = json.loads(details.get("output") or "{}").get("run_date")
                self.say(f"run_date {self.run_date}")
            if name in self.stages:
                self.tail()  # the stage's last lines before its 'done'
                elapsed = time.time() - self.started.pop(name, time.time())
                self.say(f"  done  {name}  {elapsed:.1f}s")
        elif kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            stage = self.stages.get(name)
            if stage is not None:
                self.started[name] = time.time()
                self.say(f"  start {name}  ({stage.failure_class.value}, {stage.compute.value})")
            elif name.startswith("Notify") or name in ("HandleFailure", "MutexConflict", "ApplyShellRunDefaults"):
                self.say(f"  {name}")
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            # The stage's own error (a Batch job's reason, a Lambda's message), not the raw job JSON.
            self.say(f"  !!    {short_cause(str(details.get('error')), details.get('cause'))}")

    def _tail_loop(self) -> None:
        while not self.stop.wait(0.3):
            self.tail()

    def _attempt_logs(self, slug: str, since: float) -> list[Path]:
        assert self.run_date is not None and self.execution is not None
        folder = stage_log_path(self.workspace, slug, self.run_date, self.execution).parent
        try:
            found = [(path.stat().st_mtime, path) for path in folder.glob("*.log")]
        except OSError:
            return []
        # 1 s of slack for file systems with coarse timestamps; earlier attempts are older than that.
        return [path for mtime, path in sorted(found) if mtime >= since - 1.0]

    def tail(self) -> None:
        with self.lock:
            if self.run_date is None or self.execution is None:
                return
            for name, since in list(self.started.items()):
                for path in self._attempt_logs(self.stages[name].slug, since):
                    self._tail_file(path)

    def _tail_file(self, path: Path) -> None:
        offset = self.offsets.get(path, 0)
        try:
            size = path.stat().st_size
            if size <= offset:
                return
            with open(path, "rb") as log:
                log.seek(offset)
                chunk = log.read(size - offset)
        except OSError:
            return
        complete = chunk.rfind(b"\n") + 1
        for line in chunk[:complete].decode("utf-8", "replace").splitlines():
            sys.stderr.write(f"        | {line[:200]}\n")
        sys.stderr.flush()
        self.offsets[path] = offset + complete

    def __enter__(self) -> _LiveView:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)


def _runtime_line(line: str) -> None:
    err(f"  {line}")


def _print_table(statuses: list[StageStatus]) -> None:
    if not statuses:
        err("(the stage graph has no stages yet)")
        return
    width = max(len(s.name) for s in statuses)
    err(f"{'stage':<{width}}  {'class':<5}  {'status':<11}  {'time':>7}  note")
    for s in statuses:
        seconds = f"{s.seconds:.1f}s" if s.seconds is not None else ""
        err(f"{s.name:<{width}}  {s.failure_class:<5}  {_MARK[s.status]:<11}  {seconds:>7}  {s.error or ''}")


def _report(pipeline: LocalPipeline, arn: str, as_json: bool, delivery: DeliveryReport | None = None) -> None:
    from alpha_engine.notify import failed_deliveries
    from alpha_engine.pipeline import execution_cause_line

    described = pipeline.describe(arn)
    statuses = pipeline.stage_statuses(arn)
    run_date = pipeline.run_date_of(arn)
    notice = pipeline.last_notification(described["name"])
    logs = f"{pipeline.settings.artifacts_uri}/{STAGE_LOG.prefix}<slug>/{run_date}/{described['name']}/"
    warnings = pipeline.stage_warnings(arn)
    undelivered = failed_deliveries(pipeline.settings.workspace)
    if as_json:
        emit_json({"execution": described, "run_date": run_date, "stages": [s.__dict__ for s in statuses],
                   "warnings": warnings, "notification": notice, "outbox": str(pipeline.outbox()), "logs": logs,
                   "delivery": delivery.to_json() if delivery is not None else None,
                   "undelivered": undelivered})
        return
    err("")
    _print_table(statuses)
    if warnings:
        err("")
        err(f"warnings ({len(warnings)}):")
        for item in warnings:
            err(f"  {item['stage']}: {item['warning']}")
    err("")
    err(f"{described['status']}  {described['name']}  (run_date {run_date})")
    if described.get("error"):
        err(f"error: {execution_cause_line(described['error'], described.get('cause'))}")
    if notice:
        err(f"notification: {notice.get('subject')}  (outbox: {pipeline.outbox()})")
    if delivery is not None and delivery.deliveries:
        err(f"delivered to channels: {delivery.summary()}")
    for item in undelivered:
        err(f"undelivered: {item['subject']!r} to channel {item['channel']} ({item['attempts']} attempt(s)): "
            f"{item['error']}  (retry: alpha-engine notify deliver)")
    err(f"logs: {logs}  (alpha-engine logs {described['name']} STAGE)")


def _finish(pipeline: LocalPipeline, result: ExecutionResult, as_json: bool) -> None:
    """Report the execution, say how to go on if it did not succeed, and exit: 0, 1, or 128+N when
    signal N stopped it. First the outbox goes to the configured channels (a failing channel is
    reported, never fails the run)."""
    _report(pipeline, result.arn, as_json, _deliver_outbox(pipeline, result.arn))
    described = pipeline.describe(result.arn)
    status, name = described["status"], described["name"]
    if status == "SUCCEEDED":
        return
    signum = getattr(result, "signal", None)
    if not as_json:
        if status == "ABORTED":
            how = f"stopped by {signal.Signals(signum).name}" if signum else "stopped"
            err(f"{how}: finished stages keep their outputs; continue with: alpha-engine redrive {name}")
        elif status == "RUNNING":
            err(f"still RUNNING (its engine stopped): continue it with: alpha-engine resume {name}")
        elif described.get("error") == "MutexConflict":  # nothing ran, and redrive refuses it
            err("another run of this state machine and role started in the same minute, so this one ran no "
                "stage: check that run ('alpha-engine status'); start a new one with 'alpha-engine run' if needed")
        else:
            err(f"fix the cause above, then continue from the failed stage with: alpha-engine redrive {name}")
    raise typer.Exit(signal_exit_code(signum) if signum else ExitCode.FAILED)


def _deliver_outbox(pipeline: LocalPipeline, arn: str) -> DeliveryReport | None:
    """Deliver the workspace's outbox, and the execution's status notice, to the configured channels
    (``settings.notify.channels``); None when none is configured.

    A failure of the delivery itself (an unreadable delivery log) is printed, never raised: the
    run's own outcome stands, and ``alpha-engine notify deliver`` retries."""
    import os

    from alpha_engine.notify import deliver, status_notice

    settings = pipeline.settings
    if not settings.notify.channels:
        return None
    try:
        notice = status_notice(pipeline.describe(arn), title=pipeline.graph.title)
        return deliver(settings.workspace, settings.notify.channels, env=os.environ, now=lambda: datetime.now(UTC),
                       status_notices=[notice] if notice else [])
    except Exception as exc:  # noqa: BLE001 (delivery never fails the run)
        err(f"notification delivery failed: {type(exc).__name__}: {exc}; retry with: alpha-engine notify deliver")
        return None


@command
def run_cmd(
    run_date: str = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
    skip: str = typer.Option("", "--skip", help="Comma-separated stage slugs to skip (a stage of a family, such "
                                                "as portfolio-optimizer, sets the family's flag, skip_backtester, "
                                                "which skips the whole family)."),
    shell: bool = typer.Option(False, "--shell", help="Shell run: every stage boots and runs only its "
                                                      "preflight, with read-only stores; nothing is written."),
    role: str = typer.Option(None, "--role", help="pipeline_role, e.g. 'weekly' for the scheduled run "
                                                  "(cadence roles take the execution mutex)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON; no live view."),
    freeze: bool = FreezeOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Run the weekly pipeline on the embedded runtime, with a live view, then a summary.

    One run per workspace: while another run, resume or redrive drives an execution here, this
    exits 75 naming it. SIGTERM or SIGINT stops the run: the stages get the signal, the execution is
    recorded ABORTED and notified, and the command exits 128+N.
    """
    settings, app = load_configured(config, workspace, freeze=freeze)
    day = parse_date(run_date) if run_date else app.default_run_date(settings, datetime.now(UTC).date())
    check_run_date(app, day)  # a refused run_date exits 64 here, before anything is written

    def start(pipeline: LocalPipeline) -> ExecutionResult:
        value = pipeline.execution_input(run_date=day, skip=[s for s in skip.split(",") if s],
                                         shell_run=shell, role=role)
        return pipeline.start(value)

    if not as_json:
        err(f"{app.graph.title} pipeline{' (shell run)' if shell else ''}: {len(app.graph.stages())} stage(s), "
            f"workspace {settings.workspace}")
    _drive(settings, app, as_json, start)


def _drive(settings: Settings, app: PipelineApp, as_json: bool, action: Callable[[LocalPipeline], ExecutionResult],
           execution: str | None = None) -> None:
    """Run ``action`` on a pipeline with the live view (unless ``as_json``), then report and exit."""
    from alpha_engine.pipeline import LocalPipeline

    view = None if as_json else _LiveView(settings, {stage.name: stage for stage in app.graph.stages()})
    # resume/redrive: the runtime says which earlier attempts it stopped first (and binding progress).
    log = None if execution is None else (view.say if view is not None else _runtime_line)
    pipeline = LocalPipeline(settings, app=app, listener=view.on_event if view else None, log=log)
    if view is None:
        result = action(pipeline)
    else:
        if execution is not None:  # resume/redrive: InitializeInput will not run again
            view.run_date = pipeline.run_date_of(execution)
        with view:
            result = action(pipeline)
    _finish(pipeline, result, as_json)


@command
def status_cmd(
    execution: str = typer.Argument(None, help="Execution name or ARN (default: the latest)."),
    as_json: bool = JsonOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Show an execution's stages; without an argument, the latest run and the recent ones."""
    pipeline = _pipeline(config, workspace)
    arn = execution or pipeline.latest()
    if not execution and not as_json:
        for record in pipeline.executions(limit=10):
            err(f"{record.status:<10} {record.name}")
    _report(pipeline, pipeline.runtime.resolve(arn), as_json)


@command
def redrive_cmd(
    execution: str = typer.Argument(..., help="Execution name or ARN."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON; no live view."),
    freeze: bool = FreezeOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Redrive a failed or aborted run from the stage that failed: finished stages are not run again."""
    settings, app = load_configured(config, workspace, freeze=freeze)

    def redrive(pipeline: LocalPipeline) -> ExecutionResult:
        result, rewound = pipeline.redrive(execution)
        if not as_json:
            err(f"rewound {len(rewound)} checkpoint(s): {', '.join(rewound) or '(none: a plain redrive)'}")
        return result

    _drive(settings, app, as_json, redrive, execution)


@command
def resume_cmd(
    execution: str = typer.Argument(..., help="Execution name or ARN."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON; no live view."),
    freeze: bool = FreezeOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Continue a RUNNING execution whose process died, from its last checkpoint, with a live view.
    An attempt the dead engine left running is stopped first."""
    settings, app = load_configured(config, workspace, freeze=freeze)
    _drive(settings, app, as_json, lambda pipeline: pipeline.resume(execution), execution)


@command
def logs_cmd(
    execution: str = typer.Argument(..., help="Execution name or ARN."),
    state: str = typer.Argument(None, help="Stage state name or slug; without it, list the logs."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """List an execution's shipped stage logs, or print one stage's log from this execution (its
    latest attempt). Another execution's logs, even for the same run_date, are never shown."""
    pipeline = _pipeline(config, workspace)
    found = pipeline.stage_logs(execution, state)
    if state:
        (name, keys), = found.items()
        if not keys:
            err(f"error: execution {execution} shipped no log for {name} (run_date "
                f"{pipeline.run_date_of(execution)}): the stage did not run in it, or its log could not be shipped")
            raise typer.Exit(1)
        err(f"== {keys[-1]}")
        sys.stdout.buffer.write(pipeline.read_log(keys[-1]))
        sys.stdout.flush()
        return
    for name, keys in found.items():
        typer.echo(f"{name}: {keys[-1] if keys else '(no log)'}" + (f"  (+{len(keys) - 1} older)" if len(keys) > 1 else ""))


@command
def graph_cmd(
    execution: str = typer.Option(None, "--execution", "-e", help="Colour states by this execution's outcome."),
    fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid or dot."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Render the pipeline's state machine (mermaid or dot)."""
    from alpha_engine.sfn import render_graph, state_outcomes

    if fmt not in ("mermaid", "dot"):
        raise UsageError("--format must be mermaid or dot")
    pipeline = _pipeline(config, workspace)
    outcomes = None
    if execution:
        outcomes = state_outcomes(pipeline.runtime.store.events(pipeline.runtime.resolve(execution)))
    typer.echo(render_graph(pipeline.definition, fmt, outcomes))  # type: ignore[arg-type]


@command
def stages_cmd(
    as_json: bool = JsonOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """List the pipeline's stages in run order: failure class, compute, timeout, resources, and the
    artifacts each consumes (and from which stage) and produces."""
    _, app = load_configured(config, workspace)
    rows = app.graph.describe()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("(no stages)")
    for row in rows:
        typer.echo(f"{row['name']} ({row['slug']}): {row['failure_class']}, {row['compute']}, "
                   f"timeout {row['timeout_seconds']}s")
        if row["description"]:
            typer.echo(f"    {row['description']}")
        typer.echo(f"    requires: {', '.join(row['requires']) or '-'}")
        consumed = [f"{c['artifact']} (from {c['from']}{'' if c['required'] else ', optional'})"
                    for c in row["consumes"]]
        typer.echo(f"    consumes: {', '.join(consumed) or '-'}")
        typer.echo(f"    produces: {', '.join(row['produces']) or '-'}")
        if row.get("updates"):
            typer.echo(f"    updates (when a decision calls for it): {', '.join(row['updates'])}")
        if row["options"]:
            typer.echo(f"    options:  {', '.join(row['options'])}")


@command
def definition_cmd(
    out: Path = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Print the composed ASL definition: what deploys to AWS, with ${...} placeholders for the names
    that differ between installations ('run' fills them from the settings, a deployment from its stack)."""
    from alpha_engine.pipeline import compose_definition, definition_json

    _, app = load_configured(config, workspace)
    text = definition_json(compose_definition(app.graph))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        err(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("status")(status_cmd)
    app.command("redrive")(redrive_cmd)
    app.command("resume")(resume_cmd)
    app.command("logs")(logs_cmd)
    app.command("graph")(graph_cmd)
    app.command("stages")(stages_cmd)
    app.command("definition")(definition_cmd)
