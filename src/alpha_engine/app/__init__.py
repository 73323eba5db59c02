"""The composition root: the only package that imports every domain.

It holds the Saturday stage graph (order, branches, hard/soft), the committed definition, the
resource wiring (which stores and the notifier a run opens, and how) and the run-date policy (the default run
date, and which run dates are refused before anything runs), bundled as the
:class:`~alpha_engine.pipeline.PipelineApp` ``SATURDAY`` that the settings name by default.
"""

from ._edgar import EDGAR_ERROR_MAP, EdgarClientFetcher
from ._monitoring import (
    MONITOR_LOCK,
    MonitorBusyError,
    TickPart,
    TickReport,
    WatchdogCheck,
    alarm_evaluation,
    configured_inventory,
    declared_alarms,
    freshness_cycle,
    monitor_tick,
    watchdog_check,
)
from ._overview import health_overview
from ._resources import (
    RESOURCES,
    open_artifacts,
    open_edgar_filings,
    open_market,
    open_metrics,
    open_notifications,
    open_rag_evidence,
    open_research_db,
    probe_edgar_filings,
    probe_market,
    probe_research_db,
)
from ._run_date import check_run_date, default_run_date
from ._saturday import DEFINITION_FILE, SATURDAY, SATURDAY_GRAPH

__all__ = [
    "MONITOR_LOCK",
    "MonitorBusyError",
    "TickPart",
    "TickReport",
    "WatchdogCheck",
    "alarm_evaluation",
    "configured_inventory",
    "declared_alarms",
    "freshness_cycle",
    "monitor_tick",
    "watchdog_check",
    "DEFINITION_FILE",
    "EDGAR_ERROR_MAP",
    "RESOURCES",
    "SATURDAY",
    "SATURDAY_GRAPH",
    "EdgarClientFetcher",
    "check_run_date",
    "default_run_date",
    "health_overview",
    "open_artifacts",
    "open_edgar_filings",
    "open_market",
    "open_metrics",
    "open_notifications",
    "open_rag_evidence",
    "open_research_db",
    "probe_edgar_filings",
    "probe_market",
    "probe_research_db",
]
