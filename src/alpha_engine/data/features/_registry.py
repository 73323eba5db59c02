"""The feature catalog: every feature's name, group, units, meaning and inputs, in canonical order.

Groups
    ``technical`` (38, per ticker from its bars, the market benchmark and its sector ETF),
    ``macro`` (7, one value per date, the same for every ticker), ``interaction`` (5, a ticker feature
    times the VIX regime), ``cross_sectional`` (6, per-date robust z-scores across tickers).

Units (what a value of the feature is)
    ``pct``         a fraction as a decimal, 0.05 = 5 %: simple returns, relative distances
                    (x / ref - 1), fractions of price or of a band, annualized vol of simple returns.
    ``ratio``       a quotient of two like quantities, 1.0 = equal (volume ratios, vol ratios, beta).
    ``raw``         natural units of the input (shares, price units, RSI points per day), or an
                    unnormalized product of features (the interactions).
    ``zscore``      cross-sectional z-score: mean 0, std 1 across tickers on each date.
    ``log_return``  in log-return space (std of daily log returns, annualized where the name says).
    ``flag``        a discrete signal in {-1, 0, 1} (or {0, 1}).
    ``level``       a bounded oscillator (RSI, 0..100) or a macro level over a fixed normalizer.
The upstream naming rule holds: a name ending in ``_pct``, ``_ratio``, ``_raw``, ``_zscore`` or
``_log_return`` has those units; bare names are grandfathered from upstream.

Inputs name the bar fields (``Open``, ``High``, ``Low``, ``Close``, ``Volume``), the macro symbols
(``SPY`` = the market benchmark, whatever ``market_symbol`` is, e.g. ``SP500`` for the bundled
sample; ``VIX``, ``VIX3M``, ``TNX``, ``IRX``, ``GLD``, ``USO``) and ``sector_etf`` (the ticker's sector
ETF via ``sector_of``). A feature is NaN wherever one of its inputs is missing.

Left out of the upstream catalog of 78: the 7 alternative and 13 fundamental features (no source yet)
and the ``pe_ratio_zscore`` / ``roe_zscore`` factor loadings (they need fundamentals we don't collect).

:data:`FEATURE_PARAMS` holds the upstream ``FEATURE_CFG`` values plus the constants upstream wrote
inline (return windows 60/120, realized vol 63, the 5/20-day High windows, sector windows 5/10/20,
annualization 252, the z-score's MAD scale and clip). :func:`schema_hash` fingerprints the catalog
and the parameters, so a stored feature set can be matched to the code that made it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS",
    "FEATURE_ORDER",
    "FEATURE_PARAMS",
    "FEATURE_UNITS",
    "ZSCORED_FEATURES",
    "FeatureSpec",
    "feature_spec",
    "schema_hash",
]

FEATURE_GROUPS: Final = ("technical", "macro", "interaction", "cross_sectional")
FEATURE_UNITS: Final = ("ratio", "pct", "raw", "zscore", "log_return", "flag", "level")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: ``name``, ``group`` (:data:`FEATURE_GROUPS`), ``units`` (:data:`FEATURE_UNITS`),
    a one-line ``description`` of the formula, and the ``inputs`` it needs."""

    name: str
    group: str
    units: str
    description: str
    inputs: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.group not in FEATURE_GROUPS:
            raise ValueError(f"feature {self.name!r}: group {self.group!r} is not one of {FEATURE_GROUPS}")
        if self.units not in FEATURE_UNITS:
            raise ValueError(f"feature {self.name!r}: units {self.units!r} is not one of {FEATURE_UNITS}")


FEATURE_PARAMS: Final[Mapping[str, int | float]] = MappingProxyType({
    # upstream FEATURE_CFG
    "rsi_period": 14,
    "macd_fast": 12,
    "macd_slow": 26,
    "macd_signal": 9,
    "macd_cross_window": 3,
    "ma_short": 50,
    "ma_long": 200,
    "momentum_short": 5,
    "momentum_long": 20,
    "high_low_window": 252,
    "vol_short": 10,
    "vol_long": 60,
    "bollinger_window": 20,
    "bollinger_k": 2.0,
    "vix_baseline": 20.0,
    "tnx_normalizer": 10.0,
    "ema_fast": 8,
    "ema_slow": 21,
    "atr_period": 14,
    "realized_vol_window": 20,
    "volume_short": 5,
    "volume_long": 20,
    "obv_short": 5,
    "obv_long": 20,
    "rsi_slope_window": 5,
    "beta_window": 60,
    "vol_of_vol_window": 30,
    "max_drawdown_window": 60,
    # constants upstream wrote inline
    "return_medium": 60,
    "return_long": 120,
    "realized_vol_long_window": 63,
    "high_short_window": 5,
    "high_long_window": 20,
    "sector_short": 5,
    "sector_mid": 10,
    "sector_long": 20,
    "annualization": 252,
    "zscore_mad_scale": 1.4826,
    "zscore_clip": 3.0,
})

