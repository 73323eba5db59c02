"""The local runtime: bindings wired to a workspace, nested executions."""

from __future__ import annotations

from pathlib import Path

from alpha_engine.sfn import FakeClock, LocalRuntime, RuntimeConfig

CHILD = {"StartAt": "Double", "States": {"Double": {
    "Type": "Pass", "Parameters": {"v.$": "States.MathAdd($.x, $.x)"}, "End": True}}}


def _runtime(tmp_path: Path) -> LocalRuntime:
    config = RuntimeConfig(workspace=tmp_path / "ws", seed=1, state_machines={"Child": CHILD})
    return LocalRuntime(config, clock=FakeClock())


def test_nested_sync2_execution_returns_the_child_output(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    parent = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:Child",
                       "Input": {"x.$": "$.n"}},
        "ResultSelector": {"out.$": "$.Output"}, "End": True}}}
    result = runtime.start(parent, {"n": 21})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {"out": {"v": 42}}
    assert len(runtime.store.list_executions()) == 2


def test_sns_publish_lands_in_the_workspace_outbox(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    machine = {"StartAt": "Notify", "States": {"Notify": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:111111111111:alerts", "Subject": "done",
                       "Message.$": "$.msg"}, "End": True}}}
    result = runtime.start(machine, {"msg": "weekly run finished"})
    assert result.status == "SUCCEEDED", result.cause
    outbox = (tmp_path / "ws" / "notifications" / "outbox.jsonl").read_text()
    assert "weekly run finished" in outbox and "done" in outbox


def test_unknown_child_state_machine_fails_the_task(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path)
    parent = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:111111111111:stateMachine:Nope"},
        "End": True}}}
    result = runtime.start(parent, {})
    assert result.status == "FAILED"
    assert result.error == "StepFunctions.StateMachineDoesNotExistException"
