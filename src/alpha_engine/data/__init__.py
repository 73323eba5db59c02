"""Market data: trading calendar, providers, the ArcticDB market store, features, quality gates,
and the data stages (MorningEnrich, DataPhase1, Scanner)."""

from ._bars import OHLCV_COLUMNS, PRICE_COLUMNS, Panel, normalize_ticker_frame, panel_from_frames
from ._calendar import TradingCalendar
from ._errors import (
    CalendarError,
    DataError,
    MarketStoreError,
    MarketStoreLockedError,
    ProviderAuthError,
    ProviderError,
    QualityGateError,
    ReadOnlyMarketStoreError,
)
from ._ingest import (
    as_of_session,
    content_digest,
    enrich_prior_session,
    ingest_market_data,
    latest_cross_section,
)
from ._market_store import MarketStore, UpsertResult
from ._quality import (
    Anomaly,
    anomalies_summary,
    backfill_regression,
    check_new_rows,
    coverage_gate,
    freshness_gate,
    freshness_report,
    split_blocked,
    validate_history,
)
from ._run_date import default_run_date
from ._scanner import ScannerConfig, scan_candidates
from ._stages import DataPhase1, MorningEnrich, Scanner
from .features import FEATURE_ORDER, FEATURES, FeatureSet, FeatureSpec, compute_features, schema_hash
from .providers import first_saturday_after, open_macro_provider, open_provider

__all__ = [
    "FEATURES",
    "FEATURE_ORDER",
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "Anomaly",
    "CalendarError",
    "DataError",
    "DataPhase1",
    "FeatureSet",
    "FeatureSpec",
    "MarketStore",
    "MarketStoreError",
    "MarketStoreLockedError",
    "MorningEnrich",
    "Panel",
    "ProviderAuthError",
    "ProviderError",
    "QualityGateError",
    "ReadOnlyMarketStoreError",
    "Scanner",
    "ScannerConfig",
    "TradingCalendar",
    "UpsertResult",
    "anomalies_summary",
    "as_of_session",
    "backfill_regression",
    "check_new_rows",
    "compute_features",
    "content_digest",
    "coverage_gate",
    "default_run_date",
    "enrich_prior_session",
    "first_saturday_after",
    "freshness_gate",
    "freshness_report",
    "ingest_market_data",
    "latest_cross_section",
    "normalize_ticker_frame",
    "open_macro_provider",
    "open_provider",
    "panel_from_frames",
    "scan_candidates",
    "schema_hash",
    "split_blocked",
    "validate_history",
]