_C = ("Close",)
_CV = ("Close", "Volume")
_V = ("Volume",)
_HLC = ("High", "Low", "Close")
_MKT = ("Close", "SPY")
_SECTOR = ("sector_etf", "SPY")


def _t(name: str, units: str, description: str, inputs: tuple[str, ...]) -> FeatureSpec:
    return FeatureSpec(name, "technical", units, description, inputs)


_TECHNICAL = (
    _t("rsi_14", "level", "Wilder RSI: 100 - 100/(1 + EWM(gain)/EWM(loss)), EWM alpha 1/14", _C),
    _t("macd_cross", "flag", "+1/-1 if MACD crossed above/below its signal line in the last 3 days, else 0", _C),
    _t("macd_above_zero", "flag", "1 if the MACD line (EMA12 - EMA26) > 0, else 0", _C),
    _t("macd_line_last", "raw", "MACD line EMA12 - EMA26 of Close, price units", _C),
    _t("price_vs_ma50", "pct", "Close / SMA50 - 1", _C),
    _t("price_vs_ma200", "pct", "Close / SMA200 - 1", _C),
    _t("momentum_5d", "pct", "Close / Close 5 days ago - 1", _C),
    _t("momentum_20d", "pct", "Close / Close 20 days ago - 1", _C),
    _t("return_60d", "pct", "Close / Close 60 days ago - 1", _C),
    _t("return_120d", "pct", "Close / Close 120 days ago - 1", _C),
    _t("avg_volume_20d", "ratio", "SMA20(Volume) / expanding mean Volume up to the date", _V),
    _t("avg_volume_20d_raw", "raw", "SMA20(Volume) in shares", _V),
    _t("dist_from_52w_high", "pct", "Close / 252-day max Close - 1 (<= 0)", _C),
    _t("dist_from_52w_low", "pct", "Close / 252-day min Close - 1 (>= 0)", _C),
    _t("rel_volume_ratio", "ratio", "Volume / SMA20(Volume)", _V),
    _t("return_vs_spy_5d", "pct", "momentum_5d - the market benchmark's 5-day return", _MKT),
    _t("vol_ratio_10_60", "ratio", "std 10d / std 60d of daily log returns", _C),
    _t("bollinger_pct", "pct", "(Close - lower) / (upper - lower), bands SMA20 +- 2 std20 (ddof 1)", _C),
    _t("sector_vs_spy_5d", "pct", "sector ETF 5-day return - market 5-day return", _SECTOR),
    _t("sector_vs_spy_10d", "pct", "sector ETF 10-day return - market 10-day return", _SECTOR),
    _t("sector_vs_spy_20d", "pct", "sector ETF 20-day return - market 20-day return", _SECTOR),
    _t("price_accel", "pct", "momentum_5d - momentum_20d", _C),
    _t("ema_cross_8_21", "pct", "EMA8 / EMA21 - 1", _C),
    _t("atr_14_pct", "pct", "EWM (span 14) of the true range / Close", _HLC),
    _t("realized_vol_20d", "pct", "std20 (ddof 1) of simple daily returns * sqrt(252)", _C),
    _t("realized_vol_63d", "pct", "std63 (ddof 1) of simple daily returns * sqrt(252)", _C),
    _t("volume_trend", "ratio", "SMA5(Volume) / SMA20(Volume)", _V),
    _t("obv_slope_10d", "ratio", "(SMA5(OBV) - SMA20(OBV)) / SMA20(Volume)", _CV),
    _t("rsi_slope_5d", "raw", "(rsi_14 - rsi_14 5 days ago) / 5, RSI points a day", _C),
    _t("volume_price_div", "flag", "sign(volume_trend - 1) * sign(momentum_5d)", _CV),
    _t("overnight_return_5d", "pct", "sum over 5 days of Open / previous Close - 1", ("Open", "Close")),
    _t("intraday_return_5d", "pct", "sum over 5 days of Close / Open - 1", ("Open", "Close")),
    _t("dist_from_5d_high", "pct", "Close / 5-day max High - 1", ("High", "Close")),
    _t("dist_from_20d_high", "pct", "Close / 20-day max High - 1", ("High", "Close")),
    _t("beta_60d", "ratio", "60-day cov/var of daily log returns against the market's", _MKT),
    _t("idio_vol_60d", "log_return", "std (ddof 1) of the 60-day in-window OLS residual vs the market * sqrt(252)",
       _MKT),
    _t("vol_of_vol_30d", "pct", "std30 (ddof 1) of realized_vol_20d", _C),
    _t("max_drawdown_60d", "pct", "60-day min of (Close / 60-day max Close - 1), as upstream", _C),
)

