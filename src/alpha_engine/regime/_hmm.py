"""A 3-state Gaussian HMM of weekly market data, fitted causally, states labelled by mean return.

The fit uses ``hmmlearn`` (BSD-3) ``GaussianHMM`` with diagonal covariances on standardized
features, restarted ``n_init`` times from seeds ``seed, seed + 1, ...`` (the best log-likelihood
wins). States are then ordered by the mean of the first feature (the market's weekly log
return): the lowest is ``bear``, the middle ``neutral``, the highest ``bull``.

Two posteriors, for two uses:

* :meth:`RegimeHMM.filtered` — the forward (filtering) probabilities ``P(s_t | x_1..x_t)``: what was
  knowable at ``t``. The live call uses its last row.
* :meth:`RegimeHMM.smoothed` — the forward-backward posterior ``P(s_t | x_1..x_T)``: hindsight. The
  retrospective scores old calls against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

__all__ = ["STATE_LABELS", "RegimeHMM", "fit_regime_hmm"]

STATE_LABELS = ("bear", "neutral", "bull")


@dataclass(frozen=True)
class RegimeHMM:
    """A fitted, state-ordered HMM (index 0 = bear, 1 = neutral, 2 = bull).

    Attributes
    ----------
    startprob : ndarray of shape (3,)
    transmat : ndarray of shape (3, 3)
    means : ndarray of shape (3, n_features), in the standardized feature space
    variances : ndarray of shape (3, n_features), diagonal covariances, standardized space
    center, scale : ndarray of shape (n_features,), the standardization of the fit window
    log_likelihood : float, of the fit window under the fitted model
    n_iter : int, EM iterations of the chosen restart
    converged : bool
    seed : int, the chosen restart's seed
    """

    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    seed: int

    def _log_emissions(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=float) - self.center) / self.scale
        diff2 = (z[:, None, :] - self.means[None, :, :]) ** 2 / self.variances[None, :, :]
        return np.asarray(-0.5 * (np.log(2.0 * np.pi * self.variances)[None, :, :] + diff2).sum(axis=2))

    def _forward(self, log_b: np.ndarray) -> np.ndarray:
        log_a = np.log(self.transmat)
        alpha = np.empty_like(log_b)
        alpha[0] = np.log(self.startprob) + log_b[0]
        alpha[0] -= logsumexp(alpha[0])
        for t in range(1, len(log_b)):
            alpha[t] = logsumexp(alpha[t - 1][:, None] + log_a, axis=0) + log_b[t]
            alpha[t] -= logsumexp(alpha[t])
        return alpha

    def filtered(self, features: np.ndarray) -> np.ndarray:
        """Forward probabilities ``P(s_t | x_0..x_t)``, shape (n_weeks, 3): row t uses no data after t."""
        return np.asarray(np.exp(self._forward(self._log_emissions(features))))

    def smoothed(self, features: np.ndarray) -> np.ndarray:
        """Forward-backward posteriors ``P(s_t | x_0..x_T)``, shape (n_weeks, 3)."""
        log_b = self._log_emissions(features)
        log_alpha = self._forward(log_b)
        log_a = np.log(self.transmat)
        log_beta = np.zeros_like(log_b)
        for t in range(len(log_b) - 2, -1, -1):
            log_beta[t] = logsumexp(log_a + (log_b[t + 1] + log_beta[t + 1])[None, :], axis=1)
            log_beta[t] -= logsumexp(log_beta[t])
        post = log_alpha + log_beta
        post -= logsumexp(post, axis=1, keepdims=True)
        return np.asarray(np.exp(post))


def fit_regime_hmm(features: np.ndarray, *, seed: int, n_init: int = 3, n_iter: int = 100,
                   tol: float = 1e-3) -> RegimeHMM:
    """Fit the 3-state HMM on ``features`` (only the data the caller passes: causal by construction).

    Parameters
    ----------
    features : array-like of shape (n_weeks, n_features)
        Column 0 is the market's weekly log return (it orders the states); finite values.
    seed : int
        Restart ``i`` uses ``random_state = seed + i``; the same seed gives the same model.
    n_init, n_iter, tol : int, int, float
        EM restarts, the iteration cap and the log-likelihood tolerance of each.
    """
    from hmmlearn.hmm import GaussianHMM

    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or x.shape[0] < 10:
        raise ValueError(f"fit_regime_hmm: features must be (n_weeks >= 10, n_features), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("fit_regime_hmm: features hold NaN or infinite values")
    if n_init < 1 or n_iter < 1:
        raise ValueError(f"fit_regime_hmm: n_init and n_iter must be >= 1, got {n_init}, {n_iter}")
    center = x.mean(axis=0)
    scale = x.std(axis=0)
    if np.any(scale <= 0):
        raise ValueError("fit_regime_hmm: a feature is constant over the fit window")
    z = (x - center) / scale
    best = None
    for i in range(n_init):
        model = GaussianHMM(n_components=3, covariance_type="diag", n_iter=n_iter, tol=tol,
                            random_state=seed + i, min_covar=1e-3)
        model.fit(z)
        score = float(model.score(z))
        if best is None or score > best[0]:
            best = (score, model, seed + i)
    assert best is not None
    score, model, chosen = best
    order = np.argsort(model.means_[:, 0], kind="stable")
    variances = np.stack([np.diag(c) for c in model.covars_])[order]
    return RegimeHMM(
        startprob=np.clip(model.startprob_[order], 1e-12, None) / np.clip(model.startprob_[order], 1e-12, None).sum(),
        transmat=_clip_rows(model.transmat_[np.ix_(order, order)]),
        means=model.means_[order], variances=variances, center=center, scale=scale,
        log_likelihood=score, n_iter=int(model.monitor_.iter), converged=bool(model.monitor_.converged),
        seed=chosen)


def _clip_rows(matrix: np.ndarray) -> np.ndarray:
    """A transition matrix with no exact zeros (log(0) in the filter), rows renormalized."""
    clipped = np.clip(matrix, 1e-12, None)
    return np.asarray(clipped / clipped.sum(axis=1, keepdims=True))
