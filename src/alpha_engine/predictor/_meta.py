"""The L2 meta model: Bayesian ridge over the L1 outputs and the macro context.

Bayesian ridge is kept (as upstream) because the L2 sees few rows and its posterior predictive
std, ``predicted_alpha_std``, tells the consumer how far a row is from what the model has seen.
All fitted state serializes to plain JSON, so the registry never stores a pickle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import BayesianRidge

__all__ = ["MetaModel"]

_JSON_KIND = "meta_model.bayesian_ridge"
_JSON_VERSION = 1


class MetaModel:
    """Bayesian ridge (sklearn ``BayesianRidge``) on imputed, standardized, winsorized inputs.

    Parameters
    ----------
    features : sequence of str
        Input columns, in model order (persisted as ``feature_names_in_``).
    standardize : bool, default True
        Z-score each input with the training mean/std (ddof 0) before fitting.
    winsor : float or None, default 3.0
        Clip standardized inputs to +-``winsor``; applies only when ``standardize`` (raw inputs have
        no common scale); None disables it.
    min_rows : int, default 100
        Fewer rows with a finite label than this make ``fit`` raise ValueError.

    Attributes
    ----------
    model_ : BayesianRidge
    feature_names_in_ : ndarray of str, shape (n_features,)
    n_features_in_ : int
    medians_ : ndarray of shape (n_features,)
        Training medians that replace missing inputs (0 for a feature never observed).
    means_, stds_ : ndarray of shape (n_features,)
        The scaler (0 and 1 when ``standardize`` is False; a zero std is stored as 1).
    coef_ : ndarray of shape (n_features,)
        Coefficients on the standardized inputs.
    n_train_ : int
        Rows used for the fit.
    """

    def __init__(self, *, features: Sequence[str], standardize: bool = True, winsor: float | None = 3.0,
                 min_rows: int = 100) -> None:
        self.features = features
        self.standardize = standardize
        self.winsor = winsor
        self.min_rows = min_rows

    def fit(self, X: pd.DataFrame, y: pd.Series) -> MetaModel:
        """Fit on the rows of ``X`` whose label is finite.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, >= n_features)
            Holds the ``features`` columns; missing values are imputed with the training median.
        y : Series of shape (n_rows,)
            Label, aligned to ``X`` by index.

        Returns
        -------
        self
        """
        self._validate_params()
        return self.fit_arrays(_feature_matrix(X, list(self.features), "MetaModel.fit"), _aligned_label(X, y))

    def fit_arrays(self, values: np.ndarray, target: np.ndarray, rows: np.ndarray | None = None) -> MetaModel:
        """``fit`` on arrays: ``values`` (n_rows, n_features) in ``features`` order, ``target`` (n_rows,).

        Non-finite inputs are missing values; rows whose target is not finite are dropped.
        ``rows`` (positions) fits on those rows only, without copying the rest; a column-major
        ``values`` makes that fastest (``train_predictor`` refits on ~10^6 rows ~60 times).
        """
        self._validate_params()
        names = list(self.features)
        values = np.asarray(values, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(names) or target.shape != (values.shape[0],):
            raise ValueError(f"MetaModel.fit_arrays: values {values.shape} and target {target.shape} do not match "
                             f"{len(names)} features")
        if rows is None:
            rows = np.arange(len(target))
        rows = rows[np.isfinite(target[rows])]
        n_rows = len(rows)
        if n_rows < self.min_rows:
            raise ValueError(f"MetaModel.fit: {n_rows} row(s) with a finite label, need at least {self.min_rows}")
        target = target[rows]
        # One column-major working copy, imputed, centred and scaled in place.
        work = np.empty((n_rows, len(names)), order="F")
        medians = np.zeros(len(names))
        for j in range(len(names)):
            column = work[:, j]
            np.take(values[:, j], rows, out=column)
            missing = ~np.isfinite(column)
            if missing.all():
                column[:] = 0.0  # never observed: impute 0
                continue
            medians[j] = np.median(column[~missing]) if missing.any() else np.median(column)
            column[missing] = medians[j]
        if self.standardize:
            means = work.mean(axis=0)
            work -= means
            stds = np.sqrt(np.einsum("ij,ij->j", work, work) / n_rows)  # two-pass, as np.std
            stds = np.where(np.isfinite(stds) & (stds > 0), stds, 1.0)
            work /= stds
            if self.winsor is not None:
                np.clip(work, -self.winsor, self.winsor, out=work)
        else:
            means = np.zeros(len(names))
            stds = np.ones(len(names))

        self.medians_ = medians
        self.means_ = means
        self.stds_ = stds
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.n_train_ = n_rows
        self.model_ = _fit_bayesian_ridge(work, target)
        self.coef_ = np.array(self.model_.coef_, dtype=np.float64)
        return self

    @overload
    def predict(self, X: pd.DataFrame, return_std: Literal[False] = ...) -> pd.Series: ...

    @overload
    def predict(self, X: pd.DataFrame, return_std: Literal[True]) -> tuple[pd.Series, pd.Series]: ...

    def predict(self, X: pd.DataFrame, return_std: bool = False) -> pd.Series | tuple[pd.Series, pd.Series]:
        """Posterior mean alpha, and optionally the posterior predictive std.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, >= n_features)
        return_std : bool, default False
            Also return sqrt(1/alpha_ + x^T Sigma x) (noise plus parameter uncertainty, with x the
            centred model input), which grows as a row moves away from the training data.

        Returns
        -------
        Series of shape (n_rows,), named ``predicted_alpha``; with ``return_std`` also a Series
        named ``predicted_alpha_std``. Both keep the index of ``X``.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("MetaModel.predict: the model is not fitted; call fit() or from_json() first")
        values = _feature_matrix(X, [str(name) for name in self.feature_names_in_], "MetaModel.predict")
        if not return_std:
            return pd.Series(self.predict_arrays(values), index=X.index, name="predicted_alpha")
        mean, std = self.predict_arrays(values, return_std=True)
        return (pd.Series(mean, index=X.index, name="predicted_alpha"),
                pd.Series(std, index=X.index, name="predicted_alpha_std"))

    @overload
    def predict_arrays(self, values: np.ndarray, return_std: Literal[False] = ...) -> np.ndarray: ...

    @overload
    def predict_arrays(self, values: np.ndarray, return_std: Literal[True]) -> tuple[np.ndarray, np.ndarray]: ...

    def predict_arrays(self, values: np.ndarray,
                       return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """``predict`` on a (n_rows, n_features) array in model order; non-finite inputs are missing."""
        if not hasattr(self, "model_"):
            raise NotFittedError("MetaModel.predict: the model is not fitted; call fit() or from_json() first")
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != self.n_features_in_:
            raise ValueError(f"MetaModel.predict_arrays: values {values.shape} do not have "
                             f"{self.n_features_in_} columns")
        filled = np.where(np.isfinite(values), values, self.medians_)
        inputs = self._transform(filled, in_place=True)
        if len(inputs) == 0:
            return (np.empty(0), np.empty(0)) if return_std else np.empty(0)
        if not return_std:
            return np.asarray(self.model_.predict(inputs), dtype=np.float64)
        mean, std = self.model_.predict(inputs, return_std=True)
        return np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        """All fitted state as a JSON-ready dict (floats round-trip exactly through ``json``)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("MetaModel.to_json: the model is not fitted")
        model = self.model_
        return {
            "kind": _JSON_KIND,
            "version": _JSON_VERSION,
            "features": [str(name) for name in self.feature_names_in_],
            "standardize": bool(self.standardize),
            "winsor": None if self.winsor is None else float(self.winsor),
            "min_rows": int(self.min_rows),
            "n_train": int(self.n_train_),
            "scaler": {"medians": self.medians_.tolist(), "means": self.means_.tolist(), "stds": self.stds_.tolist()},
            "coef": np.asarray(model.coef_, dtype=np.float64).tolist(),
            "intercept": float(model.intercept_),
            "sigma": np.asarray(model.sigma_, dtype=np.float64).tolist(),
            "x_offset": np.asarray(model.X_offset_, dtype=np.float64).tolist(),
            "alpha": float(model.alpha_),
            "lambda": float(model.lambda_),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> MetaModel:
        """A fitted model from ``to_json()`` output (the dict, or its JSON text)."""
        doc: Mapping[str, Any] = json.loads(data) if isinstance(data, str) else data
        if doc.get("kind") != _JSON_KIND or doc.get("version") != _JSON_VERSION:
            raise ValueError(f"MetaModel.from_json: expected kind {_JSON_KIND!r} version {_JSON_VERSION}, got "
                             f"kind {doc.get('kind')!r} version {doc.get('version')!r}")
        try:
            names = [str(name) for name in doc["features"]]
            meta = cls(features=names, standardize=bool(doc["standardize"]),
                       winsor=None if doc["winsor"] is None else float(doc["winsor"]), min_rows=int(doc["min_rows"]))
            n = len(names)
            scaler = doc["scaler"]
            meta.medians_ = _vector(scaler["medians"], n, "scaler.medians")
            meta.means_ = _vector(scaler["means"], n, "scaler.means")
            meta.stds_ = _vector(scaler["stds"], n, "scaler.stds")
            model = BayesianRidge(fit_intercept=True, compute_score=True)
            model.coef_ = _vector(doc["coef"], n, "coef")
            model.intercept_ = float(doc["intercept"])
            model.sigma_ = np.asarray(doc["sigma"], dtype=np.float64).reshape(n, n)
            model.X_offset_ = _vector(doc["x_offset"], n, "x_offset")
            model.X_scale_ = np.ones(n)
            model.alpha_ = float(doc["alpha"])
            model.lambda_ = float(doc["lambda"])
            model.n_features_in_ = n
            meta.n_train_ = int(doc["n_train"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"MetaModel.from_json: malformed document ({type(exc).__name__}: {exc})") from exc
        meta.model_ = model
        meta.feature_names_in_ = np.asarray(names, dtype=object)
        meta.n_features_in_ = n
        meta.coef_ = np.array(model.coef_, dtype=np.float64)
        return meta

    def _transform(self, filled: np.ndarray, *, in_place: bool = False) -> np.ndarray:
        scaled: np.ndarray = filled if in_place else filled.copy()
        scaled -= self.means_
        scaled /= self.stds_
        if self.standardize and self.winsor is not None:
            np.clip(scaled, -self.winsor, self.winsor, out=scaled)
        return scaled

    def _validate_params(self) -> None:
        if isinstance(self.features, str) or not all(isinstance(name, str) for name in self.features):
            raise TypeError(f"MetaModel: features must be a sequence of column names, got {self.features!r}")
        names = list(self.features)
        if not names:
            raise ValueError("MetaModel: features is empty")
        if len(set(names)) != len(names):
            raise ValueError(f"MetaModel: features has duplicates {sorted({n for n in names if names.count(n) > 1})}")
        if self.winsor is not None and not self.winsor > 0:
            raise ValueError(f"MetaModel: winsor must be > 0 or None, got {self.winsor!r}")
        if self.min_rows < 2:
            raise ValueError(f"MetaModel: min_rows must be >= 2, got {self.min_rows!r}")


def _fit_bayesian_ridge(inputs: np.ndarray, target: np.ndarray) -> BayesianRidge:
    """sklearn's ``BayesianRidge`` fitted on 2(p+1) weighted pseudo-rows that carry the data's
    sufficient statistics, instead of on all n rows.

    The fit (evidence maximization, posterior mean and covariance) depends on the data only
    through the column means, the centred cross-products of [X, y] and the total weight n. With
    ``S = root.T @ root`` those cross-products, the rows ``mean +- sqrt((p+1)/n) * root``, each of
    weight ``n / (2(p+1))``, have the same means, cross-products and total weight, so the fit is
    the one on all n rows up to float rounding (tested against the direct fit). It costs one
    n x (p+1) matrix product instead of an SVD of the n x p matrix plus a pass over n rows per
    iteration, which matters because ``train_predictor`` refits the L2 ~60 times on up to ~10^6
    rows (walk-forward and CPCV).
    """
    n, p = inputs.shape
    mean = np.append(inputs.mean(axis=0), target.mean())
    scatter = np.empty((p + 1, p + 1))
    scatter[:p, :p] = inputs.T @ inputs
    scatter[:p, p] = scatter[p, :p] = inputs.T @ target
    scatter[p, p] = target @ target
    scatter -= n * np.outer(mean, mean)  # centred cross-products
    eigenvalues, eigenvectors = np.linalg.eigh(scatter)
    root = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))).T
    k = p + 1
    rows = np.vstack([mean + np.sqrt(k / n) * root, mean - np.sqrt(k / n) * root])
    weights = np.full(2 * k, n / (2 * k))
    return BayesianRidge(fit_intercept=True, compute_score=True).fit(rows[:, :p], rows[:, p], sample_weight=weights)


def _feature_matrix(X: pd.DataFrame, names: list[str], where: str) -> np.ndarray:
    missing = [name for name in names if name not in X.columns]
    if missing:
        raise ValueError(f"{where}: X lacks the feature column(s) {missing}")
    values = X[names].to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _aligned_label(X: pd.DataFrame, y: pd.Series) -> np.ndarray:
    if not y.index.equals(X.index):
        if not X.index.is_unique or not y.index.is_unique:
            raise ValueError("MetaModel.fit: y is not aligned with X and one of them has a duplicate index")
        y = y.reindex(X.index)
    values: np.ndarray = y.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _vector(values: Any, n: int, name: str) -> np.ndarray:
    vector: np.ndarray = np.asarray(values, dtype=np.float64)
    if vector.shape != (n,):
        raise ValueError(f"{name} has shape {vector.shape}, expected ({n},)")
    return vector
