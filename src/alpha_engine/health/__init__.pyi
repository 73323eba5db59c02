from ._artifacts import HEALTH_REPORT
from ._check import SaturdayHealthCheck
from ._errors import FreshnessRegistryError, HealthCheckFailedError, HealthError
from ._freshness import (
    CYCLE_ANCHORS,
    FRESHNESS_HEARTBEAT,
    FRESHNESS_PROCESS,
    FRESHNESS_RESULTS,
    CheckResult,
    FreshnessCycle,
    check_freshness,
    cycle_date,
    run_freshness_cycle,
)
from ._registry import CADENCES, DEFAULT_REGISTRY, ArtifactSpec, load_registry, registry_gaps

__all__ = [
    "CADENCES",
    "CYCLE_ANCHORS",
    "DEFAULT_REGISTRY",
    "FRESHNESS_HEARTBEAT",
    "FRESHNESS_PROCESS",
    "FRESHNESS_RESULTS",
    "HEALTH_REPORT",
    "ArtifactSpec",
    "CheckResult",
    "FreshnessCycle",
    "FreshnessRegistryError",
    "HealthCheckFailedError",
    "HealthError",
    "SaturdayHealthCheck",
    "check_freshness",
    "cycle_date",
    "load_registry",
    "registry_gaps",
    "run_freshness_cycle",
]
