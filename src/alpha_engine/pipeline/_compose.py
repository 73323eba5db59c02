"""Compose the pipeline's Amazon States Language definition from a stage graph.

Pure functions: a graph and options in, an ASL dict out. The rules the upstream system learnt
the hard way hold here because the wiring is generated, never written by hand:

* ``InitializeInput`` layers identity defaults and ``run_date`` (the UTC date of
  ``$$.Execution.StartTime``) under the execution input, so the caller's values win and one
  run_date is stamped once for the whole run.
* Names that differ between installations (function names, the job queue and job definitions, the
  mutex table, the alerts topic ARN) are ``${Placeholder}`` strings, filled in as AWS fills in
  a state machine's ``DefinitionSubstitutions``: by :func:`substitute`, with the deployment's
  values (the CloudFormation template) or the local ones (:func:`local_substitutions`). The text
  is the same everywhere; only the substitutions differ.
* A conditional DynamoDB put keyed ``state-machine#role#YYYY-MM-DDTHH:MM`` rejects a duplicate
  trigger of a cadence role (``MutexConflict``); a store error fails open.
* ``shell_run: true`` forces the dry control values over the input (no ``skip_*`` keys), so
  every stage boots and runs only its preflight. Without ``shell_run`` the path is exactly the
  one a definition without the feature would take (strict superset).
* One skip gate per stage (``And[IsPresent, BooleanEquals true]``) on its flag ``skip_<slug>``; a
  family (consecutive stages with one ``skip_family``) has one gate, in front of its first member,
  on ``skip_<family>``, which skips the family and the stages ``skipped_with`` it that follow (these
  keep their own gates); no gate stands between members of a family.
* Every stage call carries ``run_date`` and the preflight-only flag; a stage that declares
  ``receives_execution_input`` also gets ``$$.Execution.Input`` (its skip flags). Lambda stages
  retry only Lambda service errors; Batch stages are not retried (a stage failure is not transient).
* Hard stages catch into ``Extract<Name>Error`` then ``HandleFailure`` (notify) then
  ``FailExecution``; soft stages record ``$.<slug>_error`` and go on.
* A polling stage (:class:`~._polling.PollingStage`) becomes Submit, a Wait loop around Poll, and
  its process phase under its own name; every phase is a Lambda call catching to the next step.
* Parallel branches never throw: each ends in a Complete or Failed Pass, a failed hard stage
  sends an immediate notice, and the run fails after the join, keeping the siblings' work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from alpha_engine.config import PipelineSettings

from ._errors import PipelineError
from ._graph import Branch, ParallelGroup, StageGraph
from ._lambda_handler import EXECUTION_INPUT_ENV
from ._polling import PollingStage
from ._stage import Compute, FailureClass, Stage

__all__ = [
    "CADENCE_ROLES",
    "ComposeOptions",
    "FAILURE_ROUTE",
    "Placeholder",
    "PlaceholderError",
    "compose_definition",
    "definition_json",
    "definition_placeholders",
    "local_substitutions",
    "rewind_states",
    "substitute",
    "task_states",
]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT_SYNC = "arn:aws:states:::batch:submitJob.sync"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
DYNAMODB_PUT = "arn:aws:states:::aws-sdk:dynamodb:putItem"
# Roles whose runs must not overlap: a second trigger in the same minute is a duplicate.
CADENCE_ROLES = ("weekly", "shell-run")
LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# The execution input keys with identity values, and what a shell run forces instead.
IDENTITY_DEFAULTS = {"pipeline_label": "", "preflight_only": False}
SHELL_RUN_VALUES = {"pipeline_label": " Preflight", "preflight_only": True}
# States on the top-level failure route.
FAILURE_ROUTE = ("HandleFailure", "FailExecution")
PREFLIGHT_ENV = "ALPHA_ENGINE_PREFLIGHT_ONLY"
# Which attempt of a stage this is, '{redrive count}.{retry count}': with the execution's name it
# keys the attempt's log, so two runs, two retries or a redrive never share one.
ATTEMPT_LABEL = "States.Format('{}.{}', $$.Execution.RedriveCount, $$.State.RetryCount)"


@dataclass(frozen=True)
class ComposeOptions:
    """Feature switches (both on in the shipped definition)."""

    shell_run: bool = True
    mutex: bool = True


PlaceholderKind = Literal["function", "job_definition", "job_queue", "mutex_table", "alerts_topic"]
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
# What a substituted value may hold: names and ARNs, nothing that could need escaping where the
# placeholder sits (a JSON string, or a string literal inside a JSONata expression).
_SUBSTITUTION_VALUE = re.compile(r"[A-Za-z0-9:/_.+=,@-]+")


class PlaceholderError(PipelineError):
    """A definition's placeholder has no value, a value names no placeholder, or a value is not a
    name or an ARN (a ``[pipeline]`` name such as ``function_prefix`` holding a space, say)."""


@dataclass(frozen=True)
class Placeholder:
    """One ``${name}`` in the definition: what it stands for (``kind``, and the stage's ``slug`` for
    a function or a job definition)."""

    name: str
    kind: PlaceholderKind
    slug: str | None = None

    @property
    def text(self) -> str:
        return "${" + self.name + "}"


ALERTS_TOPIC = Placeholder("AlertsTopicArn", "alerts_topic")
MUTEX_TABLE = Placeholder("MutexTable", "mutex_table")
JOB_QUEUE = Placeholder("JobQueue", "job_queue")


def stage_placeholder(stage: type[Stage[Any]]) -> Placeholder:
    """The function (lambda) or job definition (batch) that runs ``stage``."""
    if stage.compute is Compute.LAMBDA:
        return Placeholder(f"{stage.name}Function", "function", stage.slug)
    return Placeholder(f"{stage.name}JobDefinition", "job_definition", stage.slug)


def definition_placeholders(graph: StageGraph, options: ComposeOptions | None = None) -> tuple[Placeholder, ...]:
    """Every placeholder :func:`compose_definition` writes for ``graph``, in a stable order."""
    options = options or ComposeOptions()
    out = [ALERTS_TOPIC]
    if options.mutex:
        out.append(MUTEX_TABLE)
    stages = list(graph.stages())
    if any(stage.compute is Compute.BATCH for stage in stages):
        out.append(JOB_QUEUE)
    out.extend(stage_placeholder(stage) for stage in stages)
    return tuple(out)


def local_substitutions(graph: StageGraph, settings: PipelineSettings,
                        options: ComposeOptions | None = None) -> dict[str, str]:
    """The values the local runtime fills the placeholders with: the names in ``settings``."""
    values = {"alerts_topic": settings.sns_topic_arn, "mutex_table": settings.mutex_table,
              "job_queue": settings.job_queue}
    out = {}
    for placeholder in definition_placeholders(graph, options):
        if placeholder.kind == "function":
            out[placeholder.name] = f"{settings.function_prefix}{placeholder.slug}"
        elif placeholder.kind == "job_definition":
            out[placeholder.name] = settings.job_definition
        else:
            out[placeholder.name] = values[placeholder.kind]
    return out


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``${name}`` replaced by ``values[name]``, as Step Functions applies a state
    machine's DefinitionSubstitutions (plain text replacement). A placeholder without a value, a value
    for no placeholder, or a value that is not a name or an ARN is a :class:`PlaceholderError`
    naming them."""
    found = set(_PLACEHOLDER.findall(text))
    missing = sorted(found - set(values))
    unused = sorted(set(values) - found)
    if missing or unused:
        problems = ([f"no value for {', '.join('${' + m + '}' for m in missing)}"] if missing else []) + \
                   ([f"no placeholder for {', '.join(unused)}"] if unused else [])
        raise PlaceholderError(f"definition substitutions: {'; '.join(problems)}")
    bad = sorted(name for name, value in values.items() if not _SUBSTITUTION_VALUE.fullmatch(value))
    if bad:
        raise PlaceholderError("definition substitutions: not a name or an ARN: "
                               + ", ".join(f"{name}={values[name]!r}" for name in bad))
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _literal(text: str) -> str:
    """``text`` as an intrinsic-function string literal (quotes, braces, backslash escaped)."""
    escaped = "".join("\\" + c if c in "\\'{}" else c for c in text)
    return f"'{escaped}'"


