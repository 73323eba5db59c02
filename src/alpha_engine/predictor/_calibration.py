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
from scipy.special import expit, logit
from scipy.stats import norm
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["AlphaCalibrator", "CrossFitResult", "FALLBACK_ALPHA_SCALE", "SLOPE_TEST_LEVEL", "brier_score",
           "calibration_curve", "cross_fit_calibration", "expected_calibration_error"]

# Unfitted mapping p_up = 0.5 + alpha / 0.3: linear, saturating at alpha = +-0.15 (the label clip).
FALLBACK_ALPHA_SCALE = 0.3
_METHODS = ("platt", "isotonic")
_JSON_KIND = "alpha_calibrator"
_JSON_VERSION = 1
# Near-unpenalized logistic fit (on standardized alpha) that still stays finite on separable data.
_PLATT_C = 1e4
# One-sided level of the Platt slope test: the slope is kept only when z = slope / SE > norm.ppf(1 - level).
SLOPE_TEST_LEVEL = 0.05


class AlphaCalibrator:
    """Maps predicted alpha to p_up = P(label > 0).

    Before ``fit`` (or for a JSON document of an unfitted calibrator) ``predict_proba`` uses the
    fallback ``clip(0.5 + alpha / FALLBACK_ALPHA_SCALE, 0, 1)``.

    Parameters
    ----------
    method : {"platt", "isotonic"}, default "platt"
        ``platt``: logistic regression of the outcome on alpha, with the slope constrained to be
        >= 0 and shrunk to the base rate (slope 0, p_up = base rate for every alpha) unless it is
        significantly > 0: a one-sided Wald test z = slope / SE(slope) > ``norm.ppf(1 - level)``.
        SE is the cluster-robust sandwich (Liang & Zeger 1986) over ``groups`` when given (pass
        blocks of ``horizon`` consecutive dates: rows of one date share their cross-section and
        rows within a horizon share overlapping labels), else the inverse Fisher information.
        ``isotonic``: non-decreasing step-linear fit (sklearn ``IsotonicRegression``), held
        constant outside the fitted alpha range. Both are non-decreasing in alpha, so a higher
        alpha never gets a lower p_up.
    level : float, default SLOPE_TEST_LEVEL
        One-sided level of the Platt slope test.

    Attributes
    ----------
    slope_, intercept_ : float
        Platt: p_up = expit(slope_ * alpha + intercept_); slope_ >= 0.
    raw_slope_, slope_se_, slope_z_, slope_p_value_ : float
        Platt: the unconstrained fitted slope, its standard error, z = raw_slope_ / slope_se_ and
        the one-sided p-value 1 - Phi(z).
    shrunk_ : bool
        Platt: whether the slope failed the test and p_up is the base rate.
    X_thresholds_, y_thresholds_ : ndarray of shape (n_knots,)
        Isotonic knots; p_up interpolates linearly between them.
    n_samples_ : int
        Finite (alpha, label) pairs used.
    base_rate_ : float
        Share of those pairs with label > 0.
    """

    def __init__(self, *, method: str = "platt", level: float = SLOPE_TEST_LEVEL) -> None:
        self.method = method
        self.level = level

    def fit(self, alpha: ArrayLike, label: ArrayLike, groups: ArrayLike | None = None) -> AlphaCalibrator:
        """Fit on pairs where both values are finite; the outcome is ``label > 0``.

        Parameters
        ----------
        alpha : array-like of shape (n_samples,)
        label : array-like of shape (n_samples,)
            Realized label (or 0/1 outcome).
        groups : array-like of shape (n_samples,), optional
            Cluster ids for the slope's standard error (Platt only); None treats rows as independent.

        Returns
        -------
        self
        """
        if self.method not in _METHODS:
            raise ValueError(f"AlphaCalibrator: method must be one of {_METHODS}, got {self.method!r}")
        a, outcome = _finite_pairs(alpha, label, "AlphaCalibrator.fit")
        clusters = None
        if groups is not None:
            g = np.asarray(groups).reshape(-1)
            if len(g) != len(np.asarray(alpha).reshape(-1)):
                raise ValueError("AlphaCalibrator.fit: groups must have one value per alpha")
            keep = np.isfinite(np.asarray(alpha, dtype=np.float64).reshape(-1)) & np.isfinite(
                np.asarray(label, dtype=np.float64).reshape(-1))
            clusters = g[keep]
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
            se = _slope_se((a - centre) / scale, outcome, weight, float(logistic.intercept_[0]), clusters)
            self.raw_slope_ = weight / scale
            self.slope_se_ = se / scale
            self.slope_z_ = weight / se if se > 0 else (np.inf if weight > 0 else 0.0)
            self.slope_p_value_ = float(norm.sf(self.slope_z_))
            self.shrunk_ = not self.slope_p_value_ < self.level
            if self.shrunk_:
                self.slope_ = 0.0
                self.intercept_ = float(logit(n_up / len(a)))
            else:
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
            doc.update(slope=float(self.slope_), intercept=float(self.intercept_),
                       slope_test={"raw_slope": float(self.raw_slope_), "se": float(self.slope_se_),
                                   "z": float(self.slope_z_), "p_value": float(self.slope_p_value_),
                                   "level": float(self.level), "shrunk_to_base_rate": bool(self.shrunk_)})
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
                if calibrator.slope_ < 0:
                    raise ValueError(f"negative slope {calibrator.slope_}")
                test = doc.get("slope_test")
                if test is not None:
                    calibrator.raw_slope_ = float(test["raw_slope"])
                    calibrator.slope_se_ = float(test["se"])
                    calibrator.slope_z_ = float(test["z"])
                    calibrator.slope_p_value_ = float(test["p_value"])
                    calibrator.level = float(test["level"])
                    calibrator.shrunk_ = bool(test["shrunk_to_base_rate"])
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
                      calibrator: AlphaCalibrator | None = None,
                      p: ArrayLike | None = None) -> list[dict[str, float]]:
    """Reliability table of p_up against the observed up-frequency, in equal-count alpha bins.

    Pairs with a non-finite alpha or label are dropped; the rest are sorted by alpha (stable) and
    cut into ``n_bins`` bins of (nearly) equal count, empty bins omitted.

    Parameters
    ----------
    alpha, label : array-like of shape (n_samples,)
    n_bins : int, default 10
    calibrator : AlphaCalibrator, optional
        Source of p_up; None uses the unfitted fallback mapping.
    p : array-like of shape (n_samples,), optional
        Given p_up per pair (e.g. cross-fitted), used instead of ``calibrator``; must be finite
        wherever alpha and label are.

    Returns
    -------
    list of dict
        One per bin, in increasing alpha: ``alpha_low``, ``alpha_high``, ``mean_alpha``,
        ``mean_predicted`` (mean p_up), ``observed_frequency`` (share with label > 0), ``count``.
    """
    if n_bins < 1:
        raise ValueError(f"calibration_curve: n_bins must be >= 1, got {n_bins}")
    if p is not None:
        given = np.asarray(p, dtype=np.float64).reshape(-1)
        if given.shape != np.asarray(alpha).reshape(-1).shape:
            raise ValueError("calibration_curve: p must have one value per alpha")
        keep = np.isfinite(np.asarray(alpha, dtype=np.float64).reshape(-1)) & np.isfinite(
            np.asarray(label, dtype=np.float64).reshape(-1))
        given = given[keep]
    a, outcome = _finite_pairs(alpha, label, "calibration_curve")
    p = given if p is not None else (calibrator if calibrator is not None else AlphaCalibrator()).predict_proba(a)
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


