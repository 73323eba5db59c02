from ._aws import AwsClients, aws_clients
from ._changes import Change, ChangeSet, render_changes
from ._errors import StackError, StackFailedError, StackStateError, StackTimeoutError, TemplateError
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

__all__ = [
    "CAPABILITIES",
    "MAX_TEMPLATE_BODY_BYTES",
    "ApplyOutcome",
    "AwsClients",
    "Change",
    "ChangeSet",
    "DestroyOutcome",
    "Stack",
    "StackError",
    "StackEvent",
    "StackFailedError",
    "StackResource",
    "StackStateError",
    "StackTimeoutError",
    "TemplateError",
    "Waiting",
    "aws_clients",
    "change_set_name",
    "render_changes",
    "render_event",
    "template_key",
]
