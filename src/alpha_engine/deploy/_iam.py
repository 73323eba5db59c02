"""Least-privilege IAM for the template, derived from the same declarations the pipeline runs by.

* The state machine's role allows what its definition's Task states call, found by reading the
  definition text itself (:func:`definition_permissions`): ``lambda:InvokeFunction`` on each
  function it names, ``batch:SubmitJob`` on the queue and each job definition (plus what
  ``.sync`` needs to follow a job), ``dynamodb:PutItem`` on the mutex table, ``sns:Publish`` on the
  alerts topic. Nothing else.
* Each stage's role allows what its ``requires`` (plus the artifact store and metrics, which every
  stage's runner uses) need on AWS, by :data:`RESOURCE_ACCESS`: the artifact store's and the
  market store's prefixes of the bucket, ``cloudwatch:PutMetricData`` in the ``AlphaEngine``
  namespaces, ``sns:Publish`` on the alerts topic; a Lambda stage also writes its own log group.
  A resource without an entry is a :class:`DeployError`: a new resource states its AWS access here.
* The Batch execution role pulls the stage image's repository and writes the Batch log group; the
  scheduler's role starts the state machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from alpha_engine.pipeline import Compute, Placeholder, Stage

from ._errors import DeployError

__all__ = ["ARCTIC_PREFIX", "ARTIFACTS_PREFIX", "BATCH_SYNC_RULE", "CONFIG_PREFIX", "METRIC_NAMESPACES",
           "RESOURCE_ACCESS", "definition_permissions"]

ARTIFACTS_PREFIX = "artifacts"
ARCTIC_PREFIX = "arcticdb"
CONFIG_PREFIX = "config"
# Every namespace the stages emit to starts with this (heartbeats, Eval, Cost, Substrate, ...).
METRIC_NAMESPACES = "AlphaEngine*"
# The managed rule Step Functions keeps to follow Batch jobs (batch:submitJob.sync).
BATCH_SYNC_RULE = "StepFunctionsGetEventsForBatchJobsRule"

_LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
_BATCH_SYNC = "arn:aws:states:::batch:submitJob.sync"
_SNS_PUBLISH = "arn:aws:states:::sns:publish"
_DYNAMODB_PUT = "arn:aws:states:::aws-sdk:dynamodb:putItem"

Statement = dict[str, Any]


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _prefix_access(prefix: str, sid: str) -> list[Statement]:
    """Read, write and delete objects under ``prefix/`` of the bucket, and list only that prefix."""
    return [
        {"Sid": f"{sid}Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
         "Resource": _sub(f"${{ArtifactBucket.Arn}}/{prefix}/*")},
        {"Sid": f"{sid}List", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": {"Fn::GetAtt": ["ArtifactBucket", "Arn"]},
         "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}},
    ]


def _metrics() -> list[Statement]:
    return [{"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
             "Condition": {"StringLike": {"cloudwatch:namespace": METRIC_NAMESPACES}}}]


def _notifications() -> list[Statement]:
    return [{"Sid": "Notifications", "Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "AlertsTopic"}}]


# What each pipeline resource needs on AWS, by resource name. An empty list: the resource holds no
# AWS access (it lives in the stage's workspace, or is reached over the network without AWS
# credentials); docs/deploy.md says which of those do not persist between runs on AWS.
RESOURCE_ACCESS: dict[str, Callable[[], list[Statement]]] = {
    "artifacts": lambda: _prefix_access(ARTIFACTS_PREFIX, "Artifacts"),
    "market": lambda: _prefix_access(ARCTIC_PREFIX, "MarketStore"),
    "metrics": _metrics,
    "notifications": _notifications,
    "research-db": list,
    "rag-evidence": list,
    "edgar-filings": list,
    "predictor-history": list,
}
# What every stage's runner uses whatever the stage requires (the marker, the heartbeat).
_ALWAYS = ("artifacts", "metrics")


def _role(service: str, statements: Sequence[Statement], name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": name,
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}],
        },
    }


def stage_role(stage: type[Stage[Any]], log_group: str | None = None) -> dict[str, Any]:
    """The role ``stage`` runs as: its Lambda execution role (which writes the log group
    ``log_group``, a logical id), or its Batch job role."""
    names = list(_ALWAYS) + [r.name for r in stage.requires if r.name not in _ALWAYS]
    statements: list[Statement] = [
        {"Sid": "Config", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": _sub(f"${{ArtifactBucket.Arn}}/{CONFIG_PREFIX}/*")},
    ]
    for name in names:
        access = RESOURCE_ACCESS.get(name)
        if access is None:
            raise DeployError(f"stage {stage.name} requires resource {name!r}, whose AWS access is not declared: "
                              "add it to alpha_engine.deploy._iam.RESOURCE_ACCESS (an empty list if it needs none)")
        statements.extend(access())
    if stage.compute is Compute.LAMBDA:
        if log_group is None:
            raise DeployError(f"stage {stage.name} is lambda-class: its role needs the logical id of its log group")
        statements.append({"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                           "Resource": {"Fn::GetAtt": [log_group, "Arn"]}})
        return _role("lambda.amazonaws.com", statements, f"{stage.slug}-stage")
    return _role("ecs-tasks.amazonaws.com", statements, f"{stage.slug}-stage")


def batch_execution_role() -> dict[str, Any]:
    """What Fargate needs to start a stage job: pull the image's repository, write the log group."""
    # ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG (or REPO@sha256:...): the repository is REPO.
    repository = {"Fn::Select": [0, {"Fn::Split": [":", {"Fn::Select": [0, {"Fn::Split": ["@", {
        "Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "ImageUri"}]}]}]}]}]}]}
    return _role("ecs-tasks.amazonaws.com", [
        {"Sid": "EcrToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow",
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
         "Resource": {"Fn::Sub": ["arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/${Repo}",
                                  {"Repo": repository}]}},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": {"Fn::GetAtt": ["BatchLogGroup", "Arn"]}},
    ], "batch-execution")


def scheduler_role() -> dict[str, Any]:
    return _role("events.amazonaws.com", [
        {"Sid": "StartRuns", "Effect": "Allow", "Action": "states:StartExecution", "Resource": {"Ref": "StateMachine"}},
    ], "start-runs")


def definition_permissions(definition: str) -> list[tuple[str, str]]:
    """``(action, placeholder name)`` for every call the definition's Task states make, sorted and
    unique; ``placeholder name`` is "" where the action has no resource of its own. Read from the
    definition text, so it follows whatever the composer writes."""
    found: set[tuple[str, str]] = set()

    def placeholder(value: Any, where: str) -> str:
        if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
            raise DeployError(f"state {where}: expected a ${{...}} placeholder, got {value!r}; a deployed "
                              "definition names its resources through DefinitionSubstitutions")
        return value[2:-1]

    def walk(states: dict[str, Any]) -> None:
        for name, state in states.items():
            for branch in state.get("Branches", ()):
                walk(branch["States"])
            if state.get("Type") != "Task":
                continue
            resource, params = state.get("Resource"), state.get("Parameters") or state.get("Arguments") or {}
            if resource == _LAMBDA_INVOKE:
                found.add(("lambda:InvokeFunction", placeholder(params.get("FunctionName"), name)))
            elif resource == _BATCH_SYNC:
                found.add(("batch:SubmitJob", placeholder(params.get("JobQueue"), name)))
                found.add(("batch:SubmitJob", placeholder(params.get("JobDefinition"), name)))
                found.update({("batch:DescribeJobs", ""), ("batch:TerminateJob", ""), ("events:PutTargets", ""),
                              ("events:PutRule", ""), ("events:DescribeRule", "")})
            elif resource == _DYNAMODB_PUT:
                found.add(("dynamodb:PutItem", placeholder(params.get("TableName"), name)))
            elif resource == _SNS_PUBLISH:
                # The topic comes from the input (sns_topic_arn, default the alerts topic): only the
                # stack's alerts topic is allowed.
                found.add(("sns:Publish", "AlertsTopicArn"))
            else:
                raise DeployError(f"state {name}: no IAM rule for Task resource {resource!r}; add one to "
                                  "alpha_engine.deploy._iam.definition_permissions")
    walk(json.loads(definition)["States"])
    return sorted(found)


def state_machine_role(definition: str, placeholders: Sequence[Placeholder],
                       value_of: Callable[[Placeholder], Any]) -> dict[str, Any]:
    """The state machine's role: exactly the calls :func:`definition_permissions` finds."""
    by_name = {p.name: p for p in placeholders}
    permissions = definition_permissions(definition)
    grouped: dict[str, list[Any]] = {}
    for action, name in permissions:
        if not name:
            continue
        placeholder = by_name[name]
        value = value_of(placeholder)
        if placeholder.kind == "mutex_table":
            value = {"Fn::GetAtt": ["MutexTable", "Arn"]}
        grouped.setdefault(action, []).append(value)
    statements: list[Statement] = [
        {"Sid": "".join(c for c in action.title() if c.isalnum()), "Effect": "Allow", "Action": action,
         "Resource": resources}
        for action, resources in sorted(grouped.items())
    ]
    if any(action == "batch:DescribeJobs" for action, _ in permissions):
        statements += [
            # DescribeJobs has no resource-level permissions; TerminateJob stops a job the run times out.
            {"Sid": "FollowBatchJobs", "Effect": "Allow", "Action": ["batch:DescribeJobs", "batch:TerminateJob"],
             "Resource": "*"},
            {"Sid": "BatchSyncRule", "Effect": "Allow",
             "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
             "Resource": _sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
                              + BATCH_SYNC_RULE)},
        ]
    return _role("states.amazonaws.com", statements, "run-definition")
