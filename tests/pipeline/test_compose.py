"""The composed definition: validity, the upstream wiring invariants, and its behaviour.

Behaviour tests run the definition on the embedded engine with fake services (no processes):
stages succeed or fail as told, SNS publishes and the DynamoDB mutex are recorded.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pipeline_test_graph import GRAPH

from alpha_engine.pipeline import (
    ComposeOptions,
    Compute,
    FailureClass,
    NoOptions,
    Stage,
    StageGraph,
    compose_definition,
    definition_json,
)
from alpha_engine.pipeline._compose import BATCH_SUBMIT_SYNC, LAMBDA_INVOKE, LAMBDA_SERVICE_ERRORS
from alpha_engine.sfn import StatesError, TaskCall, validate_definition
from alpha_engine.sfn.testing import SfnTestEnvironment

START = datetime(2026, 11, 21, 9, 0, 12, tzinfo=UTC)
STAGES = {stage.name: stage for stage in GRAPH.stages()}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return compose_definition(GRAPH)


class FakeServices:
    """Answers every Task of the pipeline; ``fail`` maps a state name to the error it raises."""

    def __init__(self, fail: dict[str, str | tuple[str, str | None]] | None = None,
                 mutex_store_down: bool = False) -> None:
        self.fail = fail or {}
        self.mutex_store_down = mutex_store_down
        self.calls: list[tuple[str, Any]] = []
        self.mutex_keys: set[str] = set()
        self.published: list[dict[str, Any]] = []

    async def __call__(self, call: TaskCall) -> Any:
        self.calls.append((call.state_name, call.parameters))
        if call.resource.endswith("dynamodb:putItem"):
            if self.mutex_store_down:
                raise StatesError("DynamoDb.DynamoDbException", "service unavailable", in_state=False)
            key = call.parameters["Item"]["mutex_key"]["S"]
            if key in self.mutex_keys:
                raise StatesError("DynamoDb.ConditionalCheckFailedException", "The conditional request failed",
                                  in_state=False)
            self.mutex_keys.add(key)
            return {}
        if call.resource.endswith("sns:publish"):
            self.published.append(call.parameters)
            return {"MessageId": f"m{len(self.published)}"}
        if call.state_name in self.fail:
            error, cause = (self.fail[call.state_name], "injected") if isinstance(self.fail[call.state_name], str) \
                else self.fail[call.state_name]
            raise StatesError(str(error), cause, in_state=False)
        if call.resource == LAMBDA_INVOKE:
            return {"Payload": {"status": "OK", "summary": {"stage": call.parameters["Payload"]["stage"]}}}
        return {"JobId": "job-1", "Status": "SUCCEEDED"}

    def stage_calls(self) -> list[str]:
        return [name for name, _ in self.calls if name in STAGES]


def run(definition: dict[str, Any], services: FakeServices, input_value: Any = None, **kwargs: Any) -> Any:
    env = SfnTestEnvironment(start=START, task_invoker=services)
    result = env.run(definition, input_value or {}, state_machine_name="alpha-engine-saturday-pipeline", **kwargs)
    return env, result


def visited(env: SfnTestEnvironment, arn: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in env.history(arn) if e["type"].endswith("StateEntered")]


def walk(states: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(namespace, name, state) for every state, recursing into Parallel branches."""
    out = []
    for name, state in states.items():
        out.append((states, name, state))
        for branch in state.get("Branches", []):
            out.extend(walk(branch["States"]))
    return out


def targets(state: dict[str, Any]) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [rule["Next"] for rule in state.get("Choices", [])]
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


# -- structure --------------------------------------------------------------------------------------
def test_definition_validates_with_no_errors_and_no_warnings(definition: dict[str, Any]) -> None:
    assert validate_definition(definition) == []


def test_every_edge_resolves_within_its_own_namespace(definition: dict[str, Any]) -> None:
    for namespace, name, state in walk(definition["States"]):
        for target in targets(state):
            assert target in namespace, f"{name} -> {target} leaves its namespace"