_MACRO = (
    FeatureSpec("vix_level", "macro", "level", "VIX / 20", ("VIX",)),
    FeatureSpec("yield_10y", "macro", "level", "TNX / 10", ("TNX",)),
    FeatureSpec("yield_curve_slope", "macro", "level", "(TNX - IRX) / 10", ("TNX", "IRX")),
    FeatureSpec("gold_mom_5d", "macro", "pct", "GLD / GLD 5 days ago - 1", ("GLD",)),
    FeatureSpec("oil_mom_5d", "macro", "pct", "USO / USO 5 days ago - 1", ("USO",)),
    FeatureSpec("vix_term_slope", "macro", "ratio", "(VIX3M - VIX) / max(VIX, 1)", ("VIX", "VIX3M")),
    FeatureSpec("xsect_dispersion", "macro", "log_return",
                "std (ddof 1) across the panel's tickers of the day's log returns", _C),
)

_VIX_REGIME = "(vix_level - 1)"
_INTERACTION = (
    FeatureSpec("mom5d_x_vix", "interaction", "raw", f"momentum_5d * {_VIX_REGIME}", ("Close", "VIX")),
    FeatureSpec("rsi_x_vix", "interaction", "raw", f"(rsi_14 - 50) / 50 * {_VIX_REGIME}", ("Close", "VIX")),
    FeatureSpec("sector_x_trend", "interaction", "raw", "sector_vs_spy_5d * market 20-day return", _SECTOR),
    FeatureSpec("atr_x_vix", "interaction", "raw", f"atr_14_pct * {_VIX_REGIME}", (*_HLC, "VIX")),
    FeatureSpec("vol_trend_x_vix", "interaction", "raw", f"(volume_trend - 1) * {_VIX_REGIME}", ("Volume", "VIX")),
)

# factor loadings: the B matrix of the executor's risk model, z-scored per date across tickers
ZSCORED_FEATURES: Final = ("momentum_20d", "return_60d", "beta_60d", "idio_vol_60d", "realized_vol_63d",
                           "dist_from_52w_high")
_BY_NAME = {spec.name: spec for spec in _TECHNICAL}
_CROSS_SECTIONAL = tuple(
    FeatureSpec(f"{base}_zscore", "cross_sectional", "zscore",
                f"robust cross-sectional z-score of {base} (median/MAD clip at 3 sigma, then mean/std)",
                _BY_NAME[base].inputs)
    for base in ZSCORED_FEATURES
)

FEATURES: Final[tuple[FeatureSpec, ...]] = (*_TECHNICAL, *_MACRO, *_INTERACTION, *_CROSS_SECTIONAL)
FEATURE_ORDER: Final[tuple[str, ...]] = tuple(spec.name for spec in FEATURES)
_SPECS = {spec.name: spec for spec in FEATURES}


def feature_spec(name: str) -> FeatureSpec:
    """The spec of feature ``name``; KeyError naming it if the catalog has no such feature."""
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"features: no feature named {name!r} in the catalog") from None


def schema_hash() -> str:
    """sha256 of the canonical JSON of (FEATURE_ORDER, specs, FEATURE_PARAMS), first 12 hex digits."""
    return _schema_hash(FEATURE_ORDER, FEATURES, FEATURE_PARAMS)


def _schema_hash(order: tuple[str, ...], specs: tuple[FeatureSpec, ...], params: Mapping[str, int | float]
                 ) -> str:
    document = {"order": list(order), "specs": [asdict(spec) for spec in specs], "params": dict(params)}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