def _json_literal(value: Any) -> str:
    return _literal(json.dumps(value, separators=(",", ":"), sort_keys=True))


def _snake(text: str) -> str:
    out = []
    for i, c in enumerate(text):
        if c.isupper() and i and not text[i - 1].isupper():
            out.append("_")
        out.append(c.lower())
    return "".join(out).replace("-", "_")


# One line for a caught error object {Error, Cause}, whatever raised it: the stage's own error (a Batch
# job's Container.Reason, a Lambda's errorMessage), else the job's status and exit code, else the raw
# cause. A JSONata function, so the states that explain a failure (and the notifications that quote
# it) compute the same line on AWS and locally. A cause is parsed only when it looks like a JSON
# object ('{' ... '}'): the causes the stages' services give are JSON objects (Lambda errors, Batch
# jobs) or plain text (service errors), and JSONata has no way to catch a failed $parse. A text cause
# that starts with '{' and ends with '}' yet is not JSON would fail this state with
# States.QueryEvaluationError, and the run would still fail, without the notice.
REASON_FUNCTION = (
    "function($f) {("
    "$c := ($type($f.Cause) = 'string' and $substring($f.Cause, 0, 1) = '{' and $substring($f.Cause, -1) = '}')"
    " ? $parse($f.Cause) : {};"
    " $r := $f.Error & ': ' & ("
    "$c.Container.Reason ? $c.Container.Reason"
    " : $c.errorMessage ? $c.errorMessage"
    " : $c.Status ? 'job ' & $c.Status & ($exists($c.Container.ExitCode)"
    " ? ', exit code ' & $string($c.Container.ExitCode) : '')"
    " : $exists($f.Cause) ? $string($f.Cause) : 'no cause recorded');"
    # one line the notices end with their own full stop: a reason's trailing one is dropped
    " $substring($r, -1) = '.' ? $substring($r, 0, $length($r) - 1) : $r)}"
)


