"""Macro features: one value per date, from macro closes aligned to the panel's dates.

Alignment is exact-date: a macro close counts on a panel date only if the macro series has that
date; a date it lacks is NaN there (never forward-filled -- a stale value would be a proxy). A
missing macro symbol makes every feature that needs it all-NaN.

Differences from upstream (modules.md section 1.2 / 1.1):

* ``vix_term_slope`` = (VIX3M - VIX) / max(VIX, 1). Upstream had two formulas: the per-ticker
  compute used (VIX - VIX3M)/20, the backfill's macro library (VIX3M - VIX)/max(VIX, 1); we use the
  latter (positive in contango, scale-free).
* ``xsect_dispersion`` was a placeholder 0 upstream; here it is computed for real (see
  ``_cross_sectional``), so it depends on which tickers the panel holds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._errors import DataError
from ._rolling import simple_return

__all__ = ["MACRO_SYMBOLS", "align_close", "macro_features"]

MACRO_SYMBOLS = ("VIX", "VIX3M", "TNX", "IRX", "GLD", "USO")


def align_close(macro: Mapping[str, pd.DataFrame], symbol: str, dates: pd.DatetimeIndex) -> np.ndarray:
    """``symbol``'s Close on ``dates`` as float64 (dates,); all-NaN if ``macro`` has no such symbol."""
    frame = macro.get(symbol)
    if frame is None:
        return np.full(len(dates), np.nan)
    if "Close" not in frame.columns:
        raise DataError(f"features: macro frame {symbol!r} has no 'Close' column (columns: {list(frame.columns)})")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"features: macro frame {symbol!r} is not indexed by dates")
    close = frame["Close"]
    if not close.index.is_unique:
        close = close[~close.index.duplicated(keep="last")]
    return np.ascontiguousarray(close.reindex(dates).to_numpy(dtype=np.float64, na_value=np.nan))


def macro_features(closes: Mapping[str, np.ndarray], params: Mapping[str, int | float]) -> dict[str, np.ndarray]:
    """vix_level .. vix_term_slope, each (dates,), from the aligned closes of :data:`MACRO_SYMBOLS`."""
    vix, vix3m, tnx, irx = closes["VIX"], closes["VIX3M"], closes["TNX"], closes["IRX"]
    window = int(params["momentum_short"])
    normalizer = float(params["tnx_normalizer"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "vix_level": vix / float(params["vix_baseline"]),
            "yield_10y": tnx / normalizer,
            "yield_curve_slope": (tnx - irx) / normalizer,
            "gold_mom_5d": simple_return(closes["GLD"], window),
            "oil_mom_5d": simple_return(closes["USO"], window),
            "vix_term_slope": (vix3m - vix) / np.maximum(vix, 1.0),
        }