def test_each_stage_has_exactly_one_skip_gate_that_defaults_to_the_stage(definition: dict[str, Any]) -> None:
    gates: dict[str, list[str]] = {}
    for _, name, state in walk(definition["States"]):
        for rule in state.get("Choices", []):
            for test in rule.get("And", []):
                if str(test.get("Variable", "")).startswith("$.skip_"):
                    gates.setdefault(test["Variable"], []).append(name)
                    assert state["Default"] == name.removeprefix("CheckSkip")
    assert {var: len(names) for var, names in gates.items()} == {
        f"$.{stage.skip_flag()}": 2 for stage in GRAPH.stages()  # IsPresent + BooleanEquals, one gate
    }
    assert all(len(set(names)) == 1 for names in gates.values())


def test_skip_gates_test_is_present_and_boolean_true(definition: dict[str, Any]) -> None:
    for _, name, state in walk(definition["States"]):
        if name.startswith("CheckSkip"):
            (rule,) = state["Choices"]
            assert [list(t)[1] for t in rule["And"]] == ["IsPresent", "BooleanEquals"]
            assert [t[list(t)[1]] for t in rule["And"]] == [True, True]


def test_parallel_branches_never_throw_and_end_in_complete_or_failed(definition: dict[str, Any]) -> None:
    group = definition["States"]["WorkParallel"]
    assert group["Retry"] == [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]
    assert group["Catch"][0]["Next"] == "HandleFailure"
    assert "InputPath" not in group and "Parameters" not in group
    top_names = set(definition["States"])
    for branch in group["Branches"]:
        terminals = {n: s for n, s in branch["States"].items() if s.get("End")}
        assert sorted(terminals) == sorted(n for n in terminals if n.endswith(("BranchComplete", "BranchFailed")))
        assert len(terminals) == 2 and all(s["Type"] == "Pass" for s in terminals.values())
        for name, state in branch["States"].items():
            assert not set(targets(state)) & (top_names - set(branch["States"])), name
            if name in STAGES and STAGES[name].failure_class.value == "hard":
                assert state["Catch"][0]["Next"] == f"Extract{name}Error"


def test_every_stage_call_carries_run_date_and_the_preflight_flag(definition: dict[str, Any]) -> None:
    seen = set()
    for _, name, state in walk(definition["States"]):
        if name not in STAGES:
            continue
        seen.add(name)
        params = state["Parameters"]
        if state["Resource"] == LAMBDA_INVOKE:
            assert params["Payload"]["run_date.$"] == "$.run_date"
            assert params["Payload"]["preflight_only.$"] == "$.preflight_only"
            assert state["Retry"] == [{"ErrorEquals": LAMBDA_SERVICE_ERRORS, "IntervalSeconds": 2,
                                       "MaxAttempts": 3, "BackoffRate": 2.0}]
        else:
            assert state["Resource"] == BATCH_SUBMIT_SYNC
            assert params["ContainerOverrides"]["Command.$"].count("$.run_date") == 2
            (env,) = params["ContainerOverrides"]["Environment"]
            assert env["Value.$"] == "States.Format('{}', $.preflight_only)"
            assert "Retry" not in state
        assert state["TimeoutSeconds"] == STAGES[name].timeout_seconds
    assert seen == set(STAGES)


def test_result_paths_are_unique_per_state(definition: dict[str, Any]) -> None:
    paths = [s["ResultPath"] for _, n, s in walk(definition["States"])
             if s.get("ResultPath") and n in STAGES]
    assert len(paths) == len(set(paths))


def test_lambda_retries_only_service_errors(definition: dict[str, Any]) -> None:
    for _, _, state in walk(definition["States"]):
        for retry in state.get("Retry", []):
            if state.get("Resource") == LAMBDA_INVOKE:
                assert set(retry["ErrorEquals"]) <= set(LAMBDA_SERVICE_ERRORS)


def test_composing_twice_gives_the_same_definition() -> None:
    assert json.dumps(compose_definition(GRAPH)) == json.dumps(compose_definition(GRAPH))


