"""Continue a failed run on AWS: a new execution of the same state machine whose input keeps the
failed run's ``run_date`` and skips the stages that finished (``pipeline.rerun_input``).

Step Functions' own RedriveExecution restarts at the state that failed, which with the pipeline's
failure route is ``FailExecution``: it would only fail again (docs/pipeline.md, Recovery).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alpha_engine.pipeline import StageGraph, rerun_input

from ._aws import aws_errors
from ._errors import DeployError

__all__ = ["ENDED_UNSUCCESSFULLY", "Rerun", "plan_rerun", "start_rerun"]

# The statuses an execution can be continued from.
ENDED_UNSUCCESSFULLY = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_NAME_LIMIT = 80  # Step Functions' execution name limit


@dataclass(frozen=True)
class Rerun:
    """What continuing ``execution_arn`` takes: a new execution ``name`` of ``state_machine_arn``
    with ``input``."""

    execution_arn: str
    state_machine_arn: str
    name: str
    input: dict[str, Any]


def _history(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in client.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def plan_rerun(client: Any, graph: StageGraph, execution_arn: str, *, now: datetime | None = None) -> Rerun:
    """The new execution that continues ``execution_arn`` (read with the ``stepfunctions`` client);
    an execution still running or that succeeded is a :class:`DeployError`."""
    with aws_errors(f"execution {execution_arn}: reading it"):
        described = client.describe_execution(executionArn=execution_arn)
        if described["status"] not in ENDED_UNSUCCESSFULLY:
            raise DeployError(f"execution {described['name']} is {described['status']}: only a FAILED, TIMED_OUT or "
                              "ABORTED run is continued")
        events = _history(client, execution_arn)
    original = json.loads(described.get("input") or "{}")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"-rerun-{stamp}"
    name = described["name"][:_NAME_LIMIT - len(suffix)] + suffix
    return Rerun(execution_arn, described["stateMachineArn"], name, rerun_input(events, graph, original))


def start_rerun(client: Any, rerun: Rerun) -> str:
    """Start the planned execution; its ARN."""
    with aws_errors(f"state machine {rerun.state_machine_arn}: starting {rerun.name}"):
        started = client.start_execution(stateMachineArn=rerun.state_machine_arn, name=rerun.name,
                                         input=json.dumps(rerun.input, sort_keys=True))
    return str(started["executionArn"])
