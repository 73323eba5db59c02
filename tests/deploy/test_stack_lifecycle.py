"""The stack operations against moto's CloudFormation: create, update, no change, destroy, a large
template through TemplateURL, and the parameters a change set gets."""

from __future__ import annotations

import hashlib
import json

import pytest

import moto_server
from alpha_engine.deploy import (
    MAX_TEMPLATE_BODY_BYTES,
    AwsClients,
    Change,
    Stack,
    StackError,
    StackEvent,
    TemplateError,
    change_set_name,
    template_key,
)

from .deploy_helpers import no_wait, template


def _stack(name: str, clients: AwsClients, events: list[StackEvent] | None = None) -> Stack:
    return Stack(name, clients, waiting=no_wait(), on_event=None if events is None else events.append,
                 change_set_name=lambda: "alpha-engine-20261205T061500Z")


def _changes(changes: tuple[Change, ...]) -> list[tuple[str, str, str]]:
    return sorted((c.action, c.logical_id, c.resource_type) for c in changes)


def test_diff_of_a_new_stack_lists_additions_and_leaves_no_stack(stack_name: str, clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    change_set = stack.diff(template())
    assert change_set.kind == "CREATE" and not change_set.empty
    assert _changes(change_set.changes) == [("Add", "Alerts", "AWS::SNS::Topic"), ("Add", "Artifacts", "AWS::S3::Bucket")]
    assert stack.status() is None  # the REVIEW_IN_PROGRESS stack the change set made is gone too


def test_apply_creates_the_stack_and_reports_its_events(stack_name: str, clients: AwsClients) -> None:
    # (moto gives a stack made through a change set no Outputs: tests/deploy/test_stack_failures.py covers them)
    events: list[StackEvent] = []
    stack = _stack(stack_name, clients, events)
    change_set = stack.prepare(template())
    outcome = stack.execute(change_set)
    assert outcome.status == "CREATE_COMPLETE" == stack.status()
    assert events and events[-1].status == "CREATE_COMPLETE" and events[-1].logical_id == stack_name
    assert all(e.status != "REVIEW_IN_PROGRESS" for e in events)  # only what happened after execute


def test_update_diff_shows_modify_and_add_then_apply_updates(stack_name: str, clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(template()))
    changed = template(table=True, topic_name="alerts")
    change_set = stack.diff(changed)
    assert change_set.kind == "UPDATE"
    # moto also reports the unchanged bucket as Modify; AWS would not
    assert {("Add", "Mutex", "AWS::DynamoDB::Table"), ("Modify", "Alerts", "AWS::SNS::Topic")} \
        <= set(_changes(change_set.changes))
    assert {c.action for c in change_set.changes} == {"Add", "Modify"}
    assert stack.status() == "CREATE_COMPLETE"  # diff executed nothing
    assert stack.execute(stack.prepare(changed)).status == "UPDATE_COMPLETE"
    assert "Mutex" in {r.logical_id for r in stack.resources()}


def test_an_unchanged_template_is_an_empty_change_set_not_an_error(stack_name: str, clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(template()))
    change_set = stack.diff(template())
    assert change_set.empty and change_set.changes == ()
    assert not any(s["Status"] == "CREATE_COMPLETE" and s["ExecutionStatus"] == "AVAILABLE"
                   for s in clients.cloudformation.list_change_sets(StackName=stack_name)["Summaries"])


def test_destroy_deletes_the_stack_and_reports_the_retained_bucket(stack_name: str, clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(template()))
    bucket = next(r.physical_id for r in stack.resources() if r.logical_id == "Artifacts")
    outcome = stack.destroy()
    assert outcome.existed and stack.status() is None
    assert [(r.logical_id, r.resource_type, r.physical_id) for r in outcome.retained] == [
        ("Artifacts", "AWS::S3::Bucket", bucket)]
    assert bucket in {b["Name"] for b in clients.s3.list_buckets()["Buckets"]}  # Retain kept it


def test_destroy_without_retained_resources_reports_none(stack_name: str, clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(template(retain_bucket=False)))
    assert stack.destroy().retained == ()


def test_destroying_a_missing_stack_is_nothing_to_do(stack_name: str, clients: AwsClients) -> None:
    outcome = _stack(stack_name, clients).destroy()
    assert not outcome.existed and outcome.retained == ()


def test_a_large_template_goes_through_the_bucket_by_its_digest(stack_name: str, clients: AwsClients) -> None:
    bucket = moto_server.fresh_bucket("templates")
    body = template(padding=150_000)
    assert len(body) > MAX_TEMPLATE_BODY_BYTES
    stack = _stack(stack_name, clients)
    assert stack.execute(stack.prepare(body, template_bucket=bucket)).status == "CREATE_COMPLETE"
    key = f"templates/{stack_name}/{hashlib.sha256(body).hexdigest()}.json"
    assert key == template_key(stack_name, body)
    assert clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert clients.cloudformation.get_template(StackName=stack_name)["TemplateBody"]["Metadata"]["Padding"] \
        == "x" * 150_000


def test_a_large_template_without_a_bucket_is_refused_before_any_call(stack_name: str) -> None:
    body = template(padding=MAX_TEMPLATE_BODY_BYTES)
    no_calls = AwsClients(cloudformation=None, s3=None, region="us-east-1")  # any call would fail
    with pytest.raises(TemplateError, match=rf"stack {stack_name}: the template is {len(body):,} bytes, over "
                                            r"CloudFormation's 51,200 .*--template-bucket"):
        _stack(stack_name, no_calls).diff(body)


def test_a_template_at_the_limit_goes_inline(stack_name: str, clients: AwsClients) -> None:
    base = len(template(padding=1))
    body = template(padding=MAX_TEMPLATE_BODY_BYTES - base + 1)
    assert len(body) == MAX_TEMPLATE_BODY_BYTES
    assert not _stack(stack_name, clients).diff(body).empty


PARAMS = {"ImageUri": {"Type": "String"}, "AlertEmail": {"Type": "String", "Default": ""}}


def test_parameters_are_sent_and_an_omitted_one_keeps_its_previous_value(stack_name: str,
                                                                         clients: AwsClients) -> None:
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(template(parameters=PARAMS), {"ImageUri": "repo:1", "AlertEmail": "a@b.c"}))
    stack.execute(stack.prepare(template(parameters=PARAMS, table=True), {"AlertEmail": "d@e.f"}))
    described = clients.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["Parameters"]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described} == {"ImageUri": "repo:1",
                                                                          "AlertEmail": "d@e.f"}


