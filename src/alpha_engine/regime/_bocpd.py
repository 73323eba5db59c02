"""Bayesian online change-point detection (Adams & MacKay 2007, arXiv:0710.3742).

Implemented here in numpy: no well-kept Python library offers it (the packages on PyPI are
unmaintained one-offs or research code), and the algorithm is about forty lines.

Model: observations are Gaussian with unknown mean and variance, under a Normal-Gamma prior
(``mu0, kappa0, alpha0, beta0``); the posterior predictive of the next observation given a run is
a Student-t with ``2 alpha`` degrees of freedom. The hazard is constant, ``H = 1 / expected run
length`` (a memoryless, geometric prior on segment lengths).

Run-length convention: after observing ``x_t`` the posterior ``P(r_t = r | x_1..x_t)`` has
``r`` the number of observations in the current segment: ``r = 0`` is "a change happened after
``x_t``" (the new segment has seen no data yet). So ``P(r_t < k)`` is the probability that the
current segment holds fewer than ``k`` observations (a change in the last ``k`` steps);
its floor on a stationary series is about ``H`` (``r = 0`` carries no evidence yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = ["NormalGammaPrior", "bocpd_run_length", "change_probability"]


@dataclass(frozen=True)
class NormalGammaPrior:
    """Normal-Gamma prior on (mean, precision) of a Gaussian segment (defaults suit standardized data)."""

    mu0: float = 0.0
    kappa0: float = 1.0
    alpha0: float = 1.0
    beta0: float = 1.0

    def __post_init__(self) -> None:
        if not (self.kappa0 > 0 and self.alpha0 > 0 and self.beta0 > 0):
            raise ValueError(f"NormalGammaPrior: kappa0, alpha0 and beta0 must be > 0, got {self}")


def _student_t_logpdf(x: float, mu: np.ndarray, kappa: np.ndarray, alpha: np.ndarray,
                      beta: np.ndarray) -> np.ndarray:
    """log p(x | run) under each run's posterior predictive (a Student-t)."""
    nu = 2.0 * alpha
    scale2 = beta * (kappa + 1.0) / (alpha * kappa)
    z2 = (x - mu) ** 2 / scale2
    return np.asarray(gammaln((nu + 1.0) / 2.0) - gammaln(nu / 2.0) - 0.5 * np.log(np.pi * nu * scale2)
                      - (nu + 1.0) / 2.0 * np.log1p(z2 / nu))


def bocpd_run_length(x: np.ndarray, *, hazard: float, prior: NormalGammaPrior = NormalGammaPrior()) -> np.ndarray:
    """The run-length posterior after each observation.

    Parameters
    ----------
    x : array-like of shape (n_observations,)
        The series, finite.
    hazard : float
        Probability of a change at each step, in (0, 1).
    prior : NormalGammaPrior

    Returns
    -------
    ndarray of shape (n_observations, n_observations + 1)
        Row ``t`` is ``P(r_t = r | x_0..x_t)`` for ``r = 0..t+1``, ``r`` the number of observations in
        the current segment (zeros beyond); each row sums to 1.
    """
    values = np.asarray(x, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"bocpd_run_length: x must be 1-D, got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError("bocpd_run_length: x holds NaN or infinite values")
    if not 0.0 < hazard < 1.0:
        raise ValueError(f"bocpd_run_length: hazard must be in (0, 1), got {hazard}")
    n = len(values)
    out = np.zeros((n, n + 1))
    log_h, log_1mh = np.log(hazard), np.log1p(-hazard)
    log_r = np.zeros(1)  # before any data the run length is 0 with certainty
    mu, kappa = np.array([prior.mu0]), np.array([prior.kappa0])
    alpha, beta = np.array([prior.alpha0]), np.array([prior.beta0])
    for t, value in enumerate(values):
        pred = _student_t_logpdf(float(value), mu, kappa, alpha, beta)
        joint = log_r + pred
        log_r = np.concatenate(([logsumexp(joint + log_h)], joint + log_1mh))
        log_r -= logsumexp(log_r)
        out[t, : t + 2] = np.exp(log_r)
        # Each run's posterior absorbs x_t; a new run (r = 0) starts from the prior.
        beta = np.concatenate(([prior.beta0], beta + kappa * (value - mu) ** 2 / (2.0 * (kappa + 1.0))))
        mu = np.concatenate(([prior.mu0], (kappa * mu + value) / (kappa + 1.0)))
        kappa = np.concatenate(([prior.kappa0], kappa + 1.0))
        alpha = np.concatenate(([prior.alpha0], alpha + 0.5))
    return out


def change_probability(run_length: np.ndarray, within: int) -> np.ndarray:
    """``P(r_t < within)`` for each row of a run-length posterior: a change in the last ``within`` steps.

    Returns
    -------
    ndarray of shape (n_observations,)
    """
    if within < 1:
        raise ValueError(f"change_probability: within must be >= 1, got {within}")
    return np.asarray(run_length[:, :within].sum(axis=1))
