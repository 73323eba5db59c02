"""The feature catalog: names, groups, units, inputs, parameters and the schema hash."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest

from alpha_engine.data.features import (
    FEATURE_GROUPS,
    FEATURE_ORDER,
    FEATURE_PARAMS,
    FEATURE_UNITS,
    FEATURES,
    FeatureSpec,
    _registry,
    feature_spec,
    schema_hash,
)

SUFFIX_UNITS = {"_pct": "pct", "_ratio": "ratio", "_raw": "raw", "_zscore": "zscore", "_log_return": "log_return"}
KNOWN_INPUTS = {"Open", "High", "Low", "Close", "Volume", "SPY", "VIX", "VIX3M", "TNX", "IRX", "GLD", "USO",
                "sector_etf"}


def test_names_are_unique_and_order_matches_specs() -> None:
    assert len(set(FEATURE_ORDER)) == len(FEATURE_ORDER) == len(FEATURES)
    assert FEATURE_ORDER == tuple(spec.name for spec in FEATURES)
    assert all(re.fullmatch(r"[a-z0-9_]+", name) for name in FEATURE_ORDER)


def test_catalog_has_the_upstream_groups_in_canonical_order() -> None:
    groups = [spec.group for spec in FEATURES]
    assert {g: groups.count(g) for g in FEATURE_GROUPS} == {
        "technical": 38, "macro": 7, "interaction": 5, "cross_sectional": 6}
    # grouped, in group order: technical first, cross-sectional last
    assert groups == sorted(groups, key=FEATURE_GROUPS.index)
    assert FEATURE_ORDER[:3] == ("rsi_14", "macd_cross", "macd_above_zero")


def test_every_feature_has_a_known_units_class_and_suffixes_agree() -> None:
    for spec in FEATURES:
        assert spec.units in FEATURE_UNITS, spec.name
        for suffix, units in SUFFIX_UNITS.items():
            if spec.name.endswith(suffix):
                assert spec.units == units, spec.name


def test_every_feature_declares_known_inputs_and_a_description() -> None:
    for spec in FEATURES:
        assert spec.inputs, spec.name
        assert set(spec.inputs) <= KNOWN_INPUTS, spec.name
        assert spec.description.strip(), spec.name


def test_factor_loadings_cover_the_six_derivable_bases_only() -> None:
    zscores = [spec for spec in FEATURES if spec.group == "cross_sectional"]
    assert [s.name for s in zscores] == ["momentum_20d_zscore", "return_60d_zscore", "beta_60d_zscore",
                                         "idio_vol_60d_zscore", "realized_vol_63d_zscore",
                                         "dist_from_52w_high_zscore"]
    for spec in zscores:
        assert spec.inputs == feature_spec(spec.name.removesuffix("_zscore")).inputs
    assert "pe_ratio_zscore" not in FEATURE_ORDER and "roe_zscore" not in FEATURE_ORDER


def test_spec_rejects_unknown_group_or_units() -> None:
    with pytest.raises(ValueError, match="group 'fundamental'"):
        FeatureSpec("x", "fundamental", "pct", "d", ("Close",))
    with pytest.raises(ValueError, match="units 'percent'"):
        FeatureSpec("x", "technical", "percent", "d", ("Close",))


def test_feature_spec_looks_up_by_name() -> None:
    assert feature_spec("beta_60d").inputs == ("Close", "SPY")
    with pytest.raises(KeyError, match="no_such_feature"):
        feature_spec("no_such_feature")


def test_params_carry_the_upstream_feature_cfg() -> None:
    upstream = {"rsi_period": 14, "macd_fast": 12, "macd_slow": 26, "macd_signal": 9, "macd_cross_window": 3,
                "ma_short": 50, "ma_long": 200, "momentum_short": 5, "momentum_long": 20, "high_low_window": 252,
                "vol_short": 10, "vol_long": 60, "bollinger_window": 20, "bollinger_k": 2.0, "vix_baseline": 20.0,
                "tnx_normalizer": 10.0, "ema_fast": 8, "ema_slow": 21, "atr_period": 14,
                "realized_vol_window": 20, "volume_short": 5, "volume_long": 20, "obv_short": 5, "obv_long": 20,
                "rsi_slope_window": 5, "beta_window": 60, "vol_of_vol_window": 30, "max_drawdown_window": 60}
    assert {k: FEATURE_PARAMS[k] for k in upstream} == upstream
    with pytest.raises(TypeError):
        FEATURE_PARAMS["rsi_period"] = 7  # type: ignore[index]


def test_schema_hash_is_stable() -> None:
    assert re.fullmatch(r"[0-9a-f]{12}", schema_hash())
    assert schema_hash() == schema_hash()
    # pinned: a catalog or parameter change must show up here (and in stored schema_version.json files)
    assert schema_hash() == "3d3b5a4bc6c2"


def test_schema_hash_changes_when_a_param_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = schema_hash()
    monkeypatch.setattr(_registry, "FEATURE_PARAMS", MappingProxyType({**FEATURE_PARAMS, "rsi_period": 15}))
    assert schema_hash() != before


def test_schema_hash_changes_when_a_spec_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = schema_hash()
    changed = (FeatureSpec("rsi_14", "technical", "level", "another formula", ("Close",)), *FEATURES[1:])
    monkeypatch.setattr(_registry, "FEATURES", changed)
    assert schema_hash() != before