def _jsonata(body: str) -> str:
    """A JSONata expression with ``$reason`` (REASON_FUNCTION) in scope."""
    return f"{{% ($reason := {REASON_FUNCTION}; {body}) %}}"


def _is_true(variable: str) -> dict[str, Any]:
    return {"And": [{"Variable": variable, "IsPresent": True}, {"Variable": variable, "BooleanEquals": True}]}


class _Composer:
    def __init__(self, graph: StageGraph, options: ComposeOptions) -> None:
        self.graph = graph
        self.options = options
        self.title = graph.title

    # -- top level ------------------------------------------------------------------------------
    def definition(self) -> dict[str, Any]:
        states: dict[str, Any] = {}
        entry = self.steps(self.graph.steps, states, "CheckShellRunNotify" if self.options.shell_run
                           else "NotifyComplete", branch=None)
        top: dict[str, Any] = {"InitializeInput": self.initialize_input()}
        after_init = entry
        if self.options.shell_run:
            after_init = "CheckShellRun"
        if self.options.mutex:
            top["InitializeInput"]["Next"] = "CheckMutexRole"
            top.update(self.mutex_states(after_init))
        else:
            top["InitializeInput"]["Next"] = after_init
        if self.options.shell_run:
            top.update(self.shell_run_states(entry))
        top.update(states)
        top.update(self.notify_states())
        if self.can_fail():
            top.update(self.failure_states())
        return {
            "Comment": f"alpha-engine {self.title} pipeline. Generated by alpha_engine.pipeline.compose_definition "
                       "from the stage graph; do not edit by hand.",
            "StartAt": "InitializeInput",
            "States": top,
        }

    def can_fail(self) -> bool:
        """Whether any state routes to HandleFailure (a hard stage or a parallel group)."""
        return any(isinstance(step, ParallelGroup) or step.failure_class is FailureClass.HARD
                   for step in self.graph.steps)

    def initialize_input(self) -> dict[str, Any]:
        # JSONata, so the topic's placeholder is a plain string the substitution can fill (an
        # intrinsic function's string literal would need its braces escaped).
        defaults = {**IDENTITY_DEFAULTS, "sns_topic_arn": ALERTS_TOPIC.text}
        fields = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in defaults.items())
        return {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "Identity defaults and run_date (UTC date of the start) under the input: the input wins.",
            "Output": (f"{{% $merge([{{{fields}, \"run_date\": "
                       "$substringBefore($states.context.Execution.StartTime, 'T')}, "
                       "$states.context.Execution.Input]) %}"),
        }

    def mutex_states(self, after: str) -> dict[str, Any]:
        minute = ", ".join(
            f"States.ArrayGetItem(States.StringSplit($$.Execution.StartTime, ':'), {i})" for i in (0, 1)
        )
        roles = [{"Variable": "$.pipeline_role", "StringEquals": role} for role in CADENCE_ROLES]
        return {
            "CheckMutexRole": {
                "Type": "Choice",
                "Comment": "Cadence roles take the execution mutex; other roles (recovery, smoke) bypass it.",
                "Choices": [{
                    "And": [{"Variable": "$.pipeline_role", "IsPresent": True}, {"Or": roles}],
                    "Next": "AcquireMutex",
                }],
                "Default": after,
            },
            "AcquireMutex": {
                "Type": "Task",
                "Comment": "One run per state machine, role and start minute. A store error fails open.",
                "Resource": DYNAMODB_PUT,
                "Parameters": {
                    "TableName": MUTEX_TABLE.text,
                    "Item": {
                        "mutex_key": {"S.$": "States.Format('{}#{}#{}:{}', $$.StateMachine.Name, "
                                             f"$.pipeline_role, {minute})"},
                        "execution_arn": {"S.$": "$$.Execution.Id"},
                        "started_at": {"S.$": "$$.Execution.StartTime"},
                        "state_machine": {"S.$": "$$.StateMachine.Name"},
                        "pipeline_role": {"S.$": "$.pipeline_role"},
                    },
                    "ConditionExpression": "attribute_not_exists(mutex_key)",
                },
                "ResultPath": None,
                "Catch": [
                    {"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException",
                                     "DynamoDB.ConditionalCheckFailedException"],
                     "ResultPath": "$.mutex_conflict", "Next": "MutexConflict"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.mutex_error", "Next": after},
                ],
                "Next": after,
            },
            "MutexConflict": {
                "Type": "Fail",
                "Error": "MutexConflict",
                "Cause": "Another execution of this state machine and role started in the same minute.",
            },
        }

    def shell_run_states(self, entry: str) -> dict[str, Any]:
        return {
            "CheckShellRun": {
                "Type": "Choice",
                "Choices": [{**_is_true("$.shell_run"), "Next": "ApplyShellRunDefaults"}],
                "Default": entry,
            },
            "ApplyShellRunDefaults": {
                "Type": "Pass",
                "Comment": "Shell run: the dry values win over the input; nothing is skipped.",
                "Parameters": {
                    "merged.$": f"States.JsonMerge($, States.StringToJson({_json_literal(SHELL_RUN_VALUES)}), false)"
                },
                "OutputPath": "$.merged",
                "Next": entry,
            },
        }

    def notify_states(self) -> dict[str, Any]:
        topic = {"TopicArn.$": "$.sns_topic_arn"}
        states: dict[str, Any] = {}
        if self.options.shell_run:
            states["CheckShellRunNotify"] = {
                "Type": "Choice",
                "Choices": [{**_is_true("$.shell_run"), "Next": "NotifyShellRunComplete"}],
                "Default": "NotifyComplete",
            }
        states["NotifyComplete"] = {
            "Type": "Task",
            "Resource": SNS_PUBLISH,
            "Parameters": {
                **topic,
                "Subject": f"Alpha Engine {self.title} Pipeline — SUCCESS",
                "Message.$": f"States.Format('The {self.title} pipeline completed for run_date "
                             "{}. Execution: {}', $.run_date, $$.Execution.Name)",
            },
            "ResultPath": "$.notify_result",
            "End": True,
        }
        if self.options.shell_run:
            states["NotifyShellRunComplete"] = {
                "Type": "Task",
                "Resource": SNS_PUBLISH,
                "Parameters": {
                    **topic,
                    "Subject": f"Alpha Engine {self.title} Preflight Pipeline — SUCCESS",
                    "Message.$": f"States.Format('Preflight: every stage of the {self.title} pipeline booted and "
                                 "passed its preflight for run_date {}; nothing was written. Execution: {}', "
                                 "$.run_date, $$.Execution.Name)",
                },
                "ResultPath": "$.notify_result",
                "End": True,
            }
        return states

    def failure_states(self) -> dict[str, Any]:
        return {
            "HandleFailure": {
                "Type": "Task",
                "Comment": "The cause comes first in one line: the failed stage's own error, not its container's.",
                "QueryLanguage": "JSONata",
                "Resource": SNS_PUBLISH,
                "Arguments": {
                    "TopicArn": "{% $states.input.sns_topic_arn %}",
                    "Subject": f"{{% 'Alpha Engine {self.title}' & $states.input.pipeline_label & "
                               "' Pipeline — FAILED' %}",
                    "Message": _jsonata(
                        f"$e := $states.input.error; '{self.title}' & $states.input.pipeline_label & "
                        "' pipeline failed for run_date ' & $states.input.run_date & ' at ' & "
                        "($e.phase ? $e.phase : 'an unexpected state') & '. Cause: ' & "
                        "($e.reason ? $e.reason : $reason($e)) & "
                        "'. Fix the cause, then resume from the failed stage with: alpha-engine redrive ' & "
                        "$states.context.Execution.Name & '. Details: ' & $string($e)"),
                },
                "Output": "{% $merge([$states.input, {'failure_notify': $states.result}]) %}",
                "Next": "FailExecution",
            },
            "FailExecution": {
                "Type": "Fail",
                "Error": "PipelineFailure",
                "CausePath": "States.JsonToString($.error)",
            },
        }

    # -- stages -----------------------------------------------------------------------------------
    def steps(self, steps: tuple[Any, ...], states: dict[str, Any], next_entry: str,
              branch: Branch | None) -> str:
        """Add the states of ``steps`` (in reverse, each knowing its successor); return the entry."""
        entries = [""] * len(steps) + [next_entry]
        for i in reversed(range(len(steps))):
            step = steps[i]
            if isinstance(step, ParallelGroup):
                entries[i] = self.group(step, states, entries[i + 1])
            else:
                entries[i] = self.stage(step, states, entries[i + 1], branch, gated=not _continues_family(steps, i),
                                        skip_to=entries[_skip_end(steps, i)])
        return entries[0]

    def stage(self, stage: type[Stage[Any]], states: dict[str, Any], next_entry: str, branch: Branch | None, *,
              gated: bool = True, skip_to: str | None = None) -> str:
        """Add the stage's states; ``gated``: behind its own skip gate, whose skip edge goes to
        ``skip_to`` (default: ``next_entry``). Return its entry."""
        name, snake = stage.name, stage.snake()
        gate = f"CheckSkip{name}"
        entry = f"{name}Submit" if issubclass(stage, PollingStage) else name
        if gated:
            states[gate] = {
                "Type": "Choice",
                "Choices": [{**_is_true(f"$.{stage.skip_flag()}"), "Next": skip_to or next_entry}],
                "Default": entry,
            }
        if issubclass(stage, PollingStage):
            self.polling(stage, states, next_entry)
            return gate if gated else entry
        task = self.invoke(stage)
        if stage.failure_class is FailureClass.HARD:
            extract = f"Extract{name}Error"
            task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{snake}_failure", "Next": extract}]
            states[name] = {**task, "Next": next_entry}
            states[extract] = {
                "Type": "Pass",
                "Comment": "error = {phase, stage, failure: the caught {Error, Cause}, reason: one line}",
                "QueryLanguage": "JSONata",
                "Output": _jsonata(
                    f"$f := $states.input.{snake}_failure; $merge([$states.input, {{'error': "
                    f"{{'phase': '{name}', 'stage': '{stage.slug}', 'failure': $f, 'reason': $reason($f)}}}}])"),
                "Next": "HandleFailure" if branch is None else f"Publish{name}FailureImmediate",
            }
            if branch is not None:
                states[f"Publish{name}FailureImmediate"] = self.early_notice(stage, branch)
        else:
            task["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{snake}_error", "Next": next_entry}]
            states[name] = {**task, "Next": next_entry}
        return gate if gated else name

    def polling(self, stage: type[PollingStage[Any]], states: dict[str, Any], next_entry: str) -> None:
        """A polling stage's phases (:mod:`._polling`): Submit, then a Wait loop around Poll until the
        work has ended, then the process phase under the stage's own name. Every phase catches to
        ``next_entry`` with ``$.<slug>_error`` (the stage is soft); the poll phase itself fails once
        the loop's cap has passed, so the loop always ends."""
        name, snake, loop = stage.name, stage.snake(), stage.poll_loop
        job = f"$.{snake}_submit.summary.job"
        # The calls carry the submit phase's whole summary (always there), not its job: a path to
        # a missing job would fail the state with States.Runtime instead of the stage reporting it.
        submitted = f"$.{snake}_submit.summary"
        catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{snake}_error", "Next": next_entry}]
        submit = self.invoke(stage, phase="submit")
        states[f"{name}Submit"] = {**submit, "ResultPath": f"$.{snake}_submit",
                                   "TimeoutSeconds": loop.submit_timeout_seconds, "Catch": catch,
                                   "Next": f"{name}PollChoice"}
        states[f"{name}PollChoice"] = {
            "Type": "Choice",
            "Comment": "Submitted work is polled; no job (nothing to wait for, or a preflight-only run) goes "
                       "straight to the process phase.",
            "Choices": [{"And": [{"Variable": f"{job}.status", "IsPresent": True},
                                 {"Variable": f"{job}.status", "StringEquals": "submitted"}],
                         "Next": f"{name}PollWait"}],
            "Default": name,
        }
        states[f"{name}PollWait"] = {"Type": "Wait", "Seconds": loop.wait_seconds, "Next": f"{name}Poll"}
        poll = self.invoke(stage, phase="poll", submitted=submitted)
        states[f"{name}Poll"] = {**poll, "ResultPath": f"$.{snake}_poll", "TimeoutSeconds": loop.poll_timeout_seconds,
                                 "Catch": catch, "Next": f"{name}PollDecision"}
        states[f"{name}PollDecision"] = {
            "Type": "Choice",
            "Comment": f"The poll phase fails (caught: soft) once {loop.max_wait_seconds} s have passed since submit.",
            "Choices": [{"Variable": f"$.{snake}_poll.summary.poll_status", "StringEquals": "ended", "Next": name}],
            "Default": f"{name}PollWait",
        }
        process = self.invoke(stage, phase="process", submitted=submitted)
        states[name] = {**process, "Catch": catch, "Next": next_entry}

    def invoke(self, stage: type[Stage[Any]], *, phase: str | None = None,
               submitted: str | None = None) -> dict[str, Any]:
        snake = stage.snake()
        comment = f"{stage.failure_class.value} stage on {stage.compute.value}"
        if stage.description:
            comment = f"{stage.description} ({comment})"
        if phase is not None:
            comment = f"{stage.name}, {phase} phase: {comment}"
        if stage.compute is Compute.LAMBDA:
            payload = {"stage": stage.slug, "run_date.$": "$.run_date", "preflight_only.$": "$.preflight_only",
                       "execution.$": "$$.Execution.Name", "attempt.$": ATTEMPT_LABEL}
            if stage.receives_execution_input:
                payload["execution_input.$"] = "$$.Execution.Input"
            if phase is not None:
                payload["phase"] = phase
            if submitted is not None:
                payload["submitted.$"] = submitted
            return {
                "Type": "Task",
                "Comment": comment,
                "Resource": LAMBDA_INVOKE,
                "Parameters": {
                    "FunctionName": stage_placeholder(stage).text,
                    "Payload": payload,
                },
                "ResultSelector": {"status.$": "$.Payload.status", "summary.$": "$.Payload.summary"},
                "ResultPath": f"$.{snake}_result",
                "TimeoutSeconds": stage.timeout_seconds,
                "Retry": [{"ErrorEquals": LAMBDA_SERVICE_ERRORS, "IntervalSeconds": 2, "MaxAttempts": 3,
                           "BackoffRate": 2.0}],
            }
        words = ["alpha-engine", "logcapture", "run", "--slug", stage.slug, "--run-date", "$.run_date",
                 "--execution", "$$.Execution.Name", "--attempt", ATTEMPT_LABEL, "--",
                 "alpha-engine", "stage", "run", stage.slug, "--run-date", "$.run_date"]
        command = ", ".join(w if w.startswith("$") or w.startswith("States.") else _literal(w) for w in words)
        environment = [{"Name": PREFLIGHT_ENV, "Value.$": "States.Format('{}', $.preflight_only)"}]
        if stage.receives_execution_input:
            environment.append({"Name": EXECUTION_INPUT_ENV, "Value.$": "States.JsonToString($$.Execution.Input)"})
        return {
            "Type": "Task",
            "Comment": comment,
            "Resource": BATCH_SUBMIT_SYNC,
            "Parameters": {
                "JobName": stage.slug,
                "JobQueue": JOB_QUEUE.text,
                "JobDefinition": stage_placeholder(stage).text,
                "ContainerOverrides": {
                    "Command.$": f"States.Array({command})",
                    "Environment": environment,
                },
            },
            "ResultSelector": {"job_id.$": "$.JobId", "status.$": "$.Status"},
            "ResultPath": f"$.{snake}_result",
            "TimeoutSeconds": stage.timeout_seconds,
        }

    def early_notice(self, stage: type[Stage[Any]], branch: Branch) -> dict[str, Any]:
        failed = f"{branch.label}BranchFailed"
        return {
            "Type": "Task",
            "Comment": "Early signal: the sibling branches go on and the run fails after the join.",
            "Resource": SNS_PUBLISH,
            "Parameters": {
                "TopicArn.$": "$.sns_topic_arn",
                "Subject.$": f"States.Format('Alpha Engine {self.title}{{}} Pipeline — {stage.name} FAILED "
                             "(early signal: the run fails at the join)', $.pipeline_label)",
                "Message.$": f"States.Format('{stage.name} failed for run_date {{}}: {{}}. The other branches "
                             "continue; the run fails after the join. Error: {{}}', $.run_date, $.error.reason, "
                             "States.JsonToString($.error))",
            },
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": f"$.{stage.snake()}_notice_error",
                       "Next": failed}],
            "Next": failed,
        }

    def group(self, group: ParallelGroup, states: dict[str, Any], next_entry: str) -> str:
        g = _snake(group.name)
        aggregate, check, extract = (f"Aggregate{group.name}Outcomes", f"Check{group.name}Outcomes",
                                     f"Extract{group.name}Error")
        branches = []
        for branch in group.branches:
            label = _snake(branch.label)
            complete, failed = f"{branch.label}BranchComplete", f"{branch.label}BranchFailed"
            branch_states: dict[str, Any] = {}
            start = self.steps(branch.stages, branch_states, complete, branch)
            branch_states[complete] = {"Type": "Pass", "Result": {"status": "OK"},
                                       "ResultPath": f"$.branch_{label}", "End": True}
            branch_states[failed] = {"Type": "Pass", "Parameters": {"status": "FAILED", "error.$": "$.error"},
                                     "ResultPath": f"$.branch_{label}", "End": True}
            branches.append({"StartAt": start, "States": branch_states})
        states[group.name] = {
            "Type": "Parallel",
            "Comment": "Branches never throw: each records OK/FAILED, and the run fails after the join.",
            "Branches": branches,
            "ResultPath": f"$.{g}_result",
            # Never retried: a retry would re-run a sibling branch's finished work.
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "HandleFailure"}],
            "Next": aggregate,
        }
        outcomes = {f"{_snake(b.label)}.$": f"$.{g}_result[{i}].branch_{_snake(b.label)}.status"
                    for i, b in enumerate(group.branches)}
        states[aggregate] = {"Type": "Pass", "Parameters": outcomes, "ResultPath": f"$.{g}_outcomes",
                             "Next": check}
        tests = [{"Variable": f"$.{g}_outcomes.{_snake(b.label)}", "StringEquals": "FAILED"}
                 for b in group.branches]
        rule = tests[0] if len(tests) == 1 else {"Or": tests}
        states[check] = {"Type": "Choice", "Choices": [{**rule, "Next": extract}], "Default": next_entry}
        branch_values = {_snake(b.label): f"$states.input.{g}_result[{i}].branch_{_snake(b.label)}"
                         for i, b in enumerate(group.branches)}
        fields = ", ".join(f"'{label}': {value}" for label, value in branch_values.items())
        states[extract] = {
            "Type": "Pass",
            "Comment": "error = the branches' outcomes, each failed branch's error, and one reason line for all",
            "QueryLanguage": "JSONata",
            "Output": _jsonata(
                f"$failed := $filter([{', '.join(branch_values.values())}], function($b) {{ $b.status = 'FAILED' }});"
                f" $merge([$states.input, {{'error': {{'phase': '{group.name}', "
                f"'outcomes': $states.input.{g}_outcomes, {fields}, "
                "'reason': $join($failed.error.(phase & ': ' & reason), '; ')}}])"),
            "Next": "HandleFailure",
        }
        return group.name


