"""A composite regime z-score: how today's market compares with its own recent past.

Components (weekly, each z-scored against its own trailing ``window`` weeks, the current week
included; a sign makes "higher = more bullish"):

=====================  ===========================================================  ====
component              value at week t                                              sign
=====================  ===========================================================  ====
trailing_return_12w    log(close_t / close_{t-12})                                   +1
volatility_12w         std of the last 12 weekly log returns x sqrt(52)             -1
drawdown_52w           close_t / max(close over the last 52 weeks) - 1              +1
vix_level              log VIX_t (when VIX is present)                               -1
term_spread            TNX_t - IRX_t, 10-year minus 13-week yield (when present)      +1
=====================  ===========================================================  ====

The composite is the mean of the signed z-scores of the components available; its label is
``bull`` above +0.5, ``bear`` below -0.5, ``neutral`` between.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._inputs import RegimeInputs

__all__ = ["COMPOSITE_THRESHOLD", "composite_zscore"]

COMPOSITE_THRESHOLD = 0.5
_MIN_HISTORY = 26  # weeks of a component's history before its z-score is used


def _components(inputs: RegimeInputs) -> dict[str, tuple[pd.Series, int]]:
    close = inputs.market
    ret = np.log(close).diff()
    out = {
        "trailing_return_12w": (np.log(close / close.shift(12)), 1),
        "volatility_12w": (ret.rolling(12).std() * np.sqrt(52.0), -1),
        "drawdown_52w": (close / close.rolling(52, min_periods=1).max() - 1.0, 1),
    }
    if "VIX" in inputs.macro:
        out["vix_level"] = (np.log(inputs.macro["VIX"]), -1)
    if "TNX" in inputs.macro and "IRX" in inputs.macro:
        out["term_spread"] = (inputs.macro["TNX"] - inputs.macro["IRX"], 1)
    return out


def composite_zscore(inputs: RegimeInputs, *, window: int = 260) -> dict[str, Any]:
    """The composite at the last week of ``inputs``: {score, label, window_weeks, components}.

    A component with fewer than 26 weeks of history in the window, or no spread, is left out (and
    listed with ``z: null``); with no component at all the score is null and the label ``neutral``.
    """
    if window < _MIN_HISTORY:
        raise ValueError(f"composite_zscore: window must be >= {_MIN_HISTORY} weeks, got {window}")
    components: dict[str, dict[str, Any]] = {}
    signed: list[float] = []
    for name, (series, sign) in _components(inputs).items():
        history = series.dropna().iloc[-window:]
        value = float(series.iloc[-1]) if np.isfinite(series.iloc[-1]) else None
        spread = float(history.std()) if len(history) >= _MIN_HISTORY else 0.0
        z = None
        if value is not None and spread > 0:
            z = (value - float(history.mean())) / spread
            signed.append(sign * z)
        components[name] = {"value": value, "z": z, "sign": sign}
    score = float(np.mean(signed)) if signed else None
    if score is None or abs(score) <= COMPOSITE_THRESHOLD:
        label = "neutral"
    else:
        label = "bull" if score > 0 else "bear"
    return {"score": score, "label": label, "window_weeks": window, "threshold": COMPOSITE_THRESHOLD,
            "components": components}
