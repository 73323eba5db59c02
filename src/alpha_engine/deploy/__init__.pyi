from ._aws import AwsClients, aws_clients
from ._changes import Change, ChangeSet, render_changes
from ._errors import (
    DeployError,
    StackError,
    StackFailedError,
    StackStateError,
    StackTimeoutError,
    TemplateError,
)
from ._iam import RESOURCE_ACCESS, definition_permissions
from ._rerun import Rerun, plan_rerun, start_rerun
from ._stack import (
    CAPABILITIES,
    MAX_TEMPLATE_BODY_BYTES,
    ApplyOutcome,
    DestroyOutcome,
    Stack,
    StackEvent,
    StackResource,
    Waiting,
    change_set_name,
    render_event,
    template_key,
)
from ._template import Template, logical_id, synthesize

__all__ = [
    "ApplyOutcome",
    "AwsClients",
    "CAPABILITIES",
    "Change",
    "ChangeSet",
    "DeployError",
    "DestroyOutcome",
    "MAX_TEMPLATE_BODY_BYTES",
    "RESOURCE_ACCESS",
    "Rerun",
    "Stack",
    "StackError",
    "StackEvent",
    "StackFailedError",
    "StackResource",
    "StackStateError",
    "StackTimeoutError",
    "Template",
    "TemplateError",
    "Waiting",
    "aws_clients",
    "change_set_name",
    "definition_permissions",
    "logical_id",
    "plan_rerun",
    "render_changes",
    "render_event",
    "start_rerun",
    "synthesize",
    "template_key",
]