# -- behaviour ----------------------------------------------------------------------------------------
def test_happy_path_runs_every_stage_in_order_and_notifies_success(definition: dict[str, Any]) -> None:
    services = FakeServices()
    env, result = run(definition, services)
    assert result.status == "SUCCEEDED"
    assert services.stage_calls()[:2] == ["Alpha", "Beta"]
    assert set(services.stage_calls()[2:4]) == {"Gamma", "Delta"} and services.stage_calls()[4] == "Omega"
    (notice,) = services.published
    assert notice["Subject"] == "Alpha Engine Saturday Pipeline — SUCCESS"
    assert "run_date 2026-11-21" in notice["Message"]


def test_run_date_is_the_utc_date_of_the_start_and_the_input_wins(definition: dict[str, Any]) -> None:
    services = FakeServices()
    run(definition, services)
    assert {p["Payload"]["run_date"] for n, p in services.calls if n in ("Alpha", "Delta")} == {"2026-11-21"}
    services = FakeServices()
    run(definition, services, {"run_date": "2026-01-02"})
    payloads = [p for n, p in services.calls if n == "Alpha"]
    name = payloads[0]["Payload"]["execution"]
    assert payloads[0]["Payload"] == {"stage": "alpha", "run_date": "2026-01-02", "preflight_only": False,
                                      "execution": name, "attempt": "0.0"}
    (job,) = [p for n, p in services.calls if n == "Beta"]
    command = job["ContainerOverrides"]["Command"]
    assert command == ["alpha-engine", "logcapture", "run", "--slug", "beta", "--run-date", "2026-01-02",
                       "--execution", name, "--attempt", "0.0", "--",
                       "alpha-engine", "stage", "run", "beta", "--run-date", "2026-01-02"]
    assert job["ContainerOverrides"]["Environment"] == [{"Name": "ALPHA_ENGINE_PREFLIGHT_ONLY", "Value": "false"}]


def test_skip_flags_skip_exactly_their_stage(definition: dict[str, Any]) -> None:
    services = FakeServices()
    _, result = run(definition, services, {"skip_beta": True, "skip_delta": True, "skip_omega": False})
    assert result.status == "SUCCEEDED"
    assert sorted(services.stage_calls()) == ["Alpha", "Gamma", "Omega"]


def test_a_non_boolean_skip_value_does_not_skip(definition: dict[str, Any]) -> None:
    services = FakeServices()
    run(definition, services, {"skip_alpha": "true"})
    assert "Alpha" in services.stage_calls()


def _family_member(name: str, family: str) -> type[Stage[Any]]:
    class Member(Stage[NoOptions]):
        failure_class, compute, timeout_seconds = FailureClass.HARD, Compute.BATCH, 60

        def preflight(self, ctx: Any) -> None:
            pass

        def run(self, ctx: Any) -> None:
            pass

    Member.name, Member.slug, Member.skip_family = name, name.lower(), family
    return Member


def test_a_family_flag_skips_every_stage_of_the_family_and_nothing_else() -> None:
    first, second = _family_member("FamilyOne", "family-one"), _family_member("FamilyTwo", "family-one")
    assert first.skip_flag() == second.skip_flag() == "skip_family_one"
    definition = compose_definition(StageGraph("Saturday", (*GRAPH.steps, first, second)))
    assert validate_definition(definition) == []
    (rule,) = definition["States"]["CheckSkipFamilyOne"]["Choices"]
    assert {t["Variable"] for t in rule["And"]} == {"$.skip_family_one"}
    assert "CheckSkipFamilyTwo" not in definition["States"]  # one gate for the family, none between members
    assert definition["States"]["FamilyOne"]["Next"] == "FamilyTwo"
    services = FakeServices()
    _, result = run(definition, services, {"skip_family_one": True})
    assert result.status == "SUCCEEDED"
    called = {name for name, _ in services.calls}
    assert not called & {"FamilyOne", "FamilyTwo"} and set(STAGES) <= called
    services = FakeServices()
    run(definition, services, {"skip_family_two": True})  # a member's own slug is not a flag of its own
    assert {"FamilyOne", "FamilyTwo"} <= {name for name, _ in services.calls}


def _skipped_with(name: str, family: str) -> type[Stage[Any]]:
    stage = _family_member(name, "")
    stage.skipped_with = family
    return stage


