from ._artifacts import HEALTH_REPORT
from ._check import SaturdayHealthCheck
from ._errors import HealthCheckFailedError, HealthError

__all__ = ["HEALTH_REPORT", "HealthCheckFailedError", "HealthError", "SaturdayHealthCheck"]
