"""``deploy synth``: the CloudFormation template of the Saturday app.

The template passes cfn-lint; its state machine carries the committed definition byte for byte
with every placeholder filled through DefinitionSubstitutions; synth is deterministic; the stores,
schedules and alarms are the declared ones; a stage Lambda cannot run is refused.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import DEFINITION_FILE, SATURDAY, SATURDAY_GRAPH, declared_alarms
from alpha_engine.config import load_settings
from alpha_engine.deploy import DeployError, Template, synthesize
from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    PipelineApp,
    Stage,
    StageGraph,
    definition_placeholders,
    local_substitutions,
    substitute,
)
from alpha_engine.sfn import validate_definition

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_settings(workspace=tmp_path_factory.mktemp("ws"), env={})


@pytest.fixture(scope="module")
def template(settings: Any) -> Template:
    return synthesize(settings, SATURDAY)


def resources(template: Template, kind: str) -> dict[str, Any]:
    return {name: r for name, r in template.body["Resources"].items() if r["Type"] == kind}


def lint(template_path: Path) -> list[str]:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template_path, config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches
            if m.rule.id.startswith("E")]


# -- cfn-lint ---------------------------------------------------------------------------------------
def test_cfn_lint_reports_no_errors(template: Template, tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(template.text(), encoding="utf-8")
    assert lint(path) == []


def test_cfn_lint_catches_a_planted_error(template: Template, tmp_path: Path) -> None:
    body = copy.deepcopy(template.body)
    body["Resources"]["MutexTable"]["Properties"]["BillingMode"] = "FREE"
    path = tmp_path / "template.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    assert any("E3030" in line for line in lint(path))


# -- the state machine --------------------------------------------------------------------------------
def test_the_definition_is_the_committed_file_byte_for_byte(template: Template) -> None:
    machine = resources(template, "AWS::StepFunctions::StateMachine")["StateMachine"]["Properties"]
    assert machine["DefinitionString"] == DEFINITION_FILE.read_text(encoding="utf-8")
    assert machine["DefinitionString"] == template.definition


def test_every_placeholder_has_a_substitution_and_every_substitution_a_placeholder(template: Template) -> None:
    machine = template.body["Resources"]["StateMachine"]["Properties"]
    in_text = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", machine["DefinitionString"]))
    assert set(machine["DefinitionSubstitutions"]) == in_text
    assert {p.name for p in definition_placeholders(SATURDAY_GRAPH)} == in_text
    # account, region and names come from the stack's resources, never literals in the text
    assert "111111111111" not in machine["DefinitionString"]
    assert "us-east-1" not in machine["DefinitionString"]


def _resolve(value: Any) -> str:
    """A stand-in for what CloudFormation resolves Ref / GetAtt to, naming the resource."""
    if isinstance(value, dict) and "Ref" in value:
        return f"arn:aws:test:us-east-1:123456789012:ref/{value['Ref']}"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"arn:aws:test:us-east-1:123456789012:{value['Fn::GetAtt'][1].lower()}/{value['Fn::GetAtt'][0]}"
    raise AssertionError(f"unexpected substitution value {value!r}")


def test_the_definition_with_the_substitutions_applied_is_valid_and_names_the_stack_resources(
        template: Template) -> None:
    machine = template.body["Resources"]["StateMachine"]["Properties"]
    values = {name: _resolve(v) for name, v in machine["DefinitionSubstitutions"].items()}
    deployed = substitute(machine["DefinitionString"], values)
    assert "${" not in deployed
    assert validate_definition(json.loads(deployed)) == []
    # each placeholder resolves to the stack resource of its stage (function or job definition)
    for placeholder in definition_placeholders(SATURDAY_GRAPH):
        value = machine["DefinitionSubstitutions"][placeholder.name]
        target = value.get("Ref") or value["Fn::GetAtt"][0]
        assert target in template.body["Resources"], placeholder
        if placeholder.kind == "function":
            assert template.body["Resources"][target]["Properties"]["FunctionName"] == {
                "Fn::Sub": "${AWS::StackName}-" + str(placeholder.slug)}


def test_the_local_run_fills_the_same_placeholders_with_the_settings_names(settings: Any) -> None:
    from alpha_engine.pipeline import LocalPipeline

    text = DEFINITION_FILE.read_text(encoding="utf-8")
    local = json.loads(substitute(text, local_substitutions(SATURDAY_GRAPH, settings.pipeline)))
    assert LocalPipeline(settings, app=SATURDAY).definition == local
    assert "alpha-engine-scanner" in json.dumps(local)


# -- determinism ---------------------------------------------------------------------------------------
def test_synth_is_deterministic_across_processes(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "ALPHA_ENGINE_HOME": str(tmp_path / "ws")}
        env.pop("ALPHA_ENGINE_CONFIG", None)
        done = subprocess.run([sys.executable, "-m", "alpha_engine", "deploy", "synth", "-o", str(out)],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "resources" in done.stderr and "next: alpha-engine deploy diff" in done.stderr
        outputs.append((out / "template.json").read_bytes())
    assert outputs[0] == outputs[1]


# -- resources ------------------------------------------------------------------------------------------
def test_one_function_per_lambda_stage_and_one_job_definition_per_batch_stage(template: Template) -> None:
    stages = list(SATURDAY_GRAPH.stages())
    functions = resources(template, "AWS::Lambda::Function")
    jobs = resources(template, "AWS::Batch::JobDefinition")
    assert {f["Properties"]["FunctionName"]["Fn::Sub"].split("-", 1)[1] for f in functions.values()} == {
        f"{s.slug}" for s in stages if s.compute is Compute.LAMBDA} | set()
    assert len(functions) == sum(s.compute is Compute.LAMBDA for s in stages)
    assert len(jobs) == sum(s.compute is Compute.BATCH for s in stages)
    for stage in stages:
        if stage.compute is Compute.LAMBDA:
            props = functions[f"{stage.name}Function"]["Properties"]
            assert props["Timeout"] == stage.timeout_seconds
            assert props["PackageType"] == "Image" and props["Code"] == {"ImageUri": {"Ref": "ImageUri"}}
        else:
            props = jobs[f"{stage.name}JobDefinition"]["Properties"]
            assert props["Timeout"] == {"AttemptDurationSeconds": stage.timeout_seconds}
            assert props["PlatformCapabilities"] == ["FARGATE"]


def test_the_bucket_is_versioned_encrypted_private_and_kept(template: Template) -> None:
    bucket = template.body["Resources"]["ArtifactBucket"]
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert bucket["DeletionPolicy"] == "Retain"


def test_the_stages_environment_points_every_store_at_the_stack(template: Template) -> None:
    from alpha_engine.config import DEPLOY_ENV_OVERRIDES

    props = template.body["Resources"]["ScannerFunction"]["Properties"]
    variables = props["Environment"]["Variables"]
    assert set(DEPLOY_ENV_OVERRIDES) <= set(variables)
    assert variables["ALPHA_ENGINE_HOME"].startswith("/tmp/")
    assert variables["ALPHA_ENGINE_METRICS_URI"] == {"Fn::Sub": "cloudwatch://${AWS::Region}"}


def test_the_deployed_environment_becomes_the_stage_settings(tmp_path: Path) -> None:
    env = {"ALPHA_ENGINE_ARTIFACTS_URI": "s3://bucket/artifacts",
           "ALPHA_ENGINE_MARKET_STORE_URI": "s3s://s3.eu-west-1.amazonaws.com:bucket?path_prefix=arcticdb&aws_auth=true",
           "ALPHA_ENGINE_METRICS_URI": "cloudwatch://eu-west-1",
           "ALPHA_ENGINE_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:ae-alerts",
           "ALPHA_ENGINE_STATE_MACHINE_NAME": "ae-saturday-pipeline"}
    (tmp_path / "config.toml").write_text('artifacts_uri = "elsewhere"\n[pipeline]\nmetrics_uri = ""\n')
    settings = load_settings(tmp_path / "config.toml", workspace=tmp_path, env=env)
    assert settings.artifacts_uri == "s3://bucket/artifacts"
    assert settings.data.market_store_uri.startswith("s3s://")
    assert settings.pipeline.metrics_uri == "cloudwatch://eu-west-1"
    assert settings.pipeline.sns_topic_arn.endswith(":ae-alerts")
    assert settings.pipeline.state_machine_name == "ae-saturday-pipeline"


def test_schedules_start_the_weekly_run_and_the_friday_shell_run(template: Template) -> None:
    rules = resources(template, "AWS::Events::Rule")
    saturday = rules["SaturdaySchedule"]["Properties"]
    friday = rules["FridayShellRunSchedule"]["Properties"]
    assert saturday["ScheduleExpression"].endswith("SAT *)") and friday["ScheduleExpression"].endswith("FRI *)")
    assert json.loads(saturday["Targets"][0]["Input"]) == {"pipeline_role": "weekly"}
    assert json.loads(friday["Targets"][0]["Input"]) == {"pipeline_role": "shell-run", "shell_run": True}
    status = rules["ExecutionStatusRule"]["Properties"]["EventPattern"]
    assert status["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]


def test_an_alarm_per_declaration_plus_the_watchdog(template: Template, settings: Any) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    declared = declared_alarms(settings, SATURDAY)
    by_name = {a["Properties"]["AlarmName"]: a["Properties"] for n, a in alarms.items() if n != "WatchdogAlarm"}
    assert len(alarms) == len(declared) + 1
    for alarm in declared:
        props = by_name[alarm.name]
        assert (props["Namespace"], props["MetricName"], props["Period"], props["ComparisonOperator"],
                props["Threshold"], props["TreatMissingData"]) == (
            alarm.namespace, alarm.metric, alarm.period, alarm.comparison, alarm.threshold, alarm.treat_missing_data)
    watchdog = alarms["WatchdogAlarm"]["Properties"]
    assert watchdog["AlarmActions"] == [{"Ref": "WatchdogTopic"}] and watchdog["TreatMissingData"] == "breaching"


def test_email_channels_become_subscriptions_and_other_channels_a_warning(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[[notify.channels]]\nkind = "email"\nname = "ops"\nhost = "smtp.example.com"\nfrom_addr = "a@example.com"\n'
        'to = ["ops@example.com", "cto@example.com"]\ntopics = ["alerts", "watchdog"]\n'
        '[[notify.channels]]\nkind = "webhook"\nname = "chat"\nurl_env = "CHAT_URL"\n')
    settings = load_settings(tmp_path / "config.toml", workspace=tmp_path, env={})
    template = synthesize(settings, SATURDAY)
    subscriptions = resources(template, "AWS::SNS::Subscription")
    endpoints = sorted((s["Properties"]["TopicArn"]["Ref"], s["Properties"]["Endpoint"])
                       for s in subscriptions.values() if "Condition" not in s)
    assert endpoints == [("AlertsTopic", "cto@example.com"), ("AlertsTopic", "ops@example.com"),
                         ("WatchdogTopic", "cto@example.com"), ("WatchdogTopic", "ops@example.com")]
    assert any("'chat' (webhook)" in line for line in template.warnings)


# -- refusals ---------------------------------------------------------------------------------------------
class _LongLambda(Stage):  # type: ignore[type-arg]
    name = "LongLambda"
    slug = "long-lambda"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 901
    description = "runs longer than Lambda allows"

    def preflight(self, ctx: Any) -> None:
        pass

    def run(self, ctx: Any) -> dict[str, Any]:
        return {}


def test_a_lambda_stage_longer_than_lambda_allows_is_refused(settings: Any) -> None:
    app = PipelineApp(graph=StageGraph("Saturday", (_LongLambda,)), resources=SATURDAY.resources)
    with pytest.raises(DeployError, match=r"LongLambda .*timeout_seconds=901.*900 s.*Compute.BATCH"):
        synthesize(settings, app)


def test_a_bad_deployed_value_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    from alpha_engine.config import ConfigError

    with pytest.raises(ConfigError, match=r"pipeline\.metrics_uri"):
        load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_METRICS_URI": "graphite://nowhere"})


def test_workspace_resources_are_named_unless_shared(tmp_path: Path) -> None:
    plain = synthesize(load_settings(workspace=tmp_path, env={}), SATURDAY).warnings
    assert any(line.startswith("Research on AWS") and "research.db" in line for line in plain)
    assert any("RAG index" in line for line in plain)
    (tmp_path / "config.toml").write_text('[stages.rag-ingestion]\nbackend = "postgres"\n')
    shared = synthesize(load_settings(tmp_path / "config.toml", workspace=tmp_path, env={}), SATURDAY).warnings
    assert not any("RAG index" in line for line in shared) and any("research.db" in line for line in shared)
