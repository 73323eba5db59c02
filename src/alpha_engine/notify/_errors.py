"""Errors of the notify domain.

NotifyError
 └── ChannelError   one channel could not take one message (refused, HTTP error, timeout, missing secret)
"""

from __future__ import annotations

__all__ = ["ChannelError", "NotifyError"]


class NotifyError(Exception):
    """Base of every notify error."""


class ChannelError(NotifyError):
    """A channel could not take a message. The text never holds a secret (see ``_channels.redact``)."""
