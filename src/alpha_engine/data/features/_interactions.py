"""The 5 interaction features: a ticker feature scaled by the VIX regime (or the market trend).

``vix_level - 1`` is 0 at the VIX baseline (20), positive in stress, negative when calm. Upstream's
catalog gives the formulas of ``mom5d_x_vix``, ``rsi_x_vix`` and ``sector_x_trend`` only; for
``atr_x_vix`` and ``vol_trend_x_vix`` we apply the same pattern (the feature, centred on its neutral
value where it has one, times the regime): ``atr_14_pct * (vix_level - 1)`` and
``(volume_trend - 1) * (vix_level - 1)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._rolling import simple_return

__all__ = ["interaction_features"]


def interaction_features(technical: Mapping[str, np.ndarray], vix_level: np.ndarray, market_close: np.ndarray,
                         params: Mapping[str, int | float]) -> dict[str, np.ndarray]:
    """Interactions in catalog order; ``vix_level`` and ``market_close`` are (dates,) columns."""
    regime = (vix_level - 1.0)[:, None]
    market_trend = simple_return(market_close, int(params["momentum_long"]))[:, None]
    return {
        "mom5d_x_vix": technical["momentum_5d"] * regime,
        "rsi_x_vix": (technical["rsi_14"] - 50.0) / 50.0 * regime,
        "sector_x_trend": technical["sector_vs_spy_5d"] * market_trend,
        "atr_x_vix": technical["atr_14_pct"] * regime,
        "vol_trend_x_vix": (technical["volume_trend"] - 1.0) * regime,
    }
