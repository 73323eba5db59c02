"""Notification channels: deliver the outbox's messages to e-mail, webhooks and SNS."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
