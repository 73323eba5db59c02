"""Errors of the health checks.

::

    HealthError
     ├── HealthCheckFailedError     a hard stage failed, did not run, or lacks its outputs for the run date
     ├── FreshnessRegistryError     the freshness registry file is unreadable or fails its checks
     ├── SubstrateInventoryError    the substrate inventory file is unreadable or breaks its schema
     └── SubstrateCheckFailedError  a substrate row failed (fail or error) in WeeklySubstrateHealthCheck
"""

from __future__ import annotations

__all__ = ["FreshnessRegistryError", "HealthCheckFailedError", "HealthError", "SubstrateCheckFailedError",
           "SubstrateInventoryError"]


class HealthError(Exception):
    """Base of every health-check error."""


class HealthCheckFailedError(HealthError):
    """The health check's verdict is ``failed``; the message names every problem stage and why."""


class FreshnessRegistryError(HealthError):
    """The freshness registry cannot be used; the message names the file, each entry and field."""


class SubstrateInventoryError(HealthError):
    """The substrate inventory cannot be used; the message names the file, the row id and the field."""


class SubstrateCheckFailedError(HealthError):
    """At least one substrate row failed; the message names each row, why, and what to do."""
