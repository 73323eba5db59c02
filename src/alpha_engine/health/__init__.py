"""Health checks of a pipeline run."""

from ._check import SaturdayHealthCheck

__all__ = ["SaturdayHealthCheck"]
