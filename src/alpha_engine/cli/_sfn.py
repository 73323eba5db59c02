"""``alpha-engine sfn``: validate, run, inspect and recover state machine executions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from alpha_engine.sfn import LocalRuntime


from ._common import (
    ExitCode,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_error,
    emit_json,
    err,
    parse_input,
)

sfn_app = typer.Typer(help="The embedded Step Functions runtime.", no_args_is_help=True)
executions_app = typer.Typer(help="Inspect and recover executions in the workspace.", no_args_is_help=True)
sfn_app.add_typer(executions_app, name="executions")


def _runtime(workspace: Path | None, *, live: bool = False, quiet: bool = False,
             mock_config: Path | None = None, test_case: str | None = None,
             state_machine_name: str = "StateMachine") -> LocalRuntime:
    from alpha_engine.sfn import LocalRuntime, RuntimeConfig

    extra = []
    if mock_config is not None:
        from alpha_engine.sfn.services import load_mock_config

        if not test_case:
            raise UsageError("--mock-config needs --test-case")
        extra.append(load_mock_config(mock_config).binding(state_machine_name, test_case))
    view = _LiveView() if live and not quiet else None
    return LocalRuntime(
        RuntimeConfig.from_env(workspace), extra_bindings=extra,
        log=(lambda line: err(f"    {line}")) if not quiet else None,
        listener=view.on_event if view else None,
    )


class _LiveView:
    """Prints each state as it is entered and left, with its elapsed time."""

    def __init__(self) -> None:
        self._entered: dict[str, float] = {}

    def on_event(self, arn: str, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            self._entered[name] = time.perf_counter()
            err(f"  > {name} ({kind[: -len('StateEntered')]})")
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            elapsed = time.perf_counter() - self._entered.pop(name, time.perf_counter())
            err(f"  ok {name}  {elapsed * 1000:.0f} ms")
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            err(f"  !! {kind}: {details.get('error')} {str(details.get('cause') or '')[:200]}")
        elif kind in ("ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"):
            details = event.get("executionFailedEventDetails") or {}
            err(f"  xx {kind}: {details.get('error', '')} {str(details.get('cause') or '')[:500]}")


def _load(path: Path) -> dict[str, Any]:
    from alpha_engine.sfn import load_definition

    return load_definition(path)


def _print_result(runtime: LocalRuntime, arn: str, as_json: bool) -> None:
    described = runtime.describe(arn)
    if as_json:
        emit_json(described)
    else:
        err(f"{described['status']}  {described['executionArn']}")
        if "output" in described:
            typer.echo(described["output"])
        if "error" in described:
            err(f"error: {described['error']}\ncause: {described.get('cause', '')}")
    if described["status"] != "SUCCEEDED":
        raise typer.Exit(1)


@sfn_app.command("validate")
@command
def validate_cmd(
    file: Path = typer.Argument(..., help="Definition file (.json, .yaml)."),
    as_json: bool = JsonOption,
) -> None:
    """Validate a definition: every problem at once, each with a JSON pointer. Exit 1 on any error;
    a Task resource the local runtime has no binding for is a warning (AWS accepts it)."""
    from alpha_engine.sfn import Diagnostic, LocalRuntime, validate_definition

    definition = _load(file)
    diagnostics: list[Diagnostic] = validate_definition(
        definition, resource_supported=LocalRuntime.has_builtin_binding, unbound_is_error=False)
    errors = [d for d in diagnostics if d.severity == "ERROR"]
    for d in diagnostics:
        if d.code == "NO_LOCAL_BINDING":
            err(f"warning: {file}: {d.message} (at {d.location})")
    if as_json:
        emit_json({"result": "FAIL" if errors else "OK", "diagnostics": [d.to_json() for d in diagnostics]})
    else:
        for d in diagnostics:
            if d.code != "NO_LOCAL_BINDING":
                typer.echo(f"{file}: {d}")
        typer.echo(f"{file}: {'FAIL' if errors else 'OK'} ({len(errors)} error(s), "
                   f"{len(diagnostics) - len(errors)} warning(s))")
    if errors:
        raise typer.Exit(1)


@sfn_app.command("run")
@command
def run_cmd(
    file: Path = typer.Argument(..., help="Definition file (.json, .yaml)."),
    input_text: str = typer.Option(None, "--input", "-i", help="Execution input: JSON text or @file."),
    name: str = typer.Option(None, "--name", help="Execution name (default: a uuid)."),
    mock_config: Path = typer.Option(None, "--mock-config", help="Step Functions Local MockConfigFile."),
    test_case: str = typer.Option(None, "--test-case", help="Test case of the mock config to use."),
    state_machine: str = typer.Option("StateMachine", "--state-machine", help="State machine name."),
    workspace: Path = WorkspaceOption,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view."),
    as_json: bool = JsonOption,
) -> None:
    """Run a state machine to its end on the local runtime, with a live view of its states."""
    from alpha_engine.sfn import DefinitionInvalid

    definition = _load(file)
    input_value = parse_input(input_text)
    runtime = _runtime(workspace, live=not as_json, quiet=quiet or as_json, mock_config=mock_config,
                       test_case=test_case, state_machine_name=state_machine)
    try:
        runtime.check(definition)
    except DefinitionInvalid as exc:
        err(f"error: {file}: {exc}")
        if as_json:
            emit_error(type(exc).__name__, f"{file}: {exc}", ExitCode.FAILED)
        raise typer.Exit(ExitCode.FAILED) from None
    result = runtime.start(definition, input_value, name=name, state_machine_name=state_machine)
    _print_result(runtime, result.arn, as_json)


@sfn_app.command("graph")
@command
def graph_cmd(
    file: Path = typer.Argument(..., help="Definition file (.json, .yaml)."),
    fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid or dot."),
    execution: str = typer.Option(None, "--execution", "-e", help="Colour states by this execution's outcome."),
    workspace: Path = WorkspaceOption,
) -> None:
    """Render a definition as a mermaid or dot graph."""
    from alpha_engine.sfn import render_graph, state_outcomes

    if fmt not in ("mermaid", "dot"):
        raise UsageError("--format must be mermaid or dot")
    definition = _load(file)
    outcomes = None
    if execution:
        runtime = _runtime(workspace, quiet=True)
        outcomes = state_outcomes(runtime.store.events(runtime.resolve(execution)))
    typer.echo(render_graph(definition, fmt, outcomes))  # type: ignore[arg-type]


@executions_app.command("list")
@command
def list_cmd(
    status: str = typer.Option(None, "--status", help="Only RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED."),
    limit: int = typer.Option(50, "--limit"),
    workspace: Path = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """List executions, newest first."""
    runtime = _runtime(workspace, quiet=True)
    records = runtime.store.list_executions(status=status, limit=limit)
    rows = [runtime.describe(r.arn) for r in records]
    if as_json:
        emit_json([{k: v for k, v in r.items() if k not in ("input", "output")} for r in rows])
        return
    for r in rows:
        typer.echo(f"{r['status']:<10} {r['startDate']}  {r['name']}  redrives={r['redriveCount']}")


@executions_app.command("describe")
@command
def describe_cmd(execution: str = typer.Argument(..., help="Execution ARN or name."),
                 workspace: Path = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """DescribeExecution: status, dates, input, output, error."""
    runtime = _runtime(workspace, quiet=True)
    described = runtime.describe(execution)
    if as_json:
        emit_json(described)
    else:
        for key, value in described.items():
            typer.echo(f"{key}: {value}")


@executions_app.command("history")
@command
def history_cmd(execution: str = typer.Argument(..., help="Execution ARN or name."),
                workspace: Path = WorkspaceOption, as_json: bool = JsonOption) -> None:
    """GetExecutionHistory: every event, oldest first."""
    from alpha_engine.sfn import export_event

    runtime = _runtime(workspace, quiet=True)
    events = [export_event(e) for e in runtime.store.events(runtime.resolve(execution))]
    if as_json:
        emit_json({"events": events})
        return
    for e in events:
        details: Any = next((v for k, v in e.items() if k.endswith("EventDetails")), {})
        name = details.get("name", "") if isinstance(details, dict) else ""
        typer.echo(f"{e['id']:>5} {e['timestamp']} {e['type']:<28} {name}")


@executions_app.command("stop")
@command
def stop_cmd(execution: str = typer.Argument(..., help="Execution ARN or name."),
             force: bool = typer.Option(False, "--force",
                                        help="Abort now even if no engine is driving it (after a crash)."),
             workspace: Path = WorkspaceOption) -> None:
    """StopExecution: the driving engine aborts it at its next state or wait."""
    runtime = _runtime(workspace, quiet=True)
    arn = runtime.resolve(execution)
    if force:
        runtime.engine.stop_orphan(arn)
    else:
        runtime.engine.request_stop(arn)
    typer.echo(f"{'ABORTED' if force else 'stop requested'}: {arn}")


@executions_app.command("redrive")
@command
def redrive_cmd(execution: str = typer.Argument(..., help="Execution ARN or name."),
                workspace: Path = WorkspaceOption, quiet: bool = typer.Option(False, "--quiet", "-q"),
                as_json: bool = JsonOption) -> None:
    """RedriveExecution: re-run a failed execution from its failed state; completed states are not re-run."""
    runtime = _runtime(workspace, live=not as_json, quiet=quiet or as_json)
    result = runtime.redrive(execution)
    _print_result(runtime, result.arn, as_json)


@executions_app.command("resume")
@command
def resume_cmd(execution: str = typer.Argument(..., help="Execution ARN or name."),
               workspace: Path = WorkspaceOption, quiet: bool = typer.Option(False, "--quiet", "-q"),
               as_json: bool = JsonOption) -> None:
    """Resume a RUNNING execution whose engine died, from its last checkpoint."""
    runtime = _runtime(workspace, live=not as_json, quiet=quiet or as_json)
    result = runtime.resume(execution)
    _print_result(runtime, result.arn, as_json)


@sfn_app.command("send-task-success")
@command
def send_task_success_cmd(task_token: str = typer.Option(..., "--task-token"),
                          output: str = typer.Option("{}", "--output", help="JSON output of the task."),
                          workspace: Path = WorkspaceOption) -> None:
    """SendTaskSuccess for a .waitForTaskToken task."""
    runtime = _runtime(workspace, quiet=True)
    runtime.engine.send_task_success(task_token, parse_input(output))


@sfn_app.command("send-task-failure")
@command
def send_task_failure_cmd(task_token: str = typer.Option(..., "--task-token"),
                          error: str = typer.Option(None, "--error"), cause: str = typer.Option(None, "--cause"),
                          workspace: Path = WorkspaceOption) -> None:
    """SendTaskFailure for a .waitForTaskToken task."""
    runtime = _runtime(workspace, quiet=True)
    runtime.engine.send_task_failure(task_token, error, cause)


@sfn_app.command("send-task-heartbeat")
@command
def send_task_heartbeat_cmd(task_token: str = typer.Option(..., "--task-token"),
                            workspace: Path = WorkspaceOption) -> None:
    """SendTaskHeartbeat for a .waitForTaskToken task."""
    runtime = _runtime(workspace, quiet=True)
    runtime.engine.send_task_heartbeat(task_token)
