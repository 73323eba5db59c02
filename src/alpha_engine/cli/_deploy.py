"""``alpha-engine deploy``: the CloudFormation template of the configured pipeline, and the stack
operations that put it into an AWS account (docs/deploy.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from ._common import ConfigOption, WorkspaceOption, command, err, load_configured

__all__ = ["deploy_app"]

deploy_app = typer.Typer(help="Deploy to AWS: generate the CloudFormation template, diff, apply, destroy.",
                         no_args_is_help=True)

TEMPLATE_NAME = "template.json"


@deploy_app.command("synth")
@command
def synth_cmd(
    out: Path = typer.Option(Path("deploy-out"), "--out", "-o", help="Directory to write template.json into."),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Generate the CloudFormation template: the state machine (the committed definition, its names
    filled by DefinitionSubstitutions), a Lambda function or Batch job definition per stage, the
    bucket, mutex table, topics, schedules, alarms and least-privilege roles."""
    from alpha_engine.deploy import synthesize

    settings, app = load_configured(config, workspace)
    template = synthesize(settings, app)
    out.mkdir(parents=True, exist_ok=True)
    target = out / TEMPLATE_NAME
    temp = target.with_name(f".tmp-{TEMPLATE_NAME}")
    temp.write_text(template.text(), encoding="utf-8")
    temp.replace(target)
    kinds = Counter(resource["Type"] for resource in template.body["Resources"].values())
    err(f"wrote {target} ({len(template.text().encode()):,} bytes, {sum(kinds.values())} resources)")
    for kind, count in sorted(kinds.items()):
        err(f"  {count:3d}  {kind}")
    for line in template.warnings:
        err(f"warning: {line}")
    err(f"next: alpha-engine deploy diff --template {target} --stack-name alpha-engine (docs/deploy.md)")