def compose_definition(graph: StageGraph, options: ComposeOptions | None = None) -> dict[str, Any]:
    """The ASL definition of ``graph`` (a fresh dict; same inputs, same dict)."""
    return _Composer(graph, options or ComposeOptions()).definition()


def definition_json(definition: dict[str, Any]) -> str:
    """The committed text form: 2-space indent, UTF-8, trailing newline."""
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def task_states(stage: type[Stage[Any]]) -> tuple[str, ...]:
    """The Task states that run ``stage``, in order: its own name last (the state whose result is
    the stage's), after a polling stage's submit and poll phases."""
    if issubclass(stage, PollingStage):
        return (f"{stage.name}Submit", f"{stage.name}Poll", stage.name)
    return (stage.name,)


def rewind_states(graph: StageGraph) -> dict[str, frozenset[str]]:
    """State names to forget when a failed run is rewound to its failed stage, by frame.

    The failure route (Extract*Error, early notices, Branch*Failed, HandleFailure) and each
    group's join. Key ``""`` is the top level; a group's key is its name (its branches).
    """
    top = set(FAILURE_ROUTE)
    routes: dict[str, frozenset[str]] = {}
    for step in graph.steps:
        if isinstance(step, ParallelGroup):
            top |= {f"Aggregate{step.name}Outcomes", f"Check{step.name}Outcomes", f"Extract{step.name}Error"}
            inner: set[str] = set()
            for branch in step.branches:
                inner.add(f"{branch.label}BranchFailed")
                for stage in branch.stages:
                    inner |= {f"Extract{stage.name}Error", f"Publish{stage.name}FailureImmediate"}
            routes[step.name] = frozenset(inner)
        else:
            top.add(f"Extract{step.name}Error")
    routes[""] = frozenset(top)
    return routes


def _continues_family(steps: tuple[Any, ...], i: int) -> bool:
    """Whether ``steps[i]`` is a family member after the family's first (it has no gate of its own)."""
    step, previous = steps[i], steps[i - 1] if i > 0 else None
    return (not isinstance(step, ParallelGroup) and bool(step.skip_family) and previous is not None
            and not isinstance(previous, ParallelGroup) and previous.skip_family == step.skip_family)


def _skip_end(steps: tuple[Any, ...], i: int) -> int:
    """The position of the first step the skip gate of ``steps[i]`` skips to: past the family it
    starts and the stages skipped with that family right after it; else the next step."""
    family = steps[i].skip_family
    j = i + 1
    if not family:
        return j
    while j < len(steps) and not isinstance(steps[j], ParallelGroup) and family in (steps[j].skip_family,
                                                                                    steps[j].skipped_with):
        j += 1
    return j