def test_a_stage_skipped_with_a_family_keeps_its_own_gate_and_the_family_gate_skips_past_it() -> None:
    first, second = _family_member("FamilyOne", "family-one"), _family_member("FamilyTwo", "family-one")
    follower = _skipped_with("Follower", "family-one")
    assert follower.skip_flags() == ("skip_follower", "skip_family_one")
    definition = compose_definition(StageGraph("Saturday", (first, second, follower, *GRAPH.steps)))
    assert validate_definition(definition) == []
    states = definition["States"]
    assert states["CheckSkipFamilyOne"]["Choices"][0]["Next"] == states["Follower"]["Next"]  # past the follower
    assert states["FamilyTwo"]["Next"] == "CheckSkipFollower"
    services = FakeServices()
    run(definition, services, {"skip_family_one": True})
    assert not {name for name, _ in services.calls} & {"FamilyOne", "FamilyTwo", "Follower"}
    services = FakeServices()
    run(definition, services, {"skip_follower": True})
    called = {name for name, _ in services.calls}
    assert {"FamilyOne", "FamilyTwo"} <= called and "Follower" not in called


def test_a_family_split_by_another_stage_or_a_stray_follower_is_refused() -> None:
    from alpha_engine.pipeline import StageDefinitionError

    first, second = _family_member("FamilyOne", "family-one"), _family_member("FamilyTwo", "family-one")
    with pytest.raises(StageDefinitionError, match="FamilyTwo is of family 'family-one', whose members must be "
                                                   "consecutive"):
        StageGraph("Saturday", (first, *GRAPH.steps, second))
    with pytest.raises(StageDefinitionError, match="Follower is skipped_with family 'family-one' but does not "
                                                   "directly follow it"):
        StageGraph("Saturday", (first, second, *GRAPH.steps, _skipped_with("Follower", "family-one")))


def test_skip_family_must_be_empty_or_a_slug() -> None:
    from alpha_engine.pipeline import StageDefinitionError, check_stage_class

    with pytest.raises(StageDefinitionError, match="skip_family 'Not A Slug' must be '' or a slug"):
        check_stage_class(_family_member("BadFamily", "Not A Slug"))


def test_hard_stage_failure_notifies_and_fails_the_run(definition: dict[str, Any]) -> None:
    services = FakeServices(fail={"Alpha": "StageFailed"})
    env, result = run(definition, services)
    assert result.status == "FAILED" and result.error == "PipelineFailure"
    assert services.stage_calls() == ["Alpha"]
    (notice,) = services.published
    assert notice["Subject"] == "Alpha Engine Saturday Pipeline — FAILED"
    assert '"stage":"alpha"' in notice["Message"] and "alpha-engine redrive" in notice["Message"]
    assert json.loads(result.cause)["failure"]["Error"] == "StageFailed"


BATCH_JOB = {"JobName": "alpha", "Status": "FAILED", "StatusReason": "Essential container in task exited",
             "Container": {"ExitCode": 2}}
LAMBDA_ERROR = {"errorMessage": "alpha (2026-11-21): PreflightError: the market store is not writable",
                "errorType": "StagePreflightFailed"}


@pytest.mark.parametrize(("error", "cause", "reason"), [
    ("States.TaskFailed",
     json.dumps({**BATCH_JOB, "Container": {"ExitCode": 2, "Reason": "PreflightError: the market store is not "
                                                                     "writable: /ws/universe/data.mdb"}}),
     "States.TaskFailed: PreflightError: the market store is not writable: /ws/universe/data.mdb"),
    ("StagePreflightFailed", json.dumps(LAMBDA_ERROR),
     "StagePreflightFailed: alpha (2026-11-21): PreflightError: the market store is not writable"),
    ("States.TaskFailed", json.dumps({**BATCH_JOB, "Container": {"ExitCode": 1, "Reason": "QualityGateError: "
                                                                     "SP500 is stale. Nothing was written."}}),
     "States.TaskFailed: QualityGateError: SP500 is stale. Nothing was written"),
    ("States.TaskFailed", json.dumps(BATCH_JOB), "States.TaskFailed: job FAILED, exit code 2"),
    ("States.Timeout", None, "States.Timeout: no cause recorded"),
    ("Lambda.Unknown", "{not json at all", "Lambda.Unknown: {not json at all"),
    ("Lambda.Unknown", "plain text cause", "Lambda.Unknown: plain text cause"),
], ids=["batch-reason", "lambda", "reason-ending-in-a-full-stop", "batch-exit-code", "timeout",
        "brace-but-not-json", "text"])
