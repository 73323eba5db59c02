from ._cross_sectional import cross_sectional_zscore
from ._engine import FeatureSet, compute_features
from ._registry import (
    FEATURE_GROUPS,
    FEATURE_ORDER,
    FEATURE_PARAMS,
    FEATURE_UNITS,
    FEATURES,
    FeatureSpec,
    feature_spec,
    schema_hash,
)

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS",
    "FEATURE_ORDER",
    "FEATURE_PARAMS",
    "FEATURE_UNITS",
    "FeatureSet",
    "FeatureSpec",
    "compute_features",
    "cross_sectional_zscore",
    "feature_spec",
    "schema_hash",
]
