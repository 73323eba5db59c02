"""What moto cannot do, on a scripted CloudFormation client: a stack that fails and rolls back, one
that takes time (events arrive over several polls), a timeout, states a change set cannot start
from, and botocore's errors turned into one-line messages."""

from __future__ import annotations

from typing import Any

import botocore.exceptions as bce
import pytest

from alpha_engine.deploy import (
    AwsClients,
    Stack,
    StackError,
    StackEvent,
    StackFailedError,
    StackStateError,
    StackTimeoutError,
)
from alpha_engine.deploy._aws import aws_errors

from .deploy_helpers import NAME, ROLLED_BACK_CREATE, ScriptedCloudFormation, event, no_wait, template


def _stack(cf: Any, events: list[StackEvent] | None = None, timeout: float = 50.0) -> Stack:
    return Stack(NAME, AwsClients(cloudformation=cf, s3=None, region="us-east-1"), waiting=no_wait(timeout),
                 on_event=None if events is None else events.append, change_set_name=lambda: "alpha-engine-1")


def test_a_failed_create_names_the_failed_resource_and_says_destroy_first() -> None:
    cf = ScriptedCloudFormation(NAME, **ROLLED_BACK_CREATE)
    stack = _stack(cf)
    with pytest.raises(StackFailedError) as caught:
        stack.execute(stack.prepare(template()))
    assert caught.value.status == "ROLLBACK_COMPLETE"
    assert caught.value.reasons == ("Artifacts (AWS::S3::Bucket) CREATE_FAILED: ae-artifacts already exists",)
    message = str(caught.value)
    assert message.startswith(f"stack {NAME} ended ROLLBACK_COMPLETE:\n  Artifacts (AWS::S3::Bucket) CREATE_FAILED")
    assert f"alpha-engine deploy destroy --stack-name {NAME}`, then apply again" in message


def test_events_arrive_in_order_each_once_across_polls() -> None:
    cf = ScriptedCloudFormation(NAME, **ROLLED_BACK_CREATE)
    seen: list[StackEvent] = []
    stack = _stack(cf, seen)
    with pytest.raises(StackFailedError):
        stack.execute(stack.prepare(template()))
    assert [e.event_id for e in seen] == ["e1", "e2", "e3", "e4", "e5"]


@pytest.mark.parametrize("status", ["ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"])
def test_a_stack_left_by_a_failed_create_is_detected_before_any_change_set(status: str) -> None:
    cf = ScriptedCloudFormation(NAME, initial=status)
    with pytest.raises(StackStateError, match=f"stack {NAME} is {status}: .*alpha-engine deploy destroy "
                                              f"--stack-name {NAME}"):
        _stack(cf).prepare(template())
    assert not any(c.startswith("create_change_set") for c in cf.calls)


def test_an_update_rollback_failed_stack_names_continue_update_rollback() -> None:
    cf = ScriptedCloudFormation(NAME, initial="UPDATE_ROLLBACK_FAILED")
    with pytest.raises(StackStateError, match=f"continue-update-rollback --stack-name {NAME}"):
        _stack(cf).diff(template())


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "CREATE_IN_PROGRESS"])
def test_a_stack_busy_with_another_operation_is_refused(status: str) -> None:
    with pytest.raises(StackStateError, match=f"is {status}: another operation is running on it"):
        _stack(ScriptedCloudFormation(NAME, initial=status)).prepare(template())
    with pytest.raises(StackStateError, match=f"is {status}: another operation"):
        _stack(ScriptedCloudFormation(NAME, initial=status)).destroy()


def test_a_stack_left_in_review_gets_a_create_change_set() -> None:
    cf = ScriptedCloudFormation(NAME, initial="REVIEW_IN_PROGRESS")
    assert _stack(cf).prepare(template()).kind == "CREATE"
    assert "create_change_set CREATE" in cf.calls


