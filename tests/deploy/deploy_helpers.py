"""Helpers of the deploy tests: small templates of resource types moto's CloudFormation creates,
waiting without delay, and a CloudFormation client that plays a script (for what moto cannot do:
fail a stack, take time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from alpha_engine.deploy import Waiting


def no_wait(timeout: float = 50.0) -> Waiting:
    """Polls without sleeping, on a fake clock that ticks once per read (so a timeout is a poll count)."""
    ticks = iter(range(10**6))
    return Waiting(interval=0.0, timeout=timeout, sleep=lambda _: None, clock=lambda: float(next(ticks)))


def template(*, table: bool = False, topic_name: str | None = None, padding: int = 0,
             retain_bucket: bool = True, parameters: dict[str, Any] | None = None) -> bytes:
    """A small stack: a bucket (DeletionPolicy Retain unless told) and a topic; ``table`` adds a
    DynamoDB table, ``topic_name`` a DisplayName (a Modify), ``padding`` that many bytes of metadata."""
    bucket: dict[str, Any] = {"Type": "AWS::S3::Bucket"}
    if retain_bucket:
        bucket["DeletionPolicy"] = "Retain"
    topic: dict[str, Any] = {"Type": "AWS::SNS::Topic"}
    if topic_name is not None:
        topic["Properties"] = {"DisplayName": topic_name}
    resources: dict[str, Any] = {"Artifacts": bucket, "Alerts": topic}
    if table:
        resources["Mutex"] = {"Type": "AWS::DynamoDB::Table", "Properties": {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}}
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources,
                            "Outputs": {"AlertsTopic": {"Value": {"Ref": "Alerts"}}}}
    if parameters:
        body["Parameters"] = parameters
    if padding:
        body["Metadata"] = {"Padding": "x" * padding}
    return json.dumps(body, indent=1, sort_keys=True).encode()


def _missing(name: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}},
                       operation)


class ScriptedCloudFormation:
    """A CloudFormation client whose stack walks through ``statuses`` (one per DescribeStacks after an
    execute or delete) and whose events are ``events`` (added in order, one batch per status step).

    ``initial``: the stack's status before anything (None: no stack). Calls are recorded in ``calls``.
    """

    def __init__(self, name: str, *, initial: str | None, statuses: list[str] | None = None,
                 events: list[list[dict[str, Any]]] | None = None, change_set_status: str = "CREATE_COMPLETE",
                 change_set_reason: str = "", template: dict[str, Any] | None = None) -> None:
        self.name = name
        self.status = initial
        self.script: Iterator[str] = iter(statuses or [])
        self.pending_events: Iterator[list[dict[str, Any]]] = iter(events or [])
        self.events: list[dict[str, Any]] = [self._event("stack-0", name, "AWS::CloudFormation::Stack",
                                                         initial or "REVIEW_IN_PROGRESS")]
        self.running = False
        self.change_set_status = change_set_status
        self.change_set_reason = change_set_reason
        self.template = template or {"Resources": {}}
        self.calls: list[str] = []

    @staticmethod
    def _event(event_id: str, logical: str, kind: str, status: str, reason: str = "") -> dict[str, Any]:
        return {"EventId": event_id, "LogicalResourceId": logical, "ResourceType": kind, "ResourceStatus": status,
                **({"ResourceStatusReason": reason} if reason else {})}

    def _step(self) -> None:
        if self.running:
            step = next(self.script, None)
            if step is None:
                self.running = False
                return
            self.status = step
            for event in next(self.pending_events, []):
                self.events.append(event)

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self.calls.append("describe_stacks")
        self._step()
        if self.status is None or self.status == "DELETE_COMPLETE" and StackName == self.name:
            raise _missing(StackName, "DescribeStacks")
        return {"Stacks": [{"StackName": self.name, "StackId": f"arn:stack/{self.name}/1",
                            "StackStatus": self.status, "Parameters": [], "Outputs": []}]}

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        self.calls.append("describe_stack_events")
        return {"StackEvents": list(reversed(self.events))}

    def create_change_set(self, **request: Any) -> dict[str, Any]:
        self.calls.append(f"create_change_set {request['ChangeSetType']}")
        if self.status is None:
            self.status = "REVIEW_IN_PROGRESS"
        return {"Id": f"arn:changeSet/{request['ChangeSetName']}/1", "StackId": f"arn:stack/{self.name}/1"}

    def describe_change_set(self, ChangeSetName: str, NextToken: str | None = None) -> dict[str, Any]:
        self.calls.append("describe_change_set")
        return {"ChangeSetName": ChangeSetName.split("/")[1], "StackId": f"arn:stack/{self.name}/1",
                "Status": self.change_set_status, "StatusReason": self.change_set_reason,
                "Changes": [{"Type": "Resource", "ResourceChange": {
                    "Action": "Add", "LogicalResourceId": "Artifacts", "ResourceType": "AWS::S3::Bucket"}}]}

    def delete_change_set(self, ChangeSetName: str) -> None:
        self.calls.append("delete_change_set")

    def execute_change_set(self, ChangeSetName: str) -> None:
        self.calls.append("execute_change_set")
        self.running = True

    def delete_stack(self, StackName: str) -> None:
        self.calls.append("delete_stack")
        self.running = True

    def get_template(self, StackName: str) -> dict[str, Any]:
        return {"TemplateBody": self.template}

    def list_stack_resources(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        return {"StackResourceSummaries": []}


def event(event_id: str, logical: str, kind: str, status: str, reason: str = "") -> dict[str, Any]:
    """One stack event as DescribeStackEvents returns it."""
    return ScriptedCloudFormation._event(event_id, logical, kind, status, reason)


NAME = "ae-scripted"

# A first creation that fails on the bucket and rolls back (ScriptedCloudFormation's keyword arguments).
ROLLED_BACK_CREATE: dict[str, Any] = dict(
    initial=None,
    statuses=["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"],
    events=[[event("e1", NAME, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated")],
            [event("e2", "Artifacts", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
             event("e3", "Artifacts", "AWS::S3::Bucket", "CREATE_FAILED", "ae-artifacts already exists")],
            [event("e4", NAME, "AWS::CloudFormation::Stack", "ROLLBACK_IN_PROGRESS",
                   "The following resource(s) failed to create: [Artifacts].")],
            [event("e5", NAME, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE")]],
)