def test_the_failure_notice_leads_with_the_stage_s_own_cause(definition: dict[str, Any], error: str,
                                                              cause: str | None, reason: str) -> None:
    services = FakeServices(fail={"Alpha": (error, cause)})
    _, result = run(definition, services)
    # The failure route itself never fails, whatever the cause looks like ("{not json" included).
    assert result.status == "FAILED" and result.error == "PipelineFailure", result.cause
    assert json.loads(result.cause)["reason"] == reason
    (notice,) = services.published
    # one full stop after the cause, then what to do, then the whole error
    assert f"at Alpha. Cause: {reason}. Fix the cause, then resume" in notice["Message"]
    assert ".." not in notice["Message"].split(". Details: ")[0]


@pytest.mark.parametrize("stage", ["Alpha", "Gamma"])
def test_the_notice_names_the_phase_and_the_reason_first(definition: dict[str, Any], stage: str) -> None:
    cause = json.dumps({**BATCH_JOB, "Container": {"ExitCode": 1, "Reason": "QualityGateError: SP500 is stale"}})
    services = FakeServices(fail={stage: ("States.TaskFailed", cause)})
    _, result = run(definition, services)
    notice = services.published[-1]
    phase = "WorkParallel" if stage == "Gamma" else stage
    prefix = f"Saturday pipeline failed for run_date 2026-11-21 at {phase}. Cause: "
    assert notice["Message"].startswith(prefix), notice["Message"]
    expected = "States.TaskFailed: QualityGateError: SP500 is stale"
    line = notice["Message"][len(prefix):].split(". Fix the cause")[0]
    assert line == (f"{stage}: {expected}" if stage == "Gamma" else expected)
    if stage == "Gamma":  # the early notice quotes the same reason
        assert f"Gamma failed for run_date 2026-11-21: {expected}." in services.published[0]["Message"]


def test_soft_stage_failure_is_recorded_and_the_run_goes_on(definition: dict[str, Any]) -> None:
    services = FakeServices(fail={"Beta": "States.TaskFailed"})
    env, result = run(definition, services)
    assert result.status == "SUCCEEDED"
    output = result.output
    assert output["beta_error"]["Error"] == "States.TaskFailed"
    assert "Omega" in services.stage_calls()


def test_branch_failure_keeps_the_sibling_notifies_early_and_fails_after_the_join(
        definition: dict[str, Any]) -> None:
    services = FakeServices(fail={"Gamma": "States.Timeout"})
    env, result = run(definition, services)
    assert result.status == "FAILED"
    assert "Delta" in services.stage_calls() and "Omega" not in services.stage_calls()
    subjects = [p["Subject"] for p in services.published]
    assert subjects == ["Alpha Engine Saturday Pipeline — Gamma FAILED (early signal: the run fails at the join)",
                        "Alpha Engine Saturday Pipeline — FAILED"]
    names = visited(env, result.arn)
    assert names.index("PredictorBranchComplete") < names.index("HandleFailure")
    assert json.loads(result.cause)["phase"] == "WorkParallel"


def test_shell_run_forces_the_dry_values_and_skips_nothing(definition: dict[str, Any]) -> None:
    services = FakeServices()
    _, result = run(definition, services, {"shell_run": True, "preflight_only": False, "pipeline_label": "x"})
    assert result.status == "SUCCEEDED"
    assert sorted(services.stage_calls()) == sorted(STAGES)
    flags = {p["Payload"]["preflight_only"] for n, p in services.calls if n in ("Alpha", "Delta", "Omega")}
    assert flags == {True}
    assert {p["ContainerOverrides"]["Environment"][0]["Value"] for n, p in services.calls
            if n in ("Beta", "Gamma")} == {"true"}
    (notice,) = services.published
    assert notice["Subject"] == "Alpha Engine Saturday Preflight Pipeline — SUCCESS"


