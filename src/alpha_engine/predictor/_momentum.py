"""The deterministic L1 momentum score: a fixed linear blend of four stored technical features.

Upstream retired the LightGBM momentum model for this baseline (validation IC about 0.01 against
about 0.31), so the score has no fitted state and needs no registry artifact: ``MOMENTUM_FORMULA``
goes into the manifest instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MOMENTUM_FORMULA", "MOMENTUM_INPUTS", "momentum_score"]

MOMENTUM_INPUTS = ("momentum_5d", "momentum_20d", "price_vs_ma50", "rsi_14")
MOMENTUM_FORMULA = "0.4*momentum_5d + 0.3*momentum_20d + 0.2*price_vs_ma50 + 0.1*(rsi_14 - 50)/100"

# Value each input takes when it is missing: the point where it contributes nothing to the score.
_NEUTRAL = np.array([0.0, 0.0, 0.0, 50.0])


def momentum_score(features: pd.DataFrame) -> pd.Series:
    """The momentum score of each row, ``MOMENTUM_FORMULA``.

    A missing (NaN or +-inf) input counts as neutral: 0 for ``momentum_5d``, ``momentum_20d`` and
    ``price_vs_ma50``, 50 for ``rsi_14``, so it adds nothing and the other inputs still score the row.
    A row whose four inputs are all missing scores NaN (there is nothing to score).

    Parameters
    ----------
    features : DataFrame of shape (n_rows, >= 4)
        Must hold the columns ``MOMENTUM_INPUTS``; usually a long frame indexed by (date, ticker).

    Returns
    -------
    Series of shape (n_rows,)
        Named ``momentum_score``, with the index of ``features``.
    """
    missing = [name for name in MOMENTUM_INPUTS if name not in features.columns]
    if missing:
        raise ValueError(f"momentum_score: features lack the column(s) {missing}; need {list(MOMENTUM_INPUTS)}")
    values = features[list(MOMENTUM_INPUTS)].to_numpy(dtype=np.float64, na_value=np.nan)
    known = np.isfinite(values)
    filled = np.where(known, values, _NEUTRAL)
    score = 0.4 * filled[:, 0] + 0.3 * filled[:, 1] + 0.2 * filled[:, 2] + 0.1 * (filled[:, 3] - 50.0) / 100.0
    score = np.where(known.any(axis=1), score, np.nan)
    return pd.Series(score, index=features.index, name="momentum_score")
