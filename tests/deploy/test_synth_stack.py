"""The synthesized template in moto's CloudFormation (server mode), through the same Stack
operations `deploy apply` and `deploy destroy` run: it creates, updates and deletes cleanly.

moto creates the state machine, functions, Batch resources, bucket, table, topics, rules and roles;
the types it does not model (alarms, topic and bucket policies) it skips with a warning.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import moto_server
from alpha_engine.app import DEFINITION_FILE, SATURDAY, SATURDAY_GRAPH
from alpha_engine.config import load_settings
from alpha_engine.deploy import AwsClients, Stack, synthesize
from alpha_engine.pipeline import Compute

from .deploy_helpers import no_wait

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/alpha-engine:1"


def _network() -> dict[str, str]:
    """What an account gives the stack: Batch's service-linked role, a subnet and a security group."""
    iam = moto_server.client("iam")
    try:
        iam.create_role(Path="/aws-service-role/batch.amazonaws.com/", RoleName="AWSServiceRoleForBatch",
                        AssumeRolePolicyDocument="{}")
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    ec2 = moto_server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"ae-{vpc}", Description="stages", VpcId=vpc)["GroupId"]
    return {"ImageUri": IMAGE, "Subnets": subnet, "SecurityGroups": group}


def _template(tmp_path: Path, config: str = "") -> bytes:
    (tmp_path / "config.toml").write_text(config)
    settings = load_settings(tmp_path / "config.toml", workspace=tmp_path, env={})
    return synthesize(settings, SATURDAY).text().encode()


def test_the_template_creates_updates_and_deletes_cleanly(stack_name: str, clients: AwsClients,
                                                           tmp_path: Path) -> None:
    bucket = moto_server.fresh_bucket("templates")
    parameters = _network()
    stack = Stack(stack_name, clients, waiting=no_wait(), change_set_name=lambda: "alpha-engine-20261205T061500Z")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns of the types it skips
        created = stack.execute(stack.prepare(_template(tmp_path), parameters, template_bucket=bucket))
    assert created.status == "CREATE_COMPLETE" == stack.status()

    # the state machine holds the committed definition, under the stack's name
    machines = moto_server.client("stepfunctions").list_state_machines()["stateMachines"]
    machine = next(m for m in machines if m["name"] == f"{stack_name}-saturday-pipeline")
    described = moto_server.client("stepfunctions").describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert json.loads(described["definition"])["States"].keys() == json.loads(DEFINITION_FILE.read_text())["States"].keys()
    functions = {f["FunctionName"] for f in moto_server.client("lambda").list_functions()["Functions"]}
    lambda_stages = [s for s in SATURDAY_GRAPH.stages() if s.compute is Compute.LAMBDA]
    assert {f"{stack_name}-{s.slug}" for s in lambda_stages} <= functions
    jobs = moto_server.client("batch").describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    assert sum(j["jobDefinitionName"].startswith(f"{stack_name}-") for j in jobs) == \
        sum(s.compute is Compute.BATCH for s in SATURDAY_GRAPH.stages())

    # an update: a config that subscribes an e-mail channel adds its subscriptions, nothing else changes
    config = ('[[notify.channels]]\nkind = "email"\nname = "ops"\nhost = "smtp.example.com"\n'
              'from_addr = "a@example.com"\nto = ["ops@example.com"]\n')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        change_set = stack.prepare(_template(tmp_path, config), parameters, template_bucket=bucket)
        added = sorted(c.logical_id for c in change_set.changes if c.action == "Add")
        assert added == ["AlertsTopicChannelOps0"]
        assert stack.execute(change_set).status == "UPDATE_COMPLETE"

    destroyed = stack.destroy()
    assert destroyed.existed and stack.status() is None
    assert "ArtifactBucket" in " ".join(str(r) for r in destroyed.retained)


@pytest.mark.parametrize("missing", ["ImageUri", "Subnets"])
def test_a_required_parameter_left_out_is_refused_before_any_call(stack_name: str, clients: AwsClients,
                                                                   tmp_path: Path, missing: str) -> None:
    from alpha_engine.deploy import TemplateError

    parameters = {"ImageUri": IMAGE, "Subnets": "subnet-1", "SecurityGroups": "sg-1"}
    del parameters[missing]
    stack = Stack(stack_name, clients, waiting=no_wait())
    with pytest.raises(TemplateError, match=missing):
        stack.prepare(_template(tmp_path), parameters, template_bucket="unused")
