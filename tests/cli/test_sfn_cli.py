"""The `alpha-engine sfn` commands, driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    return tmp_path / "ws"


def _write(tmp_path: Path, definition: dict) -> Path:
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(definition))
    return path


def test_run_example_prints_output(workspace: Path) -> None:
    result = runner.invoke(app, ["sfn", "run", str(ROOT / "examples/hello.asl.json"), "--quiet",
                                 "--input", f"@{ROOT / 'examples/hello.input.json'}"])
    assert result.exit_code == 0, result.output
    assert '"count":3' in result.stdout
    assert (workspace / "sfn" / "executions.sqlite3").exists()


def test_validate_reports_every_error_with_a_pointer(tmp_path: Path) -> None:
    bad = _write(tmp_path, {"StartAt": "Missing", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})
    result = runner.invoke(app, ["sfn", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["result"] == "FAIL"
    locations = {d["location"] for d in report["diagnostics"] if d["severity"] == "ERROR"}
    assert "/StartAt" in locations and "/States/A/Next" in locations


def test_validate_ok_exits_zero(tmp_path: Path) -> None:
    ok = _write(tmp_path, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    result = runner.invoke(app, ["sfn", "validate", str(ok)])
    assert result.exit_code == 0 and "OK" in result.stdout


def test_failed_run_exits_one_then_redrive_after_fix(tmp_path: Path, workspace: Path) -> None:
    machine = _write(tmp_path, {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}})
    failed = runner.invoke(app, ["sfn", "run", str(machine), "--quiet", "--name", "first", "--input", "{}"])
    assert failed.exit_code == 1
    described = runner.invoke(app, ["sfn", "executions", "describe", "first", "--json"])
    assert json.loads(described.stdout)["status"] == "FAILED"
    history = runner.invoke(app, ["sfn", "executions", "history", "first", "--json"])
    types = [e["type"] for e in json.loads(history.stdout)["events"]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionFailed"
    redriven = runner.invoke(app, ["sfn", "executions", "redrive", "first", "--quiet"])
    assert redriven.exit_code == 1  # same input, same verdict: still no choice matched
    listed = runner.invoke(app, ["sfn", "executions", "list", "--json"])
    assert json.loads(listed.stdout)[0]["redriveCount"] == 1


def test_bad_input_json_is_a_clear_error(tmp_path: Path, workspace: Path) -> None:
    ok = _write(tmp_path, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    result = runner.invoke(app, ["sfn", "run", str(ok), "--input", "{not json"])
    assert result.exit_code == 64
    assert "--input is not valid JSON" in result.output


def test_unbound_resource_is_rejected_before_running(tmp_path: Path, workspace: Path) -> None:
    machine = _write(tmp_path, {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}})
    result = runner.invoke(app, ["sfn", "run", str(machine), "--quiet"])
    assert result.exit_code == 1
    assert ("Resource 'arn:aws:states:::sqs:sendMessage' has no local binding in this runtime "
            "(at /States/T/Resource)") in result.stderr
    refused = runner.invoke(app, ["sfn", "run", str(machine), "--json"])
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)["error"]
    assert (error["type"], error["exit_code"]) == ("DefinitionInvalid", 1)
    assert error["message"].startswith(f"{machine}: ") and "has no local binding in this runtime" in error["message"]


def test_validate_warns_about_an_unbound_resource_and_exits_zero(tmp_path: Path) -> None:
    machine = _write(tmp_path, {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True},
    }})
    result = runner.invoke(app, ["sfn", "validate", str(machine)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{machine}: OK (0 error(s), 1 warning(s))"]
    assert result.stderr.splitlines() == [
        f"warning: {machine}: Resource 'arn:aws:states:::sqs:sendMessage' has no local binding: AWS accepts it, "
        f"but the local runtime cannot run this state ('alpha-engine sfn run' refuses the definition) "
        f"(at /States/T/Resource)"]
    report = json.loads(runner.invoke(app, ["sfn", "validate", str(machine), "--json"]).stdout)
    assert report["result"] == "OK"
    assert [(d["severity"], d["code"]) for d in report["diagnostics"]] == [("WARNING", "NO_LOCAL_BINDING")]


def test_validate_does_not_warn_about_resources_the_runtime_binds(tmp_path: Path) -> None:
    machine = _write(tmp_path, {"StartAt": "L", "States": {
        "L": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync", "End": True},
    }})
    result = runner.invoke(app, ["sfn", "validate", str(machine)])
    assert result.exit_code == 0 and result.stderr == ""


def test_graph_renders_mermaid_and_dot(tmp_path: Path) -> None:
    for fmt, marker in (("mermaid", "flowchart"), ("dot", "digraph")):
        result = runner.invoke(app, ["sfn", "graph", str(ROOT / "examples/hello.asl.json"), "--format", fmt])
        assert result.exit_code == 0 and marker in result.stdout


def test_every_command_has_help_text() -> None:
    import typer.main

    group = typer.main.get_command(app)

    def walk(command, path):  # type: ignore[no-untyped-def]
        assert command.help, f"{' '.join(path)} has no help text"
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(group, ["alpha-engine"])


def test_a_duplicate_execution_name_is_one_line_naming_aws_error_and_exit_one(tmp_path: Path, workspace: Path) -> None:
    machine = _write(tmp_path, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    first = runner.invoke(app, ["sfn", "run", str(machine), "--name", "weekly", "--quiet"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["sfn", "run", str(machine), "--name", "weekly", "--quiet"])
    assert again.exit_code == 1
    arn = "arn:aws:states:us-east-1:111111111111:execution:StateMachine:weekly"
    assert again.stderr.strip() == f"error: Execution Already Exists: '{arn}'"