def brier_score(p: ArrayLike, outcome: ArrayLike) -> float:
    """Brier score: mean of (p - outcome)^2 over finite pairs (outcome 1 when > 0); NaN when none."""
    probs, up = _finite_pairs(p, outcome, "brier_score")
    return float(np.mean((probs - up) ** 2)) if len(probs) else float("nan")


class CrossFitResult:
    """Out-of-sample p_up from ``cross_fit_calibration``, and the measures on the scored rows.

    Attributes
    ----------
    p_up : ndarray of shape (n_samples,)
        Cross-fitted p_up; NaN for rows not scored (the first fold, or a fold with no usable history).
    base_rate : ndarray of shape (n_samples,)
        The base rate of the rows each scored row's calibrator was fitted on (NaN where not scored).
    scored : ndarray of bool
    n_scored, n_folds_scored, n_shrunk : int
        Rows and folds scored, and folds whose calibrator was shrunk to the base rate.
    ece, brier, base_rate_brier, brier_skill : float
        On the scored rows: ECE of ``p_up``; Brier of ``p_up``; Brier of the (also cross-fitted)
        base rate; skill 1 - brier / base_rate_brier (> 0: better than the base rate).
    """

    def __init__(self, p_up: np.ndarray, base_rate: np.ndarray, outcome: np.ndarray, n_folds_scored: int,
                 n_shrunk: int, n_bins: int) -> None:
        self.p_up, self.base_rate = p_up, base_rate
        self.scored = np.isfinite(p_up)
        self.n_scored = int(self.scored.sum())
        self.n_folds_scored, self.n_shrunk = n_folds_scored, n_shrunk
        up = outcome[self.scored]
        self.ece = expected_calibration_error(p_up[self.scored], up, n_bins) if self.n_scored else float("nan")
        self.brier = brier_score(p_up[self.scored], up)
        self.base_rate_brier = brier_score(base_rate[self.scored], up)
        self.brier_skill = (1.0 - self.brier / self.base_rate_brier
                            if self.n_scored and self.base_rate_brier > 0 else float("nan"))

    def to_json(self) -> dict[str, Any]:
        """The measures (not the per-row arrays), JSON-ready."""
        return {"method": "cross-fitted: calibrator fitted on earlier walk-forward folds (purged), scored on the "
                          "next fold; ECE in 10 equal-width p bins; Brier skill = 1 - Brier / base-rate Brier",
                "n_scored": self.n_scored, "n_folds_scored": self.n_folds_scored, "n_shrunk": self.n_shrunk,
                "ece": self.ece, "brier": self.brier, "base_rate_brier": self.base_rate_brier,
                "brier_skill": self.brier_skill}


