"""Least privilege, checked statically: every Task state of the definition is allowed by the state
machine's role, and nothing beyond what the definition and the stages' declarations need is.

The oracle here reads the definition on its own (not through ``definition_permissions``), resolves
each placeholder through the template's DefinitionSubstitutions, and compares both ways. Each
check is shown to fail on a planted flaw: a missing grant, an extra grant, a widened resource.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from alpha_engine.app import SATURDAY, SATURDAY_GRAPH
from alpha_engine.config import load_settings
from alpha_engine.deploy import RESOURCE_ACCESS, DeployError, Template, definition_permissions, synthesize
from alpha_engine.pipeline import Compute

# What a Task resource needs: (action, the parameter naming the resource); None = no resource of its own.
TASK_NEEDS: dict[str, list[tuple[str, str | None]]] = {
    "arn:aws:states:::lambda:invoke": [("lambda:InvokeFunction", "FunctionName")],
    "arn:aws:states:::batch:submitJob.sync": [("batch:SubmitJob", "JobQueue"), ("batch:SubmitJob", "JobDefinition"),
                                              ("batch:DescribeJobs", None), ("batch:TerminateJob", None),
                                              ("events:PutTargets", None), ("events:PutRule", None),
                                              ("events:DescribeRule", None)],
    "arn:aws:states:::aws-sdk:dynamodb:putItem": [("dynamodb:PutItem", "TableName")],
    "arn:aws:states:::sns:publish": [("sns:Publish", None)],
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    return synthesize(load_settings(workspace=tmp_path_factory.mktemp("ws"), env={}), SATURDAY)


def _key(value: Any) -> str:
    """A resource expression as a comparable string (the logical id it names, or the literal)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return f"ref:{value['Ref']}"
        if "Fn::GetAtt" in value:
            return f"arn:{value['Fn::GetAtt'][0]}"
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            return f"sub:{value['Fn::Sub']}"
        return json.dumps(value, sort_keys=True)
    return str(value)


def needed(template: Template) -> set[tuple[str, str]]:
    """(action, resource) pairs the definition's Task states need, resolved through the substitutions."""
    machine = template.body["Resources"]["StateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    out: set[tuple[str, str]] = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            for branch in state.get("Branches", ()):
                walk(branch["States"])
            if state["Type"] != "Task":
                continue
            for action, parameter in TASK_NEEDS[state["Resource"]]:
                if parameter is None:
                    out.add((action, "*" if action != "sns:Publish" else _key({"Ref": "AlertsTopic"})))
                    continue
                value = substitutions[state["Parameters"][parameter][2:-1]]
                if action == "dynamodb:PutItem":  # the table's name substitutes; IAM names its ARN
                    value = {"Fn::GetAtt": [value["Ref"], "Arn"]}
                out.add((action, _key(value)))
    walk(json.loads(machine["DefinitionString"])["States"])
    return out


def granted(role: dict[str, Any]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            targets = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            for action in actions:
                for target in targets:
                    out.add((action, _key(target)))
    return out


def state_machine_problems(template: Template) -> list[str]:
    need = needed(template)
    have = granted(template.body["Resources"]["StateMachineRole"])
    # the .sync rule is one fixed ARN: count it as the '*'-less grant of the events actions
    have = {(a, "*") if a.startswith("events:") else (a, r) for a, r in have}
    return ([f"missing {a} on {r}" for a, r in sorted(need - have)]
            + [f"extra {a} on {r}" for a, r in sorted(have - need)])


def test_the_state_machine_role_allows_exactly_what_the_definition_calls(template: Template) -> None:
    assert state_machine_problems(template) == []
    # every function and every job definition of the graph is in there
    have = granted(template.body["Resources"]["StateMachineRole"])
    functions = {r for a, r in have if a == "lambda:InvokeFunction"}
    assert len(functions) == sum(s.compute is Compute.LAMBDA for s in SATURDAY_GRAPH.stages())


@pytest.mark.parametrize("flaw", ["drop-function", "extra-action", "widen-table"])
def test_the_static_check_fails_on_a_planted_flaw(template: Template, flaw: str) -> None:
    body = copy.deepcopy(template.body)
    statements = body["Resources"]["StateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    if flaw == "drop-function":
        invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
        invoke["Resource"] = invoke["Resource"][1:]
    elif flaw == "extra-action":
        statements.append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    else:
        table = next(s for s in statements if s["Action"] == "dynamodb:PutItem")
        table["Resource"] = ["*"]
    assert state_machine_problems(Template(body, template.definition)) != []


def test_definition_permissions_refuses_a_task_it_has_no_rule_for(template: Template) -> None:
    definition = json.loads(template.definition)
    definition["States"]["Extra"] = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    with pytest.raises(DeployError, match=r"Extra.*sqs:sendMessage.*definition_permissions"):
        definition_permissions(json.dumps(definition))


def test_definition_permissions_refuses_a_literal_name(template: Template) -> None:
    text = template.definition.replace("${ScannerFunction}", "alpha-engine-scanner")
    with pytest.raises(DeployError, match=r"Scanner.*placeholder.*'alpha-engine-scanner'"):
        definition_permissions(text)


# -- stage roles -------------------------------------------------------------------------------------
def stage_grants(template: Template, stage: Any) -> set[tuple[str, str]]:
    return granted(template.body["Resources"][f"{stage.name}Role"])


def test_each_stage_role_allows_only_what_its_declarations_need(template: Template) -> None:
    for stage in SATURDAY_GRAPH.stages():
        have = stage_grants(template, stage)
        requires = {r.name for r in stage.requires} | {"artifacts", "metrics"}
        allowed = {("s3:GetObject", "sub:${ArtifactBucket.Arn}/config/*")}
        for name in requires:
            allowed |= granted({"Properties": {"Policies": [{"PolicyDocument": {"Statement": RESOURCE_ACCESS[name]()}}]}})
        if stage.compute is Compute.LAMBDA:
            allowed |= {("logs:CreateLogStream", f"arn:{stage.name}Logs"), ("logs:PutLogEvents", f"arn:{stage.name}Logs")}
        assert have == allowed, stage.name
        # the market store's prefix only for stages that declare it; SNS only for those that notify
        assert any("arcticdb" in r for _, r in have) == ("market" in requires), stage.name
        assert any(a == "sns:Publish" for a, _ in have) == ("notifications" in requires), stage.name
        # no wildcard action; the only '*' resource is PutMetricData, held to the AlphaEngine namespaces
        assert not any(a.endswith("*") for a, _ in have), stage.name
        assert {a for a, r in have if r == "*"} <= {"cloudwatch:PutMetricData"}, stage.name


def test_put_metric_data_is_held_to_the_alpha_engine_namespaces(template: Template) -> None:
    role = template.body["Resources"]["ScannerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    metrics = next(s for s in role if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "AlphaEngine*"}}


def test_a_stage_requiring_an_undeclared_resource_is_refused(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from alpha_engine.deploy import _iam

    monkeypatch.delitem(_iam.RESOURCE_ACCESS, "market")
    with pytest.raises(DeployError, match=r"requires resource 'market'.*RESOURCE_ACCESS"):
        synthesize(load_settings(workspace=tmp_path, env={}), SATURDAY)
