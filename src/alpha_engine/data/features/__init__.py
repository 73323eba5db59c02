"""Feature engine: the catalog (:data:`FEATURES`) and its vectorized computation over a panel.

Usage::

    fs = compute_features(panel, macro, market_symbol="SPY", sector_of=sectors)
    fs.frames["rsi_14"]          # dates x tickers, float64
    fs.for_ticker("AAPL")        # dates x FEATURE_ORDER, float32
    fs.latest()                  # tickers x FEATURE_ORDER on the last date

See ``_registry`` for groups, units and what was left out, ``_engine`` for the close-only and
causality guarantees, ``_technical`` / ``_macro`` / ``_interactions`` for the formulas and where they
deliberately differ from upstream, ``_rolling`` for the window-local rolling arithmetic.
"""

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

for _obj in (FeatureSet, FeatureSpec, compute_features, cross_sectional_zscore, feature_spec, schema_hash):
    _obj.__module__ = __name__
del _obj
