"""The CloudFormation template of a pipeline app, generated from the composition root.

One stack holds everything the definition and its stages use on AWS:

* the state machine, whose ``DefinitionString`` is the committed definition text byte for byte,
  its ``${...}`` placeholders filled through ``DefinitionSubstitutions`` (functions, job queue,
  job definitions, mutex table, alerts topic: :func:`~alpha_engine.pipeline.definition_placeholders`);
* one Lambda function per lambda-class stage and one Batch job definition per batch-class stage
  (Fargate, the stage's timeout as the attempt duration), all running the one stage image;
* the artifact bucket (versioned, encrypted, public access blocked, TLS only; kept on delete), the
  DynamoDB mutex table, the alerts and watchdog topics with the config's e-mail subscriptions;
* the EventBridge schedules (the Saturday run, the Friday shell run) and the status-change rule;
* a CloudWatch alarm per alarm declaration, plus the watchdog's absence alarm;
* least-privilege IAM (see :mod:`._iam`): each role allows what its definition or stage uses.

Stages read their settings from the environment the template gives them
(:data:`~alpha_engine.config.DEPLOY_ENV_OVERRIDES`: the stores' S3 URIs, CloudWatch metrics, the
topic and state machine names) over an optional config file in the bucket (``ConfigUri``).

The template is a plain dict; the same app and settings give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from alpha_engine.app import declared_alarms
from alpha_engine.config import DEPLOY_ENV_OVERRIDES, Settings
from alpha_engine.notify import ALERTS_TOPIC, WATCHDOG_TOPIC
from alpha_engine.pipeline import (
    Compute,
    PipelineApp,
    Placeholder,
    Stage,
    compose_definition,
    definition_json,
    definition_placeholders,
)

from ._errors import DeployError
from ._iam import (
    ARCTIC_PREFIX,
    ARTIFACTS_PREFIX,
    batch_execution_role,
    scheduler_role,
    stage_role,
    state_machine_role,
)

__all__ = ["LAMBDA_MAX_TIMEOUT", "Template", "logical_id", "synthesize"]

# Lambda's hard limit on one invocation; a longer stage must be batch-class.
LAMBDA_MAX_TIMEOUT = 900
# Where a stage process keeps its workspace: Lambda's only writable directory is /tmp.
STAGE_HOME = "/tmp/alpha-engine"
# The stage image's Lambda entry: the runtime interface client calling the framework's handler.
LAMBDA_ENTRY_POINT = ["python", "-m", "awslambdaric"]
LAMBDA_HANDLER = "alpha_engine.pipeline._lambda_handler.handler"
LAMBDA_MEMORY_MB = 2048
LAMBDA_EPHEMERAL_MB = 4096
# Batch on Fargate: what one stage job gets, and what the compute environment may run at once.
BATCH_VCPU = "2"
BATCH_MEMORY_MB = "8192"
BATCH_MAX_VCPUS = 16
LOG_RETENTION_DAYS = 90
# Upstream's cadence (UTC): the Saturday run at 09:00; the Friday shell run (the preflight
# rehearsal) at 20:45, which upstream fires from its Friday EOD pipeline's success instead.
SATURDAY_SCHEDULE = "cron(0 9 ? * SAT *)"
FRIDAY_SHELL_RUN_SCHEDULE = "cron(45 20 ? * FRI *)"
# Resources that live in the stage's workspace: on AWS that is the function's or job's /tmp, which
# does not outlive the invocation.
WORKSPACE_RESOURCES = {
    "research-db": "research.db (theses, population history) starts empty on every run",
    "rag-evidence": "the RAG index file RAGIngestion builds is not the one Research reads "
                    "(set [stages.rag-ingestion] backend = \"postgres\" to share it)",
}
# The watchdog: no execution started in 7 days (one-day periods, a missing day breaches).
WATCHDOG_DAYS = 7


@dataclass(frozen=True)
class Template:
    """A synthesized template: ``body`` (the CloudFormation JSON as a dict) and the definition text
    it carries."""

    body: dict[str, Any]
    definition: str
    # What a deployment of these settings does not carry over (shown by 'deploy synth').
    warnings: tuple[str, ...] = ()

    def text(self) -> str:
        """The template file: 2-space indent, UTF-8, trailing newline (deterministic)."""
        return json.dumps(self.body, indent=2, ensure_ascii=False) + "\n"


def logical_id(*parts: str) -> str:
    """A CloudFormation logical id from name parts (alphanumerics only)."""
    out = "".join(part[:1].upper() + part[1:] for part in parts)
    cleaned = "".join(c for c in out if c.isalnum())
    if not cleaned:
        raise DeployError(f"no logical id can be made from {parts!r}")
    return cleaned


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _arn(name: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [name, "Arn"]}


def _name(suffix: str) -> dict[str, Any]:
    """A physical name scoped to the stack: ``<stack name>-<suffix>``."""
    return _sub("${AWS::StackName}-" + suffix)


def _check_stage(stage: type[Stage[Any]]) -> None:
    if stage.compute is Compute.LAMBDA and stage.timeout_seconds > LAMBDA_MAX_TIMEOUT:
        raise DeployError(f"stage {stage.name} ({stage.slug}) is lambda-class with timeout_seconds="
                          f"{stage.timeout_seconds}, beyond Lambda's {LAMBDA_MAX_TIMEOUT} s limit: make it "
                          "compute = Compute.BATCH, or shorten its timeout")


class _Synth:
    def __init__(self, settings: Settings, app: PipelineApp) -> None:
        self.settings = settings
        self.app = app
        self.stages = list(app.graph.stages())
        for stage in self.stages:
            _check_stage(stage)
        self.definition = definition_json(compose_definition(app.graph))
        self.placeholders = definition_placeholders(app.graph)
        self.resources: dict[str, Any] = {}
        self.title = app.graph.title.lower()

    # -- the whole template ---------------------------------------------------------------------
    def body(self) -> dict[str, Any]:
        self.storage()
        self.topics()
        self.batch()
        for stage in self.stages:
            self.stage(stage)
        self.state_machine()
        self.schedules()
        self.alarms()
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": (f"alpha-engine {self.app.graph.title} pipeline: the state machine, its stages on "
                            "Lambda and AWS Batch (Fargate), stores, schedules, alarms. Generated by "
                            "'alpha-engine deploy synth'; do not edit by hand."),
            "Parameters": self.parameters(),
            "Conditions": {
                "HasAlertEmail": {"Fn::Not": [{"Fn::Equals": [_ref("AlertEmail"), ""]}]},
            },
            "Resources": self.resources,
            "Outputs": self.outputs(),
        }

    def parameters(self) -> dict[str, Any]:
        return {
            "ImageUri": {"Type": "String", "AllowedPattern": r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/.+$",
                         "Description": "The stage image in ECR (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG "
                                        "or @sha256:...): docs/deploy.md, 'The stage image'."},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>",
                        "Description": "Subnets the Batch jobs run in (with a route to ECR and S3)."},
            "SecurityGroups": {"Type": "List<AWS::EC2::SecurityGroup::Id>",
                               "Description": "Security groups of the Batch jobs (outbound HTTPS)."},
            "AssignPublicIp": {"Type": "String", "Default": "ENABLED", "AllowedValues": ["ENABLED", "DISABLED"],
                               "Description": "ENABLED in a public subnet; DISABLED behind a NAT gateway."},
            "FargateCapacity": {"Type": "String", "Default": "FARGATE_SPOT",
                                "AllowedValues": ["FARGATE_SPOT", "FARGATE"],
                                "Description": "Spot (upstream's choice, about 70% cheaper; an interrupted "
                                               "job is retried once) or on-demand."},
            "AlertEmail": {"Type": "String", "Default": "",
                           "Description": "An e-mail address subscribed to both topics (optional)."},
            "ConfigUri": {"Type": "String", "Default": "", "AllowedPattern": r"^(s3://[a-z0-9.-]+/config/.+)?$",
                          "Description": "The settings file the stages read (optional): s3://<ArtifactBucket>/"
                                         "config/<name>, uploaded after the stack exists (docs/deploy.md)."},
        }

    # -- stores ---------------------------------------------------------------------------------
    def storage(self) -> None:
        self.resources["ArtifactBucket"] = {
            "Type": "AWS::S3::Bucket",
            # Artifacts are the pipeline's record: a stack deletion keeps them (delete by hand).
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {"Rules": [
                    {"Id": "expire-old-versions", "Status": "Enabled",
                     "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]},
            },
        }
        self.resources["ArtifactBucketPolicy"] = {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {"Bucket": _ref("ArtifactBucket"), "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                               "Resource": [_arn("ArtifactBucket"), _sub("${ArtifactBucket.Arn}/*")],
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}}],
            }},
        }
        self.resources["MutexTable"] = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": _name("sf-execution-mutex"),
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "mutex_key", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "mutex_key", "KeyType": "HASH"}],
                "SSESpecification": {"SSEEnabled": True},
            },
        }

    def topics(self) -> None:
        for topic, logical in ((ALERTS_TOPIC, "AlertsTopic"), (WATCHDOG_TOPIC, "WatchdogTopic")):
            self.resources[logical] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": _name(f"{topic}")}}
            self.resources[f"{logical}EmailSubscription"] = {
                "Type": "AWS::SNS::Subscription", "Condition": "HasAlertEmail",
                "Properties": {"TopicArn": _ref(logical), "Protocol": "email", "Endpoint": _ref("AlertEmail")},
            }
            for channel in self.settings.notify.channels:
                if channel.kind != "email" or topic not in channel.topics:
                    continue
                for i, address in enumerate(channel.to):
                    self.resources[logical_id(logical, "Channel", channel.name, str(i))] = {
                        "Type": "AWS::SNS::Subscription",
                        "Properties": {"TopicArn": _ref(logical), "Protocol": "email", "Endpoint": address},
                    }
        # EventBridge publishes the execution status changes; CloudWatch publishes alarm changes.
        self.resources["TopicsPolicy"] = {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {"Topics": [_ref("AlertsTopic"), _ref("WatchdogTopic")], "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "StatusChanges", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                     "Action": "sns:Publish", "Resource": _ref("AlertsTopic"),
                     "Condition": {"ArnEquals": {"aws:SourceArn": _arn("ExecutionStatusRule")}}},
                    {"Sid": "Alarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                     "Action": "sns:Publish", "Resource": [_ref("AlertsTopic"), _ref("WatchdogTopic")],
                     "Condition": {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}}},
                ],
            }},
        }

    # -- compute --------------------------------------------------------------------------------
    def environment(self) -> dict[str, Any]:
        """What every stage process reads its settings from: the workspace, the optional config
        file, and each of config.DEPLOY_ENV_OVERRIDES from the stack's resources."""
        deployed = {
            ("artifacts_uri",): _sub(f"s3://${{ArtifactBucket}}/{ARTIFACTS_PREFIX}"),
            ("data", "market_store_uri"): _sub(
                f"s3s://s3.${{AWS::Region}}.amazonaws.com:${{ArtifactBucket}}?path_prefix={ARCTIC_PREFIX}"
                "&aws_auth=true"),
            ("pipeline", "metrics_uri"): _sub("cloudwatch://${AWS::Region}"),
            ("pipeline", "sns_topic_arn"): _ref("AlertsTopic"),
            ("pipeline", "notifications"): "sns",
            ("pipeline", "state_machine_name"): _name(f"{self.title}-pipeline"),
        }
        missing = [variable for variable, where in DEPLOY_ENV_OVERRIDES.items() if where not in deployed]
        if missing:
            raise DeployError(f"no deployed value for {', '.join(missing)}: add one to deploy._template's environment")
        return {"ALPHA_ENGINE_HOME": STAGE_HOME, "ALPHA_ENGINE_CONFIG": _ref("ConfigUri"),
                **{variable: deployed[where] for variable, where in DEPLOY_ENV_OVERRIDES.items()}}

    def batch(self) -> None:
        if not any(stage.compute is Compute.BATCH for stage in self.stages):
            return
        self.resources["BatchComputeEnvironment"] = {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "State": "ENABLED",
                # Batch's service-linked role (docs/deploy.md, Prerequisites, creates it once per account).
                "ServiceRole": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/"
                                    "batch.amazonaws.com/AWSServiceRoleForBatch"),
                "ComputeResources": {"Type": _ref("FargateCapacity"), "MaxvCpus": BATCH_MAX_VCPUS,
                                     "Subnets": _ref("Subnets"), "SecurityGroupIds": _ref("SecurityGroups")},
            },
        }
        self.resources["JobQueue"] = {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {"JobQueueName": _name("stages"), "Priority": 1, "State": "ENABLED",
                           "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": _ref("BatchComputeEnvironment")}]},
        }
        self.resources["BatchLogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": _sub("/aws/batch/${AWS::StackName}"), "RetentionInDays": LOG_RETENTION_DAYS},
        }
        self.resources["BatchExecutionRole"] = batch_execution_role()

    def stage(self, stage: type[Stage[Any]]) -> None:
        role = logical_id(stage.name, "Role")
        variables = self.environment()
        if stage.compute is Compute.LAMBDA:
            function = logical_id(stage.name, "Function")
            log_group = logical_id(stage.name, "Logs")
            self.resources[role] = stage_role(stage, log_group)
            self.resources[log_group] = {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{AWS::StackName}}-{stage.slug}"),
                               "RetentionInDays": LOG_RETENTION_DAYS},
            }
            self.resources[function] = {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": _name(stage.slug),
                    "Description": (stage.description or stage.name)[:256],
                    "PackageType": "Image",
                    "Code": {"ImageUri": _ref("ImageUri")},
                    # deploy/constraints.txt resolves the image's dependencies for x86_64.
                    "Architectures": ["x86_64"],
                    "ImageConfig": {"EntryPoint": LAMBDA_ENTRY_POINT, "Command": [LAMBDA_HANDLER]},
                    "Role": _arn(role),
                    "Timeout": stage.timeout_seconds,
                    "MemorySize": LAMBDA_MEMORY_MB,
                    "EphemeralStorage": {"Size": LAMBDA_EPHEMERAL_MB},
                    "Environment": {"Variables": variables},
                    "LoggingConfig": {"LogGroup": _ref(log_group)},
                },
            }
            return
        self.resources[role] = stage_role(stage)
        self.resources[logical_id(stage.name, "JobDefinition")] = {
            "Type": "AWS::Batch::JobDefinition",
            "Properties": {
                "JobDefinitionName": _name(stage.slug),
                "Type": "container",
                "PlatformCapabilities": ["FARGATE"],
                "Timeout": {"AttemptDurationSeconds": stage.timeout_seconds},
                # A reclaimed spot task is retried once; any other exit is the stage's own outcome.
                "RetryStrategy": {"Attempts": 2, "EvaluateOnExit": [
                    {"OnStatusReason": "*Spot*", "Action": "RETRY"}, {"OnReason": "*", "Action": "EXIT"}]},
                "PropagateTags": True,
                "ContainerProperties": {
                    "Image": _ref("ImageUri"),
                    # The state machine overrides the command with the logcapture-wrapped stage run.
                    "Command": ["alpha-engine", "stage", "run", stage.slug],
                    "JobRoleArn": _arn(role),
                    "ExecutionRoleArn": _arn("BatchExecutionRole"),
                    "ResourceRequirements": [{"Type": "VCPU", "Value": BATCH_VCPU},
                                             {"Type": "MEMORY", "Value": BATCH_MEMORY_MB}],
                    "Environment": [{"Name": k, "Value": v} for k, v in variables.items()],
                    "NetworkConfiguration": {"AssignPublicIp": _ref("AssignPublicIp")},
                    "FargatePlatformConfiguration": {"PlatformVersion": "LATEST"},
                    "RuntimePlatform": {"OperatingSystemFamily": "LINUX", "CpuArchitecture": "X86_64"},
                    "EphemeralStorage": {"SizeInGiB": 40},
                    "LogConfiguration": {"LogDriver": "awslogs", "Options": {
                        "awslogs-group": _ref("BatchLogGroup"), "awslogs-region": _ref("AWS::Region"),
                        "awslogs-stream-prefix": stage.slug}},
                },
            },
        }

    # -- the state machine and what starts it -------------------------------------------------------
    def substitution(self, placeholder: Placeholder) -> Any:
        """The CloudFormation value of one definition placeholder."""
        if placeholder.kind == "function":
            return _arn(logical_id(self.stage_named(placeholder.slug).name, "Function"))
        if placeholder.kind == "job_definition":
            return _ref(logical_id(self.stage_named(placeholder.slug).name, "JobDefinition"))
        return _ref({"job_queue": "JobQueue", "mutex_table": "MutexTable", "alerts_topic": "AlertsTopic"}[placeholder.kind])

    def stage_named(self, slug: str | None) -> type[Stage[Any]]:
        return next(stage for stage in self.stages if stage.slug == slug)

    def state_machine(self) -> None:
        self.resources["StateMachineRole"] = state_machine_role(self.definition, self.placeholders, self.substitution)
        self.resources["StateMachine"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": _name(f"{self.title}-pipeline"),
                "StateMachineType": "STANDARD",
                "RoleArn": _arn("StateMachineRole"),
                "DefinitionString": self.definition,
                "DefinitionSubstitutions": {p.name: self.substitution(p) for p in self.placeholders},
            },
        }

    def schedules(self) -> None:
        self.resources["SchedulerRole"] = scheduler_role()
        for logical, expression, value, description in (
            ("SaturdaySchedule", SATURDAY_SCHEDULE, {"pipeline_role": "weekly"},
             "The weekly run (upstream's Saturday cron, pipeline_role weekly)."),
            ("FridayShellRunSchedule", FRIDAY_SHELL_RUN_SCHEDULE, {"pipeline_role": "shell-run", "shell_run": True},
             "The Friday shell run: every stage boots and runs its preflight only."),
        ):
            self.resources[logical] = {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Description": description,
                    "ScheduleExpression": expression,
                    "State": "ENABLED",
                    "Targets": [{"Id": "StateMachine", "Arn": _ref("StateMachine"), "RoleArn": _arn("SchedulerRole"),
                                 "Input": json.dumps(value, sort_keys=True)}],
                },
            }
        # An execution that fails, times out or is aborted reaches the alerts topic even when its own
        # failure route could not run (upstream's status-change notifier).
        self.resources["ExecutionStatusRule"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "Failed, timed-out and aborted executions of the state machine, to the alerts topic.",
                "State": "ENABLED",
                "EventPattern": {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                                 "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"],
                                            "stateMachineArn": [_ref("StateMachine")]}},
                "Targets": [{"Id": "AlertsTopic", "Arn": _ref("AlertsTopic"), "InputTransformer": {
                    "InputPathsMap": {"name": "$.detail.name", "status": "$.detail.status"},
                    "InputTemplate": "\"alpha-engine execution <name> ended <status>: see the Step Functions "
                                     "console, or redrive (docs/deploy.md, Redrive on AWS).\""}}],
            },
        }

    # -- alarms ---------------------------------------------------------------------------------
    def alarms(self) -> None:
        actions = [_ref("AlertsTopic")]
        for alarm in declared_alarms(self.settings, self.app):
            self.resources[logical_id("Alarm", alarm.name)] = {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": alarm.name,
                    "AlarmDescription": alarm.description[:1024],
                    "Namespace": alarm.namespace,
                    "MetricName": alarm.metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions],
                    "Statistic": alarm.statistic,
                    "Period": alarm.period,
                    "EvaluationPeriods": alarm.evaluation_periods,
                    "DatapointsToAlarm": alarm.datapoints_to_alarm,
                    "ComparisonOperator": alarm.comparison,
                    "Threshold": alarm.threshold,
                    "TreatMissingData": alarm.treat_missing_data,
                    "AlarmActions": actions,
                    "OKActions": actions,
                },
            }
        self.resources["WatchdogAlarm"] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": _name("pipeline-watchdog"),
                "AlarmDescription": (f"No execution of the {self.title} state machine started in {WATCHDOG_DAYS} "
                                     "days: the schedule, its role or the account is broken. Check the "
                                     "SaturdaySchedule rule, then start a run (docs/deploy.md)."),
                "Namespace": "AWS/States",
                "MetricName": "ExecutionsStarted",
                "Dimensions": [{"Name": "StateMachineArn", "Value": _ref("StateMachine")}],
                "Statistic": "Sum",
                "Period": 86400,
                "EvaluationPeriods": WATCHDOG_DAYS,
                "DatapointsToAlarm": WATCHDOG_DAYS,
                "ComparisonOperator": "LessThanThreshold",
                "Threshold": 1,
                "TreatMissingData": "breaching",
                "AlarmActions": [_ref("WatchdogTopic")],
                "OKActions": [_ref("WatchdogTopic")],
            },
        }

    def outputs(self) -> dict[str, Any]:
        return {
            "StateMachineArn": {"Value": _ref("StateMachine")},
            "ArtifactBucket": {"Value": _ref("ArtifactBucket")},
            "AlertsTopicArn": {"Value": _ref("AlertsTopic")},
            "WatchdogTopicArn": {"Value": _ref("WatchdogTopic")},
        }


def deployment_warnings(settings: Settings, app: PipelineApp) -> tuple[str, ...]:
    """What the deployed pipeline will not do as the local one does, for these settings."""
    out = []
    for channel in settings.notify.channels:
        if channel.kind != "email":
            out.append(f"notify channel {channel.name!r} ({channel.kind}) has no SNS subscription in the template: "
                       "subscribe it to the alerts topic by hand (docs/deploy.md)")
    shared_rag = settings.stage_options("rag-ingestion").get("backend") == "postgres"
    for name, what in WORKSPACE_RESOURCES.items():
        users = [stage.name for stage in app.graph.stages() if any(r.name == name for r in stage.requires)]
        if users and not (name == "rag-evidence" and shared_rag):
            out.append(f"{', '.join(users)} on AWS, where the workspace is the invocation's /tmp: {what}")
    return tuple(out)


def synthesize(settings: Settings, app: PipelineApp) -> Template:
    """The CloudFormation template of ``app`` under ``settings`` (see the module docstring)."""
    synth = _Synth(settings, app)
    return Template(synth.body(), synth.definition, deployment_warnings(settings, app))