def test_a_rolled_back_update_says_the_previous_template_still_runs() -> None:
    cf = ScriptedCloudFormation(NAME, initial="UPDATE_COMPLETE", statuses=[
        "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"], events=[
        [], [event("u1", "Mutex", "AWS::DynamoDB::Table", "UPDATE_FAILED", "KeySchema cannot change")]])
    stack = _stack(cf)
    change_set = stack.prepare(template())
    assert change_set.kind == "UPDATE"
    with pytest.raises(StackFailedError, match="(?s)Mutex .*UPDATE_FAILED: KeySchema cannot change.*"
                                               "runs its previous template"):
        stack.execute(change_set)


def test_waiting_past_the_timeout_says_cloudformation_carries_on() -> None:
    cf = ScriptedCloudFormation(NAME, initial=None, statuses=["CREATE_IN_PROGRESS"] * 100)
    stack = _stack(cf, timeout=5)
    with pytest.raises(StackTimeoutError, match="still not done after 5 s; CloudFormation carries on"):
        stack.execute(stack.prepare(template()))


def test_waiting_sleeps_the_interval_between_polls() -> None:
    from alpha_engine.deploy import Waiting

    slept: list[float] = []
    ticks = iter(range(100))
    waiting = Waiting(interval=2.5, timeout=50, sleep=slept.append, clock=lambda: float(next(ticks)))
    cf = ScriptedCloudFormation(NAME, initial=None, statuses=["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS",
                                                              "CREATE_COMPLETE"])
    stack = Stack(NAME, AwsClients(cf, None, "us-east-1"), waiting=waiting, change_set_name=lambda: "alpha-engine-1")
    assert stack.execute(stack.prepare(template())).status == "CREATE_COMPLETE"
    assert slept == [2.5, 2.5]  # three polls, a pause between each two


def test_a_change_set_failing_for_another_reason_is_an_error() -> None:
    cf = ScriptedCloudFormation(NAME, initial=None, change_set_status="FAILED",
                                change_set_reason="Template format error: Unresolved resource dependencies [X]")
    with pytest.raises(StackError, match="change set alpha-engine-1 failed: Template format error: Unresolved"):
        _stack(cf).diff(template())


@pytest.mark.parametrize("reason", [
    "The submitted information didn't contain changes. Submit different information to create a change set.",
    "No updates are to be performed.",
])
def test_either_no_change_reason_is_an_empty_change_set(reason: str) -> None:
    cf = ScriptedCloudFormation(NAME, initial="CREATE_COMPLETE", change_set_status="FAILED", change_set_reason=reason)
    assert _stack(cf).diff(template()).empty


def test_an_empty_change_set_cannot_be_executed() -> None:
    cf = ScriptedCloudFormation(NAME, initial="CREATE_COMPLETE", change_set_status="FAILED",
                                change_set_reason="No updates are to be performed.")
    stack = _stack(cf)
    with pytest.raises(StackError, match="has no changes; nothing to execute"):
        stack.execute(stack.prepare(template()))
    assert "execute_change_set" not in cf.calls


def test_the_outputs_are_reported_sorted() -> None:
    cf = ScriptedCloudFormation(NAME, initial=None, statuses=["CREATE_COMPLETE"])
    original = cf.describe_stacks

    def with_outputs(StackName: str) -> dict[str, Any]:
        found = original(StackName)
        found["Stacks"][0]["Outputs"] = [{"OutputKey": "Topic", "OutputValue": "arn:t"},
                                         {"OutputKey": "Bucket", "OutputValue": "b"}]
        return found

    cf.describe_stacks = with_outputs  # type: ignore[method-assign]
    stack = _stack(cf)
    assert stack.execute(stack.prepare(template())).outputs == (("Bucket", "b"), ("Topic", "arn:t"))


def test_a_failed_delete_explains_the_versioned_bucket() -> None:
    cf = ScriptedCloudFormation(NAME, initial="CREATE_COMPLETE", statuses=["DELETE_IN_PROGRESS", "DELETE_FAILED"],
                                events=[[], [event("d1", "Artifacts", "AWS::S3::Bucket", "DELETE_FAILED",
                                                   "The bucket you tried to delete is not empty")]])
    with pytest.raises(StackFailedError, match="(?s)Artifacts .*DELETE_FAILED: The bucket you tried to delete is "
                                               "not empty.*versioned S3 bucket.*every object version"):
        _stack(cf).destroy()