def cross_fit_calibration(alpha: ArrayLike, label: ArrayLike, fold: ArrayLike, date_code: ArrayLike, *,
                          purge: int, method: str = "platt", level: float = SLOPE_TEST_LEVEL,
                          cluster_dates: int | None = None, n_bins: int = 10) -> CrossFitResult:
    """Cross-fitted (forward-chaining) calibration: each fold scored by a calibrator fitted on earlier folds.

    Fold k's rows get p_up from an ``AlphaCalibrator`` fitted on the rows of folds < k whose date is
    more than ``purge`` dates before fold k's first date (López de Prado 2018, ch. 7: a label that
    spans ``purge`` dates must not overlap the scored period). The first fold is never scored. So
    the ECE and Brier are out of sample, unlike those of a calibrator scored on its own fitting rows
    (which for Platt are ~0 by construction: the logistic fit matches the mean).

    Parameters
    ----------
    alpha, label : array-like of shape (n_samples,)
        Out-of-fold predicted alpha and the realized label.
    fold : array-like of int, shape (n_samples,)
        Walk-forward fold of each row; folds are in time order.
    date_code : array-like of int, shape (n_samples,)
        Position of each row's date among the sorted dates.
    purge : int
        Dates dropped from the end of the fitting history (the label horizon).
    method, level
        As in ``AlphaCalibrator``.
    cluster_dates : int, optional
        Cluster the slope's SE by blocks of this many consecutive dates (e.g. the horizon).
    n_bins : int, default 10

    Returns
    -------
    CrossFitResult
    """
    a = np.asarray(alpha, dtype=np.float64).reshape(-1)
    y = np.asarray(label, dtype=np.float64).reshape(-1)
    folds = np.asarray(fold).reshape(-1)
    codes = np.asarray(date_code, dtype=np.int64).reshape(-1)
    if not len(a) == len(y) == len(folds) == len(codes):
        raise ValueError("cross_fit_calibration: alpha, label, fold and date_code must have the same length")
    finite = np.isfinite(a) & np.isfinite(y)
    outcome = np.where(np.isfinite(y), (y > 0).astype(np.float64), np.nan)
    p_up = np.full(len(a), np.nan)
    base = np.full(len(a), np.nan)
    n_scored = n_shrunk = 0
    for k in np.unique(folds)[1:]:
        test = folds == k
        start = int(codes[test].min())
        train = finite & (folds < k) & (codes < start - purge)
        n_up = int((y[train] > 0).sum())
        if n_up == 0 or n_up == int(train.sum()):
            continue
        groups = codes[train] // cluster_dates if cluster_dates else None
        calibrator = AlphaCalibrator(method=method, level=level).fit(a[train], y[train], groups=groups)
        p_up[test] = np.where(finite[test], calibrator.predict_proba(a[test]), np.nan)
        base[test] = np.where(finite[test], calibrator.base_rate_, np.nan)
        n_scored += 1
        n_shrunk += int(getattr(calibrator, "shrunk_", False))
    return CrossFitResult(p_up, base, outcome, n_scored, n_shrunk, n_bins)


def _slope_se(x: np.ndarray, outcome: np.ndarray, slope: float, intercept: float,
              clusters: np.ndarray | None) -> float:
    """Standard error of the logistic slope on x: inverse Fisher information, or the cluster-robust
    sandwich H^-1 (sum_c g_c g_c') H^-1 (Liang & Zeger 1986) with g_c the score summed over a cluster."""
    design = np.column_stack([np.ones_like(x), x])
    p = expit(intercept + slope * x)
    hessian = design.T @ (design * (p * (1.0 - p))[:, None])
    try:
        bread = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return float("inf")
    if clusters is None:
        cov = bread
    else:
        _, inverse = np.unique(clusters, return_inverse=True)
        scores = design * (outcome - p)[:, None]
        summed = np.zeros((int(inverse.max()) + 1, 2))
        np.add.at(summed, inverse, scores)
        cov = bread @ (summed.T @ summed) @ bread
    var = float(cov[1, 1])
    return float(np.sqrt(var)) if var > 0 else float("inf")


def _finite_pairs(x: ArrayLike, label: ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The finite pairs of (x, label > 0 as 0/1 float)."""
    xs = np.asarray(x, dtype=np.float64).reshape(-1)
    ys = np.asarray(label, dtype=np.float64).reshape(-1)
    if xs.shape != ys.shape:
        raise ValueError(f"{where}: inputs have {len(xs)} and {len(ys)} values")
    keep = np.isfinite(xs) & np.isfinite(ys)
    return xs[keep], (ys[keep] > 0).astype(np.float64)
