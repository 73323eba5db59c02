"""``alpha-engine deploy``: the CloudFormation stack, through change sets (docs/deploy.md).

``synth`` writes the template; ``diff`` shows what it would change, ``apply`` shows that, asks, and
executes it, ``destroy`` deletes the stack. The library does the work (``alpha_engine.deploy.Stack``);
this module reads the options, prints, and asks.
"""

from __future__ import annotations

import json
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from ._common import (
    ConfigOption,
    JsonOption,
    UsageError,
    WorkspaceOption,
    command,
    emit_json,
    err,
    load_configured,
    signal_exit_code,
)

if TYPE_CHECKING:
    from alpha_engine.deploy import AwsClients, ChangeSet, Stack, StackEvent

T = TypeVar("T")
# CloudFormation's rule for a stack name.
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")

deploy_app = typer.Typer(help="Deploy to AWS with CloudFormation: generate the template, then diff, apply and "
                              "destroy the stack through change sets.", no_args_is_help=True)

TEMPLATE_NAME = "template.json"


# -- deploy synth ----------------------------------------------------------------------------

@deploy_app.command("synth")
@command
def synth_cmd(
    out: Path = typer.Option(Path("deploy-out"), "--out", "-o", help="Directory to write template.json into."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Generate the CloudFormation template: the state machine (the committed definition, its names
    filled by DefinitionSubstitutions), a Lambda function or Batch job definition per stage, the
    bucket, mutex table, topics, schedules, alarms and least-privilege roles. Offline."""
    from collections import Counter

    from alpha_engine.deploy import synthesize

    settings, app = load_configured(config, workspace)
    template = synthesize(settings, app)
    text = template.text()
    out.mkdir(parents=True, exist_ok=True)
    target = out / TEMPLATE_NAME
    temp = target.with_name(f".tmp-{TEMPLATE_NAME}")
    temp.write_text(text, encoding="utf-8")
    temp.replace(target)
    kinds = Counter(resource["Type"] for resource in template.body["Resources"].values())
    err(f"wrote {target} ({len(text.encode()):,} bytes, {sum(kinds.values())} resources)")
    for kind, count in sorted(kinds.items()):
        err(f"  {count:3d}  {kind}")
    for line in template.warnings:
        err(f"warning: {line}")
    err(f"next: alpha-engine deploy diff --template {target} --template-bucket BUCKET -p ImageUri=... "
        "-p Subnets=... -p SecurityGroups=... (docs/deploy.md)")


# -- deploy diff | apply | destroy -----------------------------------------------------------

StackNameOption = typer.Option("alpha-engine", "--stack-name", help="The CloudFormation stack (its resources' "
                               "names are prefixed with it).")
TemplateOption = typer.Option(..., "--template", "-t", help="The template file, e.g. the template.json "
                              "`alpha-engine deploy synth` writes.")
ParameterOption = typer.Option(None, "--parameter", "-p", help="A stack parameter Key=Value, repeatable (ImageUri, "
                               "AlertEmail); on an update a parameter left out keeps its previous value.")
TemplateBucketOption = typer.Option(None, "--template-bucket", help="An S3 bucket to upload the template to "
                                    "(TemplateURL, key templates/<stack>/<sha256>.json); required for a template "
                                    "over 51,200 bytes.")
RegionOption = typer.Option(None, "--region", help="AWS region (default: AWS_REGION, then ~/.aws/config).")
EndpointOption = typer.Option(None, "--endpoint-url", help="A local or compatible endpoint for CloudFormation and "
                              "S3 instead of AWS's (boto3 also reads AWS_ENDPOINT_URL).")
YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (required without a terminal).")
PollOption = typer.Option(5.0, "--poll-interval", min=0.0, help="Seconds between two status polls.")
TimeoutOption = typer.Option(3600.0, "--timeout", min=0.0, help="Seconds to wait for CloudFormation before "
                             "giving up (it carries on; nothing is cancelled).")


def _clients(region: str | None, endpoint_url: str | None) -> AwsClients:
    """The AWS clients every command uses (the seam the tests replace)."""
    from alpha_engine.deploy import aws_clients

    return aws_clients(region=region, endpoint_url=endpoint_url)


def _interactive() -> bool:
    """Whether a person can answer the confirmation prompt."""
    return sys.stdin.isatty()


def _stack(name: str, region: str | None, endpoint_url: str | None, poll_interval: float, timeout: float) -> Stack:
    from alpha_engine.deploy import Stack, Waiting, render_event

    if not _STACK_NAME.fullmatch(name):
        raise UsageError(f"--stack-name must start with a letter and hold only letters, digits and hyphens "
                         f"(at most 128), got {name!r}")

    def show(event: StackEvent) -> None:
        typer.echo(render_event(event))

    return Stack(name, _clients(region, endpoint_url), waiting=Waiting(interval=poll_interval, timeout=timeout),
                 on_event=show)


def _parse_parameters(values: list[str] | None) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--parameter must be Key=Value, got {value!r}")
        if key.strip() in parameters:
            raise UsageError(f"--parameter {key.strip()} is given twice")
        parameters[key.strip()] = val
    return parameters


def _read_template(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--template {path}: cannot read it ({exc.strerror or exc}); write one with "
                         "`alpha-engine deploy synth`") from None


def _show(change_set: ChangeSet, region: str) -> None:
    from alpha_engine.deploy import render_changes

    new = " (the stack does not exist yet)" if change_set.kind == "CREATE" else ""
    typer.echo(f"stack {change_set.stack_name} in {region}: change set {change_set.name}, "
               f"{change_set.kind}{new}")
    if change_set.empty:
        typer.echo("No changes: the stack already matches this template and these parameters.")
    else:
        typer.echo(render_changes(change_set.changes))


def _followed(stack_name: str, operation: Callable[[], T]) -> T:
    """Run ``operation`` (a wait on CloudFormation); on Ctrl-C say that CloudFormation carries on."""
    try:
        return operation()
    except KeyboardInterrupt:
        err(f"interrupted: CloudFormation carries on with stack {stack_name}; follow it with `aws cloudformation "
            f"describe-stack-events --stack-name {stack_name}` (an update can be stopped with `aws cloudformation "
            f"cancel-update-stack --stack-name {stack_name}`)")
        raise typer.Exit(signal_exit_code(signal.SIGINT)) from None


def _refuse_without_terminal(action: str) -> None:
    raise UsageError(f"{action} asks for confirmation and stdin is not a terminal: pass --yes to {action} "
                     "without asking (`alpha-engine deploy diff` shows the changes first)")


@deploy_app.command("diff")
@command
def diff_cmd(template: Path = TemplateOption, stack_name: str = StackNameOption,
             parameter: list[str] = ParameterOption, template_bucket: str = TemplateBucketOption,
             region: str = RegionOption, endpoint_url: str = EndpointOption,
             poll_interval: float = PollOption, timeout: float = TimeoutOption, as_json: bool = JsonOption) -> None:
    """Show what applying the template would change: create a change set, print its changes
    (action, logical id, type, replacement), delete it. Nothing is executed."""
    body, parameters = _read_template(template), _parse_parameters(parameter)
    stack = _stack(stack_name, region, endpoint_url, poll_interval, timeout)
    change_set = stack.diff(body, parameters, template_bucket=template_bucket)
    if as_json:
        emit_json({"stack": change_set.stack_name, "region": stack.clients.region, "change_set": change_set.name,
                   "kind": change_set.kind, "empty": change_set.empty,
                   "changes": [{"action": c.action, "logical_id": c.logical_id, "type": c.resource_type,
                                "replacement": c.replacement or None} for c in change_set.changes]})
        return
    _show(change_set, stack.clients.region)
    typer.echo("(nothing executed; the change set was deleted)")


@deploy_app.command("apply")
@command
def apply_cmd(template: Path = TemplateOption, stack_name: str = StackNameOption,
              parameter: list[str] = ParameterOption, template_bucket: str = TemplateBucketOption,
              region: str = RegionOption, endpoint_url: str = EndpointOption, yes: bool = YesOption,
              poll_interval: float = PollOption, timeout: float = TimeoutOption) -> None:
    """Create or update the stack: create a change set, show it, ask, execute it, and follow the
    stack's events until it is CREATE_COMPLETE or UPDATE_COMPLETE. Exit 1 with the failed
    resources' reasons and what to do next when it rolls back."""
    body, parameters = _read_template(template), _parse_parameters(parameter)
    if not yes and not _interactive():
        _refuse_without_terminal("apply")
    stack = _stack(stack_name, region, endpoint_url, poll_interval, timeout)
    change_set = stack.prepare(body, parameters, template_bucket=template_bucket)
    _show(change_set, stack.clients.region)
    if change_set.empty:
        stack.discard(change_set)
        typer.echo("Nothing to apply; the change set was deleted.")
        return
    if not yes and not typer.confirm(f"Execute change set {change_set.name} on stack {stack_name}?", default=False):
        stack.discard(change_set)
        typer.echo("Not applied; the change set was deleted.")
        raise typer.Exit(1)
    typer.echo(f"executing change set {change_set.name}:")
    outcome = _followed(stack_name, lambda: stack.execute(change_set))
    typer.echo(f"stack {outcome.stack_name}: {outcome.status}")
    for key, value in outcome.outputs:
        typer.echo(f"  {key} = {value}")


@deploy_app.command("destroy")
@command
def destroy_cmd(stack_name: str = StackNameOption, region: str = RegionOption, endpoint_url: str = EndpointOption,
                yes: bool = YesOption, poll_interval: float = PollOption, timeout: float = TimeoutOption) -> None:
    """Delete the stack and wait for DELETE_COMPLETE; a stack that does not exist is nothing to
    destroy (exit 0). Resources whose DeletionPolicy is Retain (the artifact bucket) stay, and are
    listed with what to do about them."""
    stack = _stack(stack_name, region, endpoint_url, poll_interval, timeout)
    status = stack.status()
    if status is None:
        typer.echo(f"stack {stack_name} does not exist in {stack.clients.region}: nothing to destroy")
        return
    if not yes:
        if not _interactive():
            _refuse_without_terminal("destroy")
        resources = stack.resources()
        kept = [r.logical_id for r in resources if r.retained]
        note = f"; kept (DeletionPolicy Retain): {', '.join(kept)}" if kept else ""
        if not typer.confirm(f"Delete stack {stack_name} ({status}, {len(resources)} resources{note})?",
                             default=False):
            typer.echo("Not destroyed.")
            raise typer.Exit(1)
    typer.echo(f"deleting stack {stack_name}:")
    outcome = _followed(stack_name, stack.destroy)
    if not outcome.existed:
        typer.echo(f"stack {stack_name} does not exist in {stack.clients.region}: nothing to destroy")
        return
    typer.echo(f"stack {stack_name}: DELETE_COMPLETE")
    if outcome.retained:
        typer.echo("retained by DeletionPolicy (they still exist and still cost; delete them by hand when no "
                   "longer needed, a versioned bucket after deleting every object version):")
        for resource in outcome.retained:
            typer.echo(f"  {resource.logical_id}  {resource.resource_type}  {resource.physical_id}")


# -- deploy rerun ------------------------------------------------------------------------------

@deploy_app.command("rerun")
@command
def rerun_cmd(execution_arn: str = typer.Argument(..., help="The failed execution's ARN."),
              start: bool = typer.Option(False, "--start", help="Start the new execution (default: print its "
                                         "input only)."),
              region: str = RegionOption, endpoint_url: str = EndpointOption, as_json: bool = JsonOption,
              config: Path = ConfigOption, workspace: Path = WorkspaceOption) -> None:
    """Continue a failed, timed-out or aborted run on AWS: a new execution with the same run_date and
    the recovery role, skipping every stage that finished (a family only when all of it finished).
    Prints the input; --start starts it."""
    from alpha_engine.deploy import plan_rerun, start_rerun

    _, app = load_configured(config, workspace)
    clients = _clients(region, endpoint_url)
    rerun = plan_rerun(clients.stepfunctions, app.graph, execution_arn)
    started = start_rerun(clients.stepfunctions, rerun) if start else None
    if as_json:
        emit_json({"execution": rerun.execution_arn, "name": rerun.name, "input": rerun.input, "started": started})
        return
    skipped = sorted(key for key, value in rerun.input.items() if key.startswith("skip_") and value is True)
    typer.echo(f"continues {execution_arn} (run_date {rerun.input.get('run_date')}), skipping "
               f"{', '.join(skipped) or 'nothing'}:")
    typer.echo(json.dumps(rerun.input, sort_keys=True))
    if started:
        typer.echo(f"started {started}")
    else:
        typer.echo(f"start it with --start, or: aws stepfunctions start-execution --state-machine-arn "
                   f"{rerun.state_machine_arn} --name {rerun.name} --input '{json.dumps(rerun.input, sort_keys=True)}'")