def test_shell_run_defaults_carry_no_skip_keys(definition: dict[str, Any]) -> None:
    blob = definition["States"]["ApplyShellRunDefaults"]["Parameters"]["merged.$"]
    assert "skip_" not in blob and "preflight_only" in blob


def test_shell_run_failure_subject_says_preflight(definition: dict[str, Any]) -> None:
    services = FakeServices(fail={"Alpha": "StagePreflightFailed"})
    run(definition, services, {"shell_run": True})
    assert services.published[-1]["Subject"] == "Alpha Engine Saturday Preflight Pipeline — FAILED"


@pytest.mark.parametrize("input_value", [{}, {"run_date": "2026-02-03", "skip_beta": True},
                                         {"shell_run": False}, {"pipeline_role": "weekly"}])
def test_without_shell_run_the_path_equals_a_definition_without_the_feature(
        definition: dict[str, Any], input_value: dict[str, Any]) -> None:
    plain = compose_definition(GRAPH, ComposeOptions(shell_run=False))
    feature_only = {"CheckShellRun", "ApplyShellRunDefaults", "CheckShellRunNotify", "NotifyShellRunComplete"}
    assert not feature_only & set(plain["States"])
    runs = []
    for d in (definition, plain):
        services = FakeServices()
        env, result = run(d, services, input_value)
        path = [n for n in visited(env, result.arn) if n not in feature_only]
        runs.append((result.status, path, services.calls, result.output))
    assert runs[0] == runs[1]


def test_mutex_rejects_a_second_cadence_run_in_the_same_minute(definition: dict[str, Any]) -> None:
    services = FakeServices()
    env = SfnTestEnvironment(start=START, task_invoker=services)
    first = env.run(definition, {"pipeline_role": "weekly"}, state_machine_name="alpha-engine-saturday-pipeline")
    second = env.run(definition, {"pipeline_role": "weekly"}, state_machine_name="alpha-engine-saturday-pipeline")
    assert first.status == "SUCCEEDED"
    assert second.status == "FAILED" and second.error == "MutexConflict"
    assert services.mutex_keys == {"alpha-engine-saturday-pipeline#weekly#2026-11-21T09:00"}


def test_mutex_is_bypassed_without_a_cadence_role(definition: dict[str, Any]) -> None:
    services = FakeServices()
    for role in (None, "recovery"):
        _, result = run(definition, services, {"pipeline_role": role} if role else {})
        assert result.status == "SUCCEEDED"
    assert services.mutex_keys == set()


def test_mutex_store_error_fails_open(definition: dict[str, Any]) -> None:
    services = FakeServices(mutex_store_down=True)
    _, result = run(definition, services, {"pipeline_role": "shell-run"})
    assert result.status == "SUCCEEDED"
    assert result.output["mutex_error"]["Error"] == "DynamoDb.DynamoDbException"


def test_graph_rejects_duplicate_names_and_bad_declarations() -> None:
    from alpha_engine.pipeline import StageDefinitionError, StageGraph

    with pytest.raises(StageDefinitionError, match="two stages are named 'Alpha'"):
        StageGraph("Saturday", (GRAPH.steps[0], GRAPH.steps[0]))

    class NoTimeout(Stage):
        name, slug = "NoTimeout", "no-timeout"
        failure_class = STAGES["Alpha"].failure_class
        compute = STAGES["Alpha"].compute

        def preflight(self, ctx: Any) -> None: ...
        def run(self, ctx: Any) -> None: ...

    with pytest.raises(StageDefinitionError, match="does not declare 'timeout_seconds'"):
        StageGraph("Saturday", (NoTimeout,))


