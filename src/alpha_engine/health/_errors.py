"""Errors of the health checks.

::

    HealthError
     └── HealthCheckFailedError   a hard stage failed, did not run, or lacks its outputs for the run date
"""

from __future__ import annotations

__all__ = ["HealthCheckFailedError", "HealthError"]


class HealthError(Exception):
    """Base of every health-check error."""


class HealthCheckFailedError(HealthError):
    """The health check's verdict is ``failed``; the message names every problem stage and why."""
