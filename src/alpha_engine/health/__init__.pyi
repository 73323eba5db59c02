from ._artifacts import HEALTH_REPORT
from ._check import SaturdayHealthCheck

__all__ = ["HEALTH_REPORT", "SaturdayHealthCheck"]
