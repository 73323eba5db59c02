"""The deployment's errors."""

from __future__ import annotations

__all__ = ["DeployError"]


class DeployError(Exception):
    """The app cannot be deployed as declared, or a stack operation failed; the message names what
    and what to do next."""
