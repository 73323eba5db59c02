"""The weekly regime call: HMM filtered state probabilities, the composite z-score and BOCPD."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from ._bocpd import NormalGammaPrior, bocpd_run_length, change_probability
from ._composite import composite_zscore
from ._errors import RegimeInputError
from ._hmm import STATE_LABELS, fit_regime_hmm
from ._inputs import RegimeInputs
from ._options import RegimeSubstrateOptions

__all__ = ["build_substrate", "rounded"]

_DIGITS = 6


def rounded(value: Any) -> Any:
    """Floats rounded to 6 digits, recursively (stable bytes across BLAS builds' last-bit noise)."""
    if isinstance(value, float | np.floating):
        return round(float(value), _DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def build_substrate(inputs: RegimeInputs, options: RegimeSubstrateOptions, *, seed: int,
                    run_date: date) -> dict[str, Any]:
    """The substrate document (``regime/{date}/substrate.json``) for ``inputs`` (already causal)."""
    features = inputs.hmm_features()
    if len(features) < options.min_weeks:
        raise RegimeInputError(
            f"regime: {len(features)} weeks of {inputs.market_symbol} returns up to {inputs.as_of.isoformat()}; "
            f"the HMM needs at least {options.min_weeks} (min_weeks)")
    x = features.to_numpy()
    model = fit_regime_hmm(x, seed=seed, n_init=options.n_init, n_iter=options.n_iter)
    filtered = model.filtered(x)[-1]
    state = int(np.argmax(filtered))
    weekly_mean = model.means[:, 0] * model.scale[0] + model.center[0]
    weekly_vol = np.sqrt(model.variances[:, 0]) * model.scale[0]

    returns = features["market_return"].to_numpy()
    standardized = (returns - returns.mean()) / returns.std()
    hazard = 1.0 / options.hazard_weeks
    run_length = bocpd_run_length(standardized, hazard=hazard, prior=NormalGammaPrior())
    last = run_length[-1]
    change = change_probability(run_length, options.change_window_weeks)[-1]

    missing = [{"symbol": symbol, "consequence": consequence} for symbol, consequence in inputs.missing]
    document = {
        "date": run_date.isoformat(),
        "as_of": inputs.as_of.isoformat(),
        "week": features.index[-1].date().isoformat(),
        "market_symbol": inputs.market_symbol,
        "label": STATE_LABELS[state],
        "probabilities": dict(zip(STATE_LABELS, filtered.tolist(), strict=True)),
        "hmm": {
            "method": "3-state Gaussian HMM (hmmlearn GaussianHMM, diagonal covariances, standardized features); "
                      "states ordered by mean weekly return; probabilities are the forward (filtered) "
                      "posterior of the last week, not the smoother",
            "features": list(features.columns),
            "n_weeks": len(features),
            "first_week": features.index[0].date().isoformat(),
            "last_week": features.index[-1].date().isoformat(),
            "states": {label: {"mean_weekly_return": float(weekly_mean[i]), "weekly_volatility": float(weekly_vol[i])}
                       for i, label in enumerate(STATE_LABELS)},
            "transition": model.transmat.tolist(),
            "diagnostics": {"log_likelihood": model.log_likelihood, "iterations": model.n_iter,
                            "converged": model.converged, "seed": model.seed, "n_init": options.n_init,
                            "n_iter_cap": options.n_iter},
        },
        "composite": composite_zscore(inputs, window=options.zscore_window_weeks),
        "change_point": {
            "method": "Bayesian online change-point detection (Adams & MacKay 2007) on standardized weekly "
                      "index returns; Gaussian segments with unknown mean and variance (Normal-Gamma prior "
                      "mu0 0, kappa0 1, alpha0 1, beta0 1); constant hazard",
            "hazard": hazard,
            "window_weeks": options.change_window_weeks,
            "probability": float(change),
            "map_run_length_weeks": int(np.argmax(last)),
        },
        "inputs": {
            "used": inputs.used,
            "missing": missing,
            "degraded": bool(missing),
        },
        "seed": seed,
    }
    return dict(rounded(document))
