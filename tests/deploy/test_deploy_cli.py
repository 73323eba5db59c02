"""``alpha-engine deploy diff|apply|destroy`` against moto's CloudFormation, and on a scripted
client for a stack left ROLLBACK_COMPLETE."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import moto_server
from alpha_engine.cli import _deploy, app
from alpha_engine.deploy import AwsClients

from .deploy_helpers import NAME, ROLLED_BACK_CREATE, ScriptedCloudFormation, template

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"v1": tmp_path / "v1.json", "v2": tmp_path / "v2.json", "big": tmp_path / "big.json"}
    out["v1"].write_bytes(template())
    out["v2"].write_bytes(template(table=True, topic_name="alerts"))
    out["big"].write_bytes(template(padding=150_000))
    return out


def _run(*args: str, input: str | None = None) -> Any:
    return runner.invoke(app, ["deploy", *args], input=input)


def test_apply_diff_update_and_destroy_a_stack(files: dict[str, Path], stack_name: str, aws_cli: list[str]) -> None:
    created = _run("apply", "-t", str(files["v1"]), "--stack-name", stack_name, "--yes", *aws_cli)
    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()
    assert lines[0] == (f"stack {stack_name} in us-east-1: change set "
                        f"{lines[0].split('change set ')[1].split(',')[0]}, CREATE (the stack does not exist yet)")
    assert lines[1].split() == ["ACTION", "LOGICAL", "ID", "TYPE", "REPLACEMENT"]
    assert "2 changes: 2 Add" in lines and lines[-1] == f"stack {stack_name}: CREATE_COMPLETE"
    assert any(line.split()[:2] == ["CREATE_COMPLETE", stack_name] for line in lines)  # an event as it arrived

    diff = _run("diff", "-t", str(files["v2"]), "--stack-name", stack_name, *aws_cli)
    assert diff.exit_code == 0, diff.output
    rows = [line.split() for line in diff.stdout.splitlines()]
    assert ["Add", "Mutex", "AWS::DynamoDB::Table", "-"] in rows and ["Modify", "Alerts", "AWS::SNS::Topic", "-"] in rows
    assert diff.stdout.splitlines()[-1] == "(nothing executed; the change set was deleted)"

    updated = _run("apply", "-t", str(files["v2"]), "--stack-name", stack_name, "--yes", *aws_cli)
    assert updated.exit_code == 0, updated.output
    assert ", UPDATE" in updated.stdout.splitlines()[0] and updated.stdout.splitlines()[-1].endswith("UPDATE_COMPLETE")

    same = _run("diff", "-t", str(files["v2"]), "--stack-name", stack_name, *aws_cli)
    assert same.exit_code == 0, same.output
    assert "No changes: the stack already matches this template and these parameters." in same.stdout
    again = _run("apply", "-t", str(files["v2"]), "--stack-name", stack_name, "--yes", *aws_cli)
    assert again.exit_code == 0 and again.stdout.splitlines()[-1] == "Nothing to apply; the change set was deleted."

    destroyed = _run("destroy", "--stack-name", stack_name, "--yes", *aws_cli)
    assert destroyed.exit_code == 0, destroyed.output
    out = destroyed.stdout.splitlines()
    assert f"stack {stack_name}: DELETE_COMPLETE" in out
    assert out[-1].split()[:2] == ["Artifacts", "AWS::S3::Bucket"] and "retained by DeletionPolicy" in out[-2]


def test_destroying_a_missing_stack_is_exit_0(stack_name: str, aws_cli: list[str]) -> None:
    result = _run("destroy", "--stack-name", stack_name, *aws_cli)  # no --yes needed: nothing to ask
    assert result.exit_code == 0, result.output
    assert result.stdout == f"stack {stack_name} does not exist in us-east-1: nothing to destroy\n"


def test_apply_without_yes_and_without_a_terminal_is_refused_before_any_call(
        files: dict[str, Path], stack_name: str, aws_cli: list[str], clients: AwsClients) -> None:
    result = _run("apply", "-t", str(files["v1"]), "--stack-name", stack_name, *aws_cli)
    assert result.exit_code == 64
    assert "apply asks for confirmation and stdin is not a terminal: pass --yes" in result.stderr
    assert not clients.cloudformation.list_stacks()["StackSummaries"] or stack_name not in {
        s["StackName"] for s in clients.cloudformation.list_stacks()["StackSummaries"]}


def test_destroy_without_yes_and_without_a_terminal_is_refused(files: dict[str, Path], stack_name: str,
                                                                aws_cli: list[str]) -> None:
    assert _run("apply", "-t", str(files["v1"]), "--stack-name", stack_name, "--yes", *aws_cli).exit_code == 0
    result = _run("destroy", "--stack-name", stack_name, *aws_cli)
    assert result.exit_code == 64 and "destroy asks for confirmation" in result.stderr


def test_at_a_terminal_apply_asks_and_a_no_deletes_the_change_set(files: dict[str, Path], stack_name: str,
                                                                  aws_cli: list[str], clients: AwsClients,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_deploy, "_interactive", lambda: True)
    declined = _run("apply", "-t", str(files["v1"]), "--stack-name", stack_name, *aws_cli, input="n\n")
    assert declined.exit_code == 1
    assert "Execute change set alpha-engine-" in declined.stdout and "2 changes: 2 Add" in declined.stdout
    assert declined.stdout.splitlines()[-1] == "Not applied; the change set was deleted."
    assert stack_name not in {s["StackName"] for s in clients.cloudformation.list_stacks()["StackSummaries"]
                              if s["StackStatus"] != "DELETE_COMPLETE"}
    accepted = _run("apply", "-t", str(files["v1"]), "--stack-name", stack_name, *aws_cli, input="y\n")
    assert accepted.exit_code == 0 and accepted.stdout.splitlines()[-1] == f"stack {stack_name}: CREATE_COMPLETE"
    asked = _run("destroy", "--stack-name", stack_name, *aws_cli, input="y\n")
    assert asked.exit_code == 0
    assert f"Delete stack {stack_name} (CREATE_COMPLETE, 2 resources; kept (DeletionPolicy Retain): Artifacts)?" \
        in asked.stdout


def test_a_large_template_needs_the_bucket_and_goes_through_it(files: dict[str, Path], stack_name: str,
                                                               aws_cli: list[str], clients: AwsClients) -> None:
    refused = _run("diff", "-t", str(files["big"]), "--stack-name", stack_name, *aws_cli)
    assert refused.exit_code == 64
    assert "over CloudFormation's 51,200 for an inline body: pass --template-bucket BUCKET" in refused.stderr
    bucket = moto_server.fresh_bucket("templates")
    result = _run("apply", "-t", str(files["big"]), "--stack-name", stack_name, "--template-bucket", bucket,
                  "--yes", *aws_cli)
    assert result.exit_code == 0, result.output
    digest = hashlib.sha256(files["big"].read_bytes()).hexdigest()
    assert [o["Key"] for o in clients.s3.list_objects_v2(Bucket=bucket)["Contents"]] == [
        f"templates/{stack_name}/{digest}.json"]


def test_a_stack_left_rolled_back_is_named_at_the_start_of_apply(files: dict[str, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = ScriptedCloudFormation("ae-failed", initial="ROLLBACK_COMPLETE")
    monkeypatch.setattr(_deploy, "_clients", lambda region, endpoint: AwsClients(scripted, None, "eu-west-1"))
    result = _run("apply", "-t", str(files["v1"]), "--stack-name", "ae-failed", "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: stack ae-failed is ROLLBACK_COMPLETE: its creation failed and was "
                                    "rolled back; such a stack cannot be updated: run `alpha-engine deploy destroy "
                                    "--stack-name ae-failed`, then apply again")


def test_a_failed_apply_exits_1_with_the_reasons(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    scripted = ScriptedCloudFormation(NAME, **ROLLED_BACK_CREATE)
    monkeypatch.setattr(_deploy, "_clients", lambda region, endpoint: AwsClients(scripted, None, "eu-west-1"))
    result = _run("apply", "-t", str(files["v1"]), "--stack-name", "ae-scripted", "--yes", "--poll-interval", "0")
    assert result.exit_code == 1
    assert "  CREATE_FAILED                Artifacts  AWS::S3::Bucket  ae-artifacts already exists" in result.stdout
    assert "error: stack ae-scripted ended ROLLBACK_COMPLETE:\n  Artifacts (AWS::S3::Bucket) CREATE_FAILED: " \
           "ae-artifacts already exists\nnext: its creation failed" in result.stderr


def test_no_credentials_is_one_line_naming_what_to_set(files: dict[str, Path], stack_name: str,
                                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                     "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance metadata endpoint
    result = _run("diff", "-t", str(files["v1"]), "--stack-name", stack_name, "--region", "us-east-1",
                  "--endpoint-url", moto_server.endpoint())
    assert result.exit_code == 1
    assert result.stderr == (f"error: stack {stack_name}: creating a change set: no AWS credentials found: set AWS_PROFILE "
                             "(a profile from ~/.aws/config, e.g. after `aws sso login`) or AWS_ACCESS_KEY_ID and "
                             "AWS_SECRET_ACCESS_KEY\n")


@pytest.mark.parametrize(("args", "message"), [
    (["--parameter", "ImageUri"], "--parameter must be Key=Value, got 'ImageUri'"),
    (["-p", "A=1", "-p", "A=2"], "--parameter A is given twice"),
])
def test_a_bad_parameter_is_a_usage_error(files: dict[str, Path], args: list[str], message: str) -> None:
    result = _run("diff", "-t", str(files["v1"]), *args)
    assert result.exit_code == 64 and message in result.stderr


def test_a_missing_template_file_names_synth(tmp_path: Path) -> None:
    result = _run("diff", "-t", str(tmp_path / "nope.json"))
    assert result.exit_code == 64
    assert f"--template {tmp_path / 'nope.json'}: cannot read it" in result.stderr
    assert "alpha-engine deploy synth" in result.stderr


def test_no_region_is_one_line_naming_the_option(stack_name: str, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = _run("destroy", "--stack-name", stack_name)
    assert result.exit_code == 1
    assert result.stderr == ("error: creating the AWS clients: no AWS region: pass --region or set AWS_REGION "
                             "(or AWS_DEFAULT_REGION, or region in ~/.aws/config)\n")


def test_a_bad_stack_name_is_a_usage_error() -> None:
    result = _run("destroy", "--stack-name", "alpha_engine")
    assert result.exit_code == 64
    assert "--stack-name must start with a letter and hold only letters, digits and hyphens" in result.stderr


def test_ctrl_c_while_waiting_says_cloudformation_carries_on(files: dict[str, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    class Interrupted(ScriptedCloudFormation):
        def execute_change_set(self, ChangeSetName: str) -> None:
            super().execute_change_set(ChangeSetName)
            self.describe_stacks = self.interrupt  # type: ignore[method-assign]

        def interrupt(self, StackName: str) -> dict[str, Any]:
            raise KeyboardInterrupt  # Ctrl-C while waiting

    scripted = Interrupted("ae-slow", initial=None, statuses=["CREATE_IN_PROGRESS"])
    monkeypatch.setattr(_deploy, "_clients", lambda region, endpoint: AwsClients(scripted, None, "eu-west-1"))
    result = _run("apply", "-t", str(files["v1"]), "--stack-name", "ae-slow", "--yes", "--poll-interval", "1")
    assert result.exit_code == 130
    assert result.stderr.startswith("interrupted: CloudFormation carries on with stack ae-slow; follow it with")


def test_diff_json_lists_the_changes(files: dict[str, Path], stack_name: str, aws_cli: list[str]) -> None:
    import json

    result = _run("diff", "-t", str(files["v1"]), "--stack-name", stack_name, "--json", *aws_cli)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["change_set"].startswith("alpha-engine-")
    assert {k: v for k, v in found.items() if k != "change_set"} == {
        "stack": stack_name, "region": "us-east-1", "kind": "CREATE", "empty": False, "changes": [
            {"action": "Add", "logical_id": "Alerts", "type": "AWS::SNS::Topic", "replacement": None},
            {"action": "Add", "logical_id": "Artifacts", "type": "AWS::S3::Bucket", "replacement": None}]}


def test_diff_json_failure_is_one_error_object(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    scripted = ScriptedCloudFormation("ae-big", initial=None)
    monkeypatch.setattr(_deploy, "_clients", lambda region, endpoint: AwsClients(scripted, None, "eu-west-1"))
    result = _run("diff", "-t", str(files["big"]), "--stack-name", "ae-big", "--json")
    assert result.exit_code == 64
    assert json.loads(result.stdout)["error"]["type"] == "TemplateError"
    assert scripted.calls == []  # refused before any AWS call
