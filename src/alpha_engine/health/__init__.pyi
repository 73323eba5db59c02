from ._artifacts import HEALTH_REPORT, SUBSTRATE_REPORT
from ._check import SaturdayHealthCheck
from ._errors import HealthCheckFailedError, HealthError, SubstrateCheckFailedError, SubstrateInventoryError
from ._inventory import CADENCES, DEFAULT_INVENTORY, Inventory, Source, SubstrateRow, load_inventory
from ._substrate import SUBSTRATE_NAMESPACE, RowResult, SubstrateReport, check_substrate, substrate_datapoints
from ._substrate_stage import SubstrateCheckOptions, WeeklySubstrateHealthCheck

__all__ = [
    "CADENCES",
    "DEFAULT_INVENTORY",
    "HEALTH_REPORT",
    "SUBSTRATE_NAMESPACE",
    "SUBSTRATE_REPORT",
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
    "check_substrate",
    "load_inventory",
    "substrate_datapoints",
]