def test_only_a_stage_that_receives_the_execution_input_gets_it() -> None:
    def reporter(name: str, compute: Compute) -> type[Stage[Any]]:
        class Reporter(Stage[NoOptions]):
            failure_class, timeout_seconds = FailureClass.SOFT, 60
            receives_execution_input = True

            def preflight(self, ctx: Any) -> None:
                pass

            def run(self, ctx: Any) -> None:
                pass

        Reporter.name, Reporter.slug, Reporter.compute = name, name.lower(), compute
        return Reporter

    lambda_stage, batch_stage = reporter("LambdaReporter", Compute.LAMBDA), reporter("BatchReporter", Compute.BATCH)
    definition = compose_definition(StageGraph("Saturday", (*GRAPH.steps, lambda_stage, batch_stage)))
    assert validate_definition(definition) == []
    states = definition["States"]
    assert states["LambdaReporter"]["Parameters"]["Payload"]["execution_input.$"] == "$$.Execution.Input"
    assert {"Name": "ALPHA_ENGINE_EXECUTION_INPUT", "Value.$": "States.JsonToString($$.Execution.Input)"} in \
        states["BatchReporter"]["Parameters"]["ContainerOverrides"]["Environment"]
    blob = json.dumps([state for _, name, state in walk(states) if name in STAGES])
    assert "Execution.Input" not in blob  # nobody else's call changes
    services = FakeServices()
    run(definition, services, {"skip_gamma": True})
    (payload,) = [p["Payload"] for n, p in services.calls if n == "LambdaReporter"]
    assert payload["execution_input"] == {"skip_gamma": True}
    (job,) = [p for n, p in services.calls if n == "BatchReporter"]
    assert {"Name": "ALPHA_ENGINE_EXECUTION_INPUT", "Value": '{"skip_gamma":true}'} in \
        job["ContainerOverrides"]["Environment"]


def test_receives_execution_input_must_be_a_bool() -> None:
    from alpha_engine.pipeline import StageDefinitionError, check_stage_class

    class Vague(STAGES["Alpha"]):  # type: ignore[misc, valid-type]
        receives_execution_input = "yes"

    with pytest.raises(StageDefinitionError, match="receives_execution_input must be a bool"):
        check_stage_class(Vague)


# -- placeholders: the names that differ between installations ----------------------------------------
def test_the_definition_names_its_resources_only_through_placeholders() -> None:
    from alpha_engine.pipeline import definition_placeholders

    text = definition_json(compose_definition(GRAPH))
    found = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
    assert found == {p.name for p in definition_placeholders(GRAPH)}
    assert "alpha-engine-" not in text.replace("alpha-engine logcapture", "")  # no literal function/queue names


def test_local_substitutions_fill_every_placeholder_with_the_settings_names() -> None:
    from alpha_engine.config import PipelineSettings
    from alpha_engine.pipeline import local_substitutions, substitute

    settings = PipelineSettings(function_prefix="x-", job_queue="q", mutex_table="t",
                                sns_topic_arn="arn:aws:sns:eu-west-1:222222222222:topic")
    text = definition_json(compose_definition(GRAPH))
    filled = json.loads(substitute(text, local_substitutions(GRAPH, settings)))
    dumped = json.dumps(filled)
    assert "${" not in dumped and '"q"' in dumped and '"t"' in dumped
    assert "arn:aws:sns:eu-west-1:222222222222:topic" in filled["States"]["InitializeInput"]["Output"]


@pytest.mark.parametrize(("values", "message"), [
    ({}, r"no value for \$\{A\}"),
    ({"A": "a", "B": "b"}, r"no placeholder for B"),
    ({"A": 'a"b'}, r"not a name or an ARN: A='a\"b'"),
])
def test_substitute_refuses_missing_unused_and_unsafe_values(values: dict[str, str], message: str) -> None:
    from alpha_engine.pipeline import PlaceholderError, substitute

    with pytest.raises(PlaceholderError, match=message):
        substitute('{"x": "${A}"}', values)


def test_substitute_replaces_text_as_step_functions_does() -> None:
    from alpha_engine.pipeline import substitute

    assert substitute('{"a": "${A}", "b": "pre-${A}-post"}', {"A": "arn:aws:x:1"}) == \
        '{"a": "arn:aws:x:1", "b": "pre-arn:aws:x:1-post"}'


def test_a_pipeline_name_that_cannot_be_substituted_is_a_clean_cli_error(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from alpha_engine.cli import app

    (tmp_path / "config.toml").write_text('[pipeline]\nfunction_prefix = "alpha engine "\n')
    result = CliRunner().invoke(app, ["run", "--workspace", str(tmp_path), "--config", str(tmp_path / "config.toml")])
    assert result.exit_code == 1
    assert "not a name or an ARN" in result.output and "Traceback" not in result.output
