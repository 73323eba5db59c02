"""The one fake AWS account and region every local ARN carries, and the ARNs built from them.

Local executions, state machines, the execution role and the resources the service bindings
report (Lambda functions, Batch jobs, SSM output) all live in account ``111111111111`` in
``us-east-1``: the account the recorded AWS fixtures use, and the one the pipeline's default
``sns_topic_arn`` names. Change them here and nowhere else.

Execution ARNs follow AWS's two shapes (IAM service authorization reference, resource types of
AWS Step Functions): a STANDARD execution is
``arn:aws:states:<region>:<account>:execution:<stateMachineName>:<executionName>``, an EXPRESS one
``arn:aws:states:<region>:<account>:express:<stateMachineName>:<executionName>:<expressId>``.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "LOCAL_ACCOUNT",
    "LOCAL_REGION",
    "ROLE_ARN",
    "StateMachineType",
    "execution_arn",
    "is_express_execution_arn",
    "state_machine_arn",
]

LOCAL_ACCOUNT: Final = "111111111111"
LOCAL_REGION: Final = "us-east-1"
ROLE_ARN: Final = f"arn:aws:iam::{LOCAL_ACCOUNT}:role/alpha-engine-local"

StateMachineType = Literal["STANDARD", "EXPRESS"]

_STATES_PREFIX: Final = f"arn:aws:states:{LOCAL_REGION}:{LOCAL_ACCOUNT}"


def state_machine_arn(state_machine_name: str) -> str:
    """``arn:aws:states:us-east-1:111111111111:stateMachine:<name>`` (the same for both types)."""
    return f"{_STATES_PREFIX}:stateMachine:{state_machine_name}"


def execution_arn(state_machine_name: str, execution_name: str, *, express_id: str | None = None) -> str:
    """A STANDARD execution's ARN, or an EXPRESS one's when ``express_id`` is given."""
    if express_id is not None:
        return f"{_STATES_PREFIX}:express:{state_machine_name}:{execution_name}:{express_id}"
    return f"{_STATES_PREFIX}:execution:{state_machine_name}:{execution_name}"


def is_express_execution_arn(arn: str) -> bool:
    """True for an EXPRESS execution's ARN (resource type ``express``)."""
    parts = arn.split(":")
    return len(parts) > 5 and parts[2] == "states" and parts[5] == "express"