def test_an_undeclared_parameter_is_refused_before_any_call(stack_name: str) -> None:
    no_calls = AwsClients(cloudformation=None, s3=None, region="us-east-1")
    with pytest.raises(TemplateError, match="parameter ImageUrl is not declared .*declares: AlertEmail, ImageUri"):
        _stack(stack_name, no_calls).diff(template(parameters=PARAMS), {"ImageUrl": "x", "ImageUri": "y"})
    with pytest.raises(TemplateError, match=r"parameter X is not declared by the template \(it declares: none\)"):
        _stack(stack_name, no_calls).diff(template(), {"X": "1"})


def test_a_parameter_without_default_or_value_is_refused(stack_name: str, clients: AwsClients) -> None:
    with pytest.raises(TemplateError, match=r"parameter ImageUri has no default and no value: --parameter ImageUri="):
        _stack(stack_name, clients).diff(template(parameters=PARAMS))


def test_the_change_set_name_is_the_utc_time() -> None:
    from datetime import datetime, timedelta, timezone

    when = datetime(2026, 12, 5, 7, 15, tzinfo=timezone(timedelta(hours=1)))
    assert change_set_name(when) == "alpha-engine-20261205T061500Z"


def test_the_template_sent_is_the_file_byte_for_byte(stack_name: str, clients: AwsClients) -> None:
    body = template()
    stack = _stack(stack_name, clients)
    stack.execute(stack.prepare(body))
    assert clients.cloudformation.get_template(StackName=stack_name)["TemplateBody"] == json.loads(body)


def test_a_template_bucket_that_does_not_exist_is_named(stack_name: str, clients: AwsClients) -> None:
    with pytest.raises(StackError, match=rf"stack {stack_name}: uploading the template to s3://no-such-bucket-ae/"
                                         rf"templates/{stack_name}/[0-9a-f]{{64}}\.json \(--template-bucket\): "
                                         "NoSuchBucket"):
        _stack(stack_name, clients).diff(template(), template_bucket="no-such-bucket-ae")


def test_a_yaml_template_is_sent_as_it_is(stack_name: str, clients: AwsClients) -> None:
    body = b"Resources:\n  Alerts:\n    Type: AWS::SNS::Topic\n"
    assert _changes(_stack(stack_name, clients).diff(body).changes) == [("Add", "Alerts", "AWS::SNS::Topic")]
