"""The deployment's errors.

DeployError                 the app cannot be deployed as declared (synth), or a stack operation failed
 └── StackError             an operation on a CloudFormation stack could not be done (exit 1)
      ├── TemplateError     the template or its parameters cannot be sent as given (exit 64)
      ├── StackStateError   the stack is in a state the operation cannot start from
      ├── StackFailedError  the operation ended in a failed state; carries the failed resources
      └── StackTimeoutError the stack was still in progress when the timeout ran out
"""

from __future__ import annotations

__all__ = ["DeployError", "StackError", "StackFailedError", "StackStateError", "StackTimeoutError", "TemplateError"]


class DeployError(Exception):
    """The app cannot be deployed as declared, or a stack operation failed; the message names what
    and what to do next."""


class StackError(DeployError):
    """Base of every stack operation error; the text says what failed, on which stack, and what to do."""


class TemplateError(StackError):
    """The template or a ``--parameter`` cannot be sent as given (too large without a bucket, an
    undeclared parameter, a parameter without a value)."""


class StackStateError(StackError):
    """The stack is in a state the operation cannot start from (ROLLBACK_COMPLETE before apply,
    an operation in progress)."""


class StackFailedError(StackError):
    """The stack ended in a failed state (``status``); ``reasons`` are the failed resources' lines."""

    def __init__(self, message: str, status: str, reasons: tuple[str, ...]) -> None:
        super().__init__(message)
        self.status = status
        self.reasons = reasons


class StackTimeoutError(StackError):
    """Waiting ran out of time; CloudFormation carries on with the operation."""