def test_a_delete_ends_when_the_stack_is_gone() -> None:
    cf = ScriptedCloudFormation(NAME, initial="UPDATE_ROLLBACK_COMPLETE", statuses=["DELETE_IN_PROGRESS",
                                                                                     "DELETE_COMPLETE"])
    assert _stack(cf).destroy().existed


# -- botocore's errors, translated at one boundary (deploy._aws.aws_errors) ----------------------

def _client_error(code: str, message: str = "m") -> bce.ClientError:
    return bce.ClientError({"Error": {"Code": code, "Message": message}}, "CreateChangeSet")


@pytest.mark.parametrize(("raised", "expected"), [
    (bce.NoCredentialsError(), "doing it: no AWS credentials found: set AWS_PROFILE"),
    (bce.NoRegionError(), "doing it: no AWS region: pass --region or set AWS_REGION"),
    (bce.EndpointConnectionError(endpoint_url="https://cloudformation.x.amazonaws.com"),
     "doing it: cannot reach https://cloudformation.x.amazonaws.com; check"),
    (_client_error("ExpiredToken", "The security token included in the request is expired"),
     "doing it: AWS refused the credentials (ExpiredToken: The security token"),
    (_client_error("AccessDenied", "User x is not authorized to perform: cloudformation:CreateChangeSet"),
     "doing it: AccessDenied: User x is not authorized to perform: cloudformation:CreateChangeSet"),
    (bce.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "doing it: Partial credentials"),
])
def test_botocore_errors_become_one_line_stack_errors(raised: Exception, expected: str) -> None:
    with pytest.raises(StackError) as caught, aws_errors("doing it"):
        raise raised
    assert str(caught.value).startswith(expected) and "\n" not in str(caught.value)


def test_every_botocore_error_class_is_caught_by_the_boundary() -> None:
    # the boundary's last clauses catch ClientError and BotoCoreError: every botocore error is one of
    # them, except two about botocore's own service models (a bug there keeps its traceback)
    errors = [cls for cls in vars(bce).values() if isinstance(cls, type) and issubclass(cls, Exception)
              and not issubclass(cls, Warning) and cls.__module__ == bce.__name__]
    assert len(errors) > 50
    uncaught = sorted(cls.__name__ for cls in errors if not issubclass(cls, bce.BotoCoreError | bce.ClientError))
    assert uncaught == ["MissingServiceIdError", "UndefinedModelAttributeError"]


def test_an_error_that_is_not_botocore_passes_through() -> None:
    with pytest.raises(KeyError), aws_errors("doing it"):
        raise KeyError("a bug shows its traceback")


def test_a_stack_without_a_template_yet_is_destroyed_with_nothing_retained() -> None:
    class Review(ScriptedCloudFormation):
        def get_template(self, StackName: str) -> dict[str, Any]:
            raise _client_error("ValidationError", "Stack with id x has no template")  # REVIEW_IN_PROGRESS

    cf = Review(NAME, initial="REVIEW_IN_PROGRESS", statuses=["DELETE_COMPLETE"])
    outcome = _stack(cf).destroy()
    assert outcome.existed and outcome.retained == ()


def test_destroy_reports_the_resources_the_template_retains() -> None:
    class Listed(ScriptedCloudFormation):
        def list_stack_resources(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
            rows = [("Queue", "AWS::SQS::Queue", "q"), ("Artifacts", "AWS::S3::Bucket", "ae-artifacts"),
                    ("Logs", "AWS::Logs::LogGroup", "/ae")]
            return {"StackResourceSummaries": [{"LogicalResourceId": a, "ResourceType": b, "PhysicalResourceId": c}
                                               for a, b, c in rows]}

    cf = Listed(NAME, initial="CREATE_COMPLETE", statuses=["DELETE_COMPLETE"], template={"Resources": {
        "Artifacts": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        "Logs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate"},
        "Queue": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete"}}})
    retained = _stack(cf).destroy().retained
    assert [(r.logical_id, r.physical_id) for r in retained] == [("Artifacts", "ae-artifacts"), ("Logs", "/ae")]
