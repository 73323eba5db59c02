"""Calibration of predicted alpha into p_up = P(label > 0), and the reliability measures behind it.

Prediction uses only the stored numbers (Platt slope/intercept, or the isotonic knots) and the
same arithmetic whether the calibrator was fitted or read back from JSON, so a round trip gives
identical probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["AlphaCalibrator", "FALLBACK_ALPHA_SCALE", "calibration_curve", "expected_calibration_error"]

# Unfitted mapping p_up = 0.5 + alpha / 0.3: linear, saturating at alpha = +-0.15 (the label clip).
FALLBACK_ALPHA_SCALE = 0.3
_METHODS = ("platt", "isotonic")
_JSON_KIND = "alpha_calibrator"
_JSON_VERSION = 1
# Near-unpenalized logistic fit (on standardized alpha) that still stays finite on separable data.
_PLATT_C = 1e4


class AlphaCalibrator:
    """Maps predicted alpha to p_up = P(label > 0).

    Before ``fit`` (or for a JSON document of an unfitted calibrator) ``predict_proba`` uses the
    fallback ``clip(0.5 + alpha / FALLBACK_ALPHA_SCALE, 0, 1)``.

    Parameters
    ----------
    method : {"platt", "isotonic"}, default "platt"
        ``platt``: logistic regression of the outcome on alpha (monotone in alpha, in the direction
        the data show). ``isotonic``: non-decreasing step-linear fit (sklearn ``IsotonicRegression``),
        held constant outside the fitted alpha range.

    Attributes
    ----------
    slope_, intercept_ : float
        Platt: p_up = expit(slope_ * alpha + intercept_).
    X_thresholds_, y_thresholds_ : ndarray of shape (n_knots,)
        Isotonic knots; p_up interpolates linearly between them.
    n_samples_ : int
        Finite (alpha, label) pairs used.
    base_rate_ : float
        Share of those pairs with label > 0.
    """

    def __init__(self, *, method: str = "platt") -> None:
        self.method = method

    def fit(self, alpha: ArrayLike, label: ArrayLike) -> AlphaCalibrator:
        """Fit on pairs where both values are finite; the outcome is ``label > 0``.

        Parameters
        ----------
        alpha : array-like of shape (n_samples,)
        label : array-like of shape (n_samples,)
            Realized label (or 0/1 outcome).

        Returns
        -------
        self
        """
        if self.method not in _METHODS:
            raise ValueError(f"AlphaCalibrator: method must be one of {_METHODS}, got {self.method!r}")
        a, outcome = _finite_pairs(alpha, label, "AlphaCalibrator.fit")
        n_up = int(outcome.sum())
        if n_up == 0 or n_up == len(outcome):
            raise ValueError(f"AlphaCalibrator.fit: needs both up and down outcomes, got {n_up} up of {len(outcome)}")
        if self.method == "platt":
            # Fit on standardized alpha (alpha is ~1e-2 in scale) and map the line back.
            centre, scale = float(a.mean()), float(a.std())
            scale = scale if scale > 0 else 1.0
            logistic = LogisticRegression(C=_PLATT_C, max_iter=1000)
            logistic.fit(((a - centre) / scale)[:, None], outcome)
            weight = float(logistic.coef_[0, 0])
            self.slope_ = weight / scale
            self.intercept_ = float(logistic.intercept_[0]) - weight * centre / scale
        else:
            iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
            iso.fit(a, outcome.astype(np.float64))
            self.X_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
            self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        self.n_samples_ = len(a)
        self.base_rate_ = n_up / len(a)
        return self

    @property
    def fitted(self) -> bool:
        """Whether the calibrator holds fitted state (else it uses the linear fallback)."""
        return hasattr(self, "n_samples_")

    def predict_proba(self, alpha: ArrayLike) -> np.ndarray:
        """p_up for each alpha, shape (n_samples,); NaN alpha gives NaN."""
        a = np.asarray(alpha, dtype=np.float64).reshape(-1)
        if not self.fitted:
            p = np.clip(0.5 + a / FALLBACK_ALPHA_SCALE, 0.0, 1.0)
        elif self.method == "platt":
            p = expit(self.slope_ * a + self.intercept_)
        else:
            # np.interp holds the end values beyond the knots: out_of_bounds="clip".
            p = np.interp(a, self.X_thresholds_, self.y_thresholds_)
        return np.where(np.isnan(a), np.nan, p)

    def calibration_curve(self, alpha: ArrayLike, label: ArrayLike, n_bins: int = 10) -> list[dict[str, float]]:
        """``calibration_curve`` with this calibrator's p_up."""
        return calibration_curve(alpha, label, n_bins, calibrator=self)

    def to_json(self) -> dict[str, Any]:
        """Fitted state as a JSON-ready dict (floats round-trip exactly through ``json``)."""
        doc: dict[str, Any] = {"kind": _JSON_KIND, "version": _JSON_VERSION, "method": self.method,
                               "fitted": self.fitted}
        if not self.fitted:
            return doc
        doc.update(n_samples=int(self.n_samples_), base_rate=float(self.base_rate_))
        if self.method == "platt":
            doc.update(slope=float(self.slope_), intercept=float(self.intercept_))
        else:
            doc.update(x_thresholds=self.X_thresholds_.tolist(), y_thresholds=self.y_thresholds_.tolist())
        return doc

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> AlphaCalibrator:
        """A calibrator from ``to_json()`` output (the dict, or its JSON text)."""
        doc: Mapping[str, Any] = json.loads(data) if isinstance(data, str) else data
        if doc.get("kind") != _JSON_KIND or doc.get("version") != _JSON_VERSION:
            raise ValueError(f"AlphaCalibrator.from_json: expected kind {_JSON_KIND!r} version {_JSON_VERSION}, "
                             f"got kind {doc.get('kind')!r} version {doc.get('version')!r}")
        method = doc.get("method")
        if method not in _METHODS:
            raise ValueError(f"AlphaCalibrator.from_json: method must be one of {_METHODS}, got {method!r}")
        calibrator = cls(method=str(method))
        if not doc.get("fitted"):
            return calibrator
        try:
            if method == "platt":
                calibrator.slope_ = float(doc["slope"])
                calibrator.intercept_ = float(doc["intercept"])
            else:
                xs = np.asarray(doc["x_thresholds"], dtype=np.float64)
                ys = np.asarray(doc["y_thresholds"], dtype=np.float64)
                if xs.ndim != 1 or xs.shape != ys.shape or len(xs) == 0:
                    raise ValueError(f"isotonic knots of shapes {xs.shape} and {ys.shape}")
                calibrator.X_thresholds_ = xs
                calibrator.y_thresholds_ = ys
            calibrator.base_rate_ = float(doc["base_rate"])
            calibrator.n_samples_ = int(doc["n_samples"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"AlphaCalibrator.from_json: malformed document ({type(exc).__name__}: {exc})") from exc
        return calibrator


def calibration_curve(alpha: ArrayLike, label: ArrayLike, n_bins: int = 10, *,
                      calibrator: AlphaCalibrator | None = None) -> list[dict[str, float]]:
    """Reliability table of p_up against the observed up-frequency, in equal-count alpha bins.

    Pairs with a non-finite alpha or label are dropped; the rest are sorted by alpha (stable) and
    cut into ``n_bins`` bins of (nearly) equal count, empty bins omitted.

    Parameters
    ----------
    alpha, label : array-like of shape (n_samples,)
    n_bins : int, default 10
    calibrator : AlphaCalibrator, optional
        Source of p_up; None uses the unfitted fallback mapping.

    Returns
    -------
    list of dict
        One per bin, in increasing alpha: ``alpha_low``, ``alpha_high``, ``mean_alpha``,
        ``mean_predicted`` (mean p_up), ``observed_frequency`` (share with label > 0), ``count``.
    """
    if n_bins < 1:
        raise ValueError(f"calibration_curve: n_bins must be >= 1, got {n_bins}")
    a, outcome = _finite_pairs(alpha, label, "calibration_curve")
    p = (calibrator if calibrator is not None else AlphaCalibrator()).predict_proba(a)
    order = np.argsort(a, kind="stable")
    rows: list[dict[str, float]] = []
    for chunk in np.array_split(order, min(n_bins, len(order))) if len(order) else []:
        rows.append({
            "alpha_low": float(a[chunk].min()),
            "alpha_high": float(a[chunk].max()),
            "mean_alpha": float(a[chunk].mean()),
            "mean_predicted": float(p[chunk].mean()),
            "observed_frequency": float(outcome[chunk].mean()),
            "count": int(len(chunk)),
        })
    return rows


def expected_calibration_error(p: ArrayLike, outcome: ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error: sum over equal-width p bins of (share of rows) * |mean p - up rate|.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1]; bins are [k/n_bins, (k+1)/n_bins), the last one closed.
    outcome : array-like of shape (n_samples,)
        1/True (any value > 0) for up.
    n_bins : int, default 10

    Returns
    -------
    float
        In [0, 1]; NaN when no pair is finite.
    """
    if n_bins < 1:
        raise ValueError(f"expected_calibration_error: n_bins must be >= 1, got {n_bins}")
    probs, up = _finite_pairs(p, outcome, "expected_calibration_error")
    if len(probs) == 0:
        return float("nan")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError(f"expected_calibration_error: p must lie in [0, 1], got [{probs.min()}, {probs.max()}]")
    bins = np.minimum((probs * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    sum_p = np.bincount(bins, weights=probs, minlength=n_bins)
    sum_up = np.bincount(bins, weights=up, minlength=n_bins)
    used = count > 0
    gaps = np.abs(sum_p[used] - sum_up[used])  # count * |mean p - rate| per bin
    return float(gaps.sum() / len(probs))


def _finite_pairs(x: ArrayLike, label: ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The finite pairs of (x, label > 0 as 0/1 float)."""
    xs = np.asarray(x, dtype=np.float64).reshape(-1)
    ys = np.asarray(label, dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise ValueError(f"{where}: inputs have {len(xs)} and {len(ys)} values")
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], (ys[keep] > 0).astype(np.float64)
