from ._artifacts import HEALTH_REPORT, SUBSTRATE_REPORT
from ._check import SaturdayHealthCheck
from ._errors import (
    FreshnessRegistryError,
    HealthCheckFailedError,
    HealthError,
    SubstrateCheckFailedError,
    SubstrateInventoryError,
)
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
from ._inventory import DEFAULT_INVENTORY, SUBSTRATE_CADENCES, Inventory, Source, SubstrateRow, load_inventory
from ._registry import DEFAULT_REGISTRY, FRESHNESS_CADENCES, ArtifactSpec, load_registry, registry_gaps
from ._substrate import SUBSTRATE_NAMESPACE, RowResult, SubstrateReport, check_substrate, substrate_datapoints
from ._substrate_stage import SubstrateCheckOptions, WeeklySubstrateHealthCheck

__all__ = [
    "CYCLE_ANCHORS",
    "DEFAULT_INVENTORY",
    "DEFAULT_REGISTRY",
    "FRESHNESS_CADENCES",
    "FRESHNESS_HEARTBEAT",
    "FRESHNESS_PROCESS",
    "FRESHNESS_RESULTS",
    "HEALTH_REPORT",
    "SUBSTRATE_CADENCES",
    "SUBSTRATE_NAMESPACE",
    "SUBSTRATE_REPORT",
    "ArtifactSpec",
    "CheckResult",
    "FreshnessCycle",
    "FreshnessRegistryError",
    "HealthCheckFailedError",
    "HealthError",
    "Inventory",
    "RowResult",
    "SaturdayHealthCheck",
    "Source",
    "SubstrateCheckFailedError",
    "SubstrateCheckOptions",
    "SubstrateInventoryError",
    "SubstrateReport",
    "SubstrateRow",
    "WeeklySubstrateHealthCheck",
    "check_freshness",
    "check_substrate",
    "cycle_date",
    "load_inventory",
    "load_registry",
    "registry_gaps",
    "run_freshness_cycle",
    "substrate_datapoints",
]
