from ._artifacts import (
    CANDIDATES,
    INSIDER,
    LATEST_WEEKLY,
    WEEKLY_CONSTITUENTS,
    WEEKLY_MANIFEST,
    WEEKLY_VALIDATION,
)
from ._errors import DataError, ProviderAuthError, ProviderError, QualityGateError
from ._ingest import enrich_prior_session, ingest_market_data, latest_cross_section
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
from ._scanner import ScannerOptions, scan_candidates
from ._stages import DataPhase1, DataPhase2, DataPhase2Options, MorningEnrich, Scanner
from ._status import feature_catalog, latest_feature_values, latest_validation, market_status, validate_store
from .features import FEATURE_ORDER, FEATURES, FeatureSet, FeatureSpec, compute_features, schema_hash
from .providers import check_data_settings, first_saturday_after, open_macro_provider, open_provider

__all__ = [
    "CANDIDATES",
    "FEATURES",
    "FEATURE_ORDER",
    "INSIDER",
    "LATEST_WEEKLY",
    "WEEKLY_CONSTITUENTS",
    "WEEKLY_MANIFEST",
    "WEEKLY_VALIDATION",
    "Anomaly",
    "DataError",
    "DataPhase1",
    "DataPhase2",
    "DataPhase2Options",
    "FeatureSet",
    "FeatureSpec",
    "MorningEnrich",
    "ProviderAuthError",
    "ProviderError",
    "QualityGateError",
    "Scanner",
    "ScannerOptions",
    "anomalies_summary",
    "backfill_regression",
    "check_data_settings",
    "check_new_rows",
    "compute_features",
    "coverage_gate",
    "enrich_prior_session",
    "feature_catalog",
    "first_saturday_after",
    "freshness_gate",
    "freshness_report",
    "ingest_market_data",
    "latest_cross_section",
    "latest_feature_values",
    "latest_validation",
    "market_status",
    "open_macro_provider",
    "open_provider",
    "scan_candidates",
    "schema_hash",
    "split_blocked",
    "validate_history",
    "validate_store",
]
