"""The L1 volatility model: LightGBM predicting the size of the forward move, ``expected_move``.

Inputs are ranked across tickers on each date, so the model learns "which names move most today"
rather than the level of volatility, which drifts with the regime. LightGBM is run in its
deterministic mode (row-wise histograms, fixed seed and thread count) so a refit on the same data
gives a byte-identical model string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from ._crosssection import DateBlocks, rank_rows

__all__ = ["VOLATILITY_FEATURES", "BinnedRows", "VolatilityModel", "rank_normalize_by_date"]

# iv_rank (upstream) is not collected; the risk features of the upstream risk-augmented variant replace it.
VOLATILITY_FEATURES = (
    "atr_14_pct", "realized_vol_20d", "vol_ratio_10_60", "dist_from_52w_high", "dist_from_52w_low",
    "realized_vol_63d", "vol_of_vol_30d", "max_drawdown_60d", "beta_60d", "idio_vol_60d",
)


def rank_normalize_by_date(frame: pd.DataFrame) -> pd.DataFrame:
    """Rank each column across tickers within each date, scaled to [0, 1].

    The lowest value of a date maps to 0 and the highest to 1 ((rank - 1) / (count - 1), ties
    averaged); a date with a single known value maps it to 0.5. Missing values (NaN, +-inf) stay NaN
    and do not count.

    Parameters
    ----------
    frame : DataFrame of shape (n_rows, n_features)
        Indexed by a MultiIndex with a ``date`` level.

    Returns
    -------
    DataFrame of shape (n_rows, n_features)
        Same index and columns, float64.
    """
    _require_date_level(frame.index, "rank_normalize_by_date")
    values = frame.to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    blocks = DateBlocks(frame.index.get_level_values("date"))
    dense = blocks.to_dense(values)  # (dates, columns, names)
    ranks = rank_rows(dense)
    counts = np.isfinite(dense).sum(axis=-1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(counts > 1, (ranks - 1.0) / (counts - 1.0), 0.5)
    scaled[np.isnan(dense)] = np.nan
    return pd.DataFrame(blocks.to_rows(scaled), index=frame.index, columns=frame.columns)


@dataclass(frozen=True)
class BinnedRows:
    """Rows binned once by LightGBM (:meth:`VolatilityModel.bin_rows`) for fits on row subsets.

    Building a LightGBM Dataset (finding bin edges, then binning every row) is about a fifth of a
    walk-forward fold's fit; folds share it and take row subsets instead. The bin edges come from
    the reference rows alone (the first fold's training rows in ``train_predictor``), so no fold
    depends on a feature value from after its training window.
    """

    dataset: lgb.Dataset
    features: tuple[str, ...]
    dates: pd.DatetimeIndex
    missing: tuple[str, ...]


class VolatilityModel:
    """LightGBM regressor of |forward label| on per-date rank-normalized volatility features.

    Parameters
    ----------
    features : sequence of str, default VOLATILITY_FEATURES
        Candidate feature columns; those absent from the training frame are skipped.
    n_estimators : int, default 100
        Maximum boosting rounds.
    learning_rate : float, default 0.05
    num_leaves : int, default 31
    min_child_samples : int, default 50
        LightGBM ``min_data_in_leaf``.
    early_stopping_rounds : int, default 20
        Rounds without improvement of the validation l2 before stopping.
    valid_fraction : float, default 0.15
        Share of the (labelled) dates, the latest ones, held out for early stopping; 0 disables it.
    purge : int, default 0
        Dates dropped from the end of the fit block, in front of the early-stopping block, so no
        fit label (spanning ``purge`` sessions past its date) overlaps the validation block
        (López de Prado 2018, ch. 7 purging). ``train_predictor`` passes horizon + execution lag.
    seed : int, default 0
    max_bin : int, default 63
        Histogram bins per feature. The inputs are per-date ranks in [0, 1], so 63 bins already
        resolve 1.6% of a cross-section; more bins cost time and buy nothing.
    num_threads : int, default 1
        LightGBM threads. In its deterministic row-wise mode the fitted model does not depend on
        the thread count (tested), so this is a speed setting only; ``train_predictor`` passes
        ``TrainingConfig.threads``.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted model.
    features_used_ : tuple of str
        The features found in the training frame, in ``features`` order.
    features_missing_ : tuple of str
        The features of ``features`` absent from the training frame.
    n_features_in_ : int
    best_iteration_ : int
        Boosting rounds kept (the early-stopping optimum, or all rounds without validation).
    valid_start_ : Timestamp or None
        First date of the early-stopping validation block (None without validation).
    n_fit_rows_, n_valid_rows_ : int
        Labelled rows in the fit and validation blocks (purged rows are in neither).
    """

    def __init__(self, *, features: Sequence[str] = VOLATILITY_FEATURES, n_estimators: int = 100,
                 learning_rate: float = 0.05, num_leaves: int = 31, min_child_samples: int = 50,
                 early_stopping_rounds: int = 20, valid_fraction: float = 0.15, seed: int = 0,
                 num_threads: int = 1, max_bin: int = 63, purge: int = 0) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.early_stopping_rounds = early_stopping_rounds
        self.valid_fraction = valid_fraction
        self.purge = purge
        self.seed = seed
        self.num_threads = num_threads
        self.max_bin = max_bin

    def fit(self, X: pd.DataFrame, y: pd.Series, *, ranked: bool = False) -> VolatilityModel:
        """Fit on the first dates, early-stop on the last ``valid_fraction`` of them (the ``purge``
        dates between the two blocks are left out of both).

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Long frame indexed by (date, ticker); other columns are ignored.
        ranked : bool, default False
            X already holds :func:`rank_normalize_by_date` of the features (ranks are per date,
            so a caller splitting by whole dates may rank once for every fold).
        y : Series of shape (n_rows,)
            Forward label aligned to ``X`` by index; the target is ``|y|`` (an already absolute
            label works too). Rows with a missing label are dropped.

        Returns
        -------
        self
        """
        self._validate_params()
        _require_date_level(X.index, "VolatilityModel.fit X")
        if not X.index.is_unique:
            raise ValueError("VolatilityModel.fit: X has duplicate (date, ticker) rows")
        present = tuple(name for name in self.features if name in X.columns)
        missing = tuple(name for name in self.features if name not in X.columns)
        if not present:
            raise ValueError(f"VolatilityModel.fit: none of the volatility features are in X; missing: {list(missing)}")
        ranked_x = X[list(present)] if ranked else rank_normalize_by_date(X[list(present)])
        target = np.abs(y.reindex(X.index).to_numpy(dtype=np.float64, na_value=np.nan))
        labelled = np.isfinite(target)
        if not labelled.any():
            raise ValueError("VolatilityModel.fit: y has no finite label on the rows of X")
        dates = ranked_x.index.get_level_values("date")[labelled]
        features = ranked_x.to_numpy(dtype=np.float64)[labelled]
        target = target[labelled]

        in_fit, in_valid, valid_start = self._early_stopping_blocks(pd.DatetimeIndex(dates))
        train_set = lgb.Dataset(features[in_fit], target[in_fit], feature_name=list(present),
                                free_raw_data=True)
        valid_set = lgb.Dataset(features[in_valid], target[in_valid], reference=train_set) if in_valid.any() else None
        return self._train(train_set, valid_set, present=present, missing=missing, valid_start=valid_start,
                           n_fit=int(in_fit.sum()), n_valid=int(in_valid.sum()))

    def bin_rows(self, ranked: pd.DataFrame, target: np.ndarray, *, reference_rows: np.ndarray) -> BinnedRows:
        """``ranked`` (per-date ranks of the features, see ``fit``) and a finite target, binned once
        for many :meth:`fit_binned` calls; bin edges come from ``reference_rows`` (positions) only."""
        self._validate_params()
        _require_date_level(ranked.index, "VolatilityModel.bin_rows")
        present = tuple(name for name in self.features if name in ranked.columns)
        if not present:
            raise ValueError("VolatilityModel.bin_rows: none of the volatility features are in the frame")
        target = np.asarray(target, dtype=np.float64)
        if target.shape != (len(ranked),) or not np.isfinite(target).all():
            raise ValueError("VolatilityModel.bin_rows: target must be finite, one value per row")
        values = ranked[list(present)].to_numpy(dtype=np.float64)
        reference = lgb.Dataset(values[reference_rows], feature_name=list(present), params=self._lgb_params())
        dataset = lgb.Dataset(values, target, feature_name=list(present), reference=reference,
                              params=self._lgb_params(), free_raw_data=True).construct()
        return BinnedRows(dataset=dataset, features=present, dates=ranked.index.get_level_values("date"),
                          missing=tuple(name for name in self.features if name not in present))

    def fit_binned(self, binned: BinnedRows, rows: np.ndarray) -> VolatilityModel:
        """Fit on the rows (positions, ascending) of ``binned``, early-stopping as ``fit`` does.

        The model equals the one ``fit`` gives on the same rows with the same bin edges; only the
        binning is shared.
        """
        self._validate_params()
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            raise ValueError("VolatilityModel.fit_binned: no rows")
        in_fit, in_valid, valid_start = self._early_stopping_blocks(pd.DatetimeIndex(binned.dates[rows]))
        # Not thread-safe: two threads building subsets of one binned Dataset at once crashed the process
        # (SIGSEGV in LGBM_DatasetGetSubset), so the callers fit one model at a time.
        train_set = binned.dataset.subset(rows[in_fit]).construct()
        valid_set = binned.dataset.subset(rows[in_valid]).construct() if in_valid.any() else None
        return self._train(train_set, valid_set, present=binned.features, missing=binned.missing,
                           valid_start=valid_start, n_fit=int(in_fit.sum()), n_valid=int(in_valid.sum()))

    def _train(self, train_set: lgb.Dataset, valid_set: lgb.Dataset | None, *, present: tuple[str, ...],
               missing: tuple[str, ...], valid_start: pd.Timestamp | None, n_fit: int, n_valid: int) -> VolatilityModel:
        callbacks: list[Any] = []
        if valid_set is not None:
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        booster = lgb.train(self._lgb_params(), train_set, num_boost_round=self.n_estimators,
                            valid_sets=[] if valid_set is None else [valid_set], callbacks=callbacks)
        self.booster_ = booster
        self.features_used_ = present
        self.features_missing_ = missing
        self.n_features_in_ = len(present)
        self.best_iteration_ = int(booster.best_iteration) if booster.best_iteration > 0 \
            else int(booster.current_iteration())
        self.valid_start_ = valid_start
        self.n_fit_rows_ = n_fit
        self.n_valid_rows_ = n_valid
        return self

    def predict(self, X: pd.DataFrame, *, ranked: bool = False) -> pd.Series:
        """Expected |move| of each row.

        Parameters
        ----------
        X : DataFrame of shape (n_rows, n_columns)
            Long frame indexed by (date, ticker) holding ``features_used_``; ranks are taken within
            each date of ``X``, so pass whole cross-sections.
        ranked : bool, default False
            X already holds the per-date ranks (see ``fit``).

        Returns
        -------
        Series of shape (n_rows,)
            Named ``expected_move``, with the index of ``X``.
        """
        self._check_fitted("predict")
        _require_date_level(X.index, "VolatilityModel.predict X")
        missing = [name for name in self.features_used_ if name not in X.columns]
        if missing:
            raise ValueError(f"VolatilityModel.predict: X lacks the fitted feature(s) {missing}")
        if len(X) == 0:
            return pd.Series(np.empty(0), index=X.index, name="expected_move")
        columns = list(self.features_used_)
        ranked_x = X[columns] if ranked else rank_normalize_by_date(X[columns])
        values = self.booster_.predict(ranked_x.to_numpy(dtype=np.float64), num_iteration=self.best_iteration_)
        return pd.Series(np.asarray(values, dtype=np.float64), index=X.index, name="expected_move")

    def feature_importance(self) -> dict[str, float]:
        """Total split gain of each used feature over the kept rounds."""
        self._check_fitted("feature_importance")
        gains = self.booster_.feature_importance(importance_type="gain", iteration=self.best_iteration_)
        return {name: float(gain) for name, gain in zip(self.features_used_, gains, strict=True)}

    def to_text(self) -> str:
        """The LightGBM model string (kept rounds only), for the registry's ``volatility_model.txt``."""
        self._check_fitted("to_text")
        return str(self.booster_.model_to_string(num_iteration=self.best_iteration_))

    @classmethod
    def from_text(cls, text: str) -> VolatilityModel:
        """A fitted model from ``to_text()`` output.

        The LightGBM parameters stored in the string restore ``n_estimators``, ``learning_rate``,
        ``num_leaves``, ``min_child_samples``, ``seed``, ``num_threads`` and ``max_bin``; ``early_stopping_rounds``,
        ``valid_fraction`` and ``purge`` are not stored and keep their defaults. ``valid_start_`` is None.
        """
        try:
            booster = lgb.Booster(model_str=text)
        except lgb.basic.LightGBMError as exc:
            raise ValueError(f"VolatilityModel.from_text: not a LightGBM model string ({exc})") from exc
        params = booster.params
        names = tuple(str(name) for name in booster.feature_name())
        model = cls(features=names,
                    n_estimators=int(params.get("num_iterations", 100)),
                    learning_rate=float(params.get("learning_rate", 0.05)),
                    num_leaves=int(params.get("num_leaves", 31)),
                    min_child_samples=int(params.get("min_data_in_leaf", 50)),
                    seed=int(params.get("seed", 0)),
                    num_threads=int(params.get("num_threads", 1)),
                    max_bin=int(params.get("max_bin", 255)))
        model.booster_ = booster
        model.features_used_ = names
        model.features_missing_ = ()
        model.n_features_in_ = len(names)
        model.best_iteration_ = int(booster.current_iteration())
        model.valid_start_ = None
        model.n_fit_rows_ = 0
        model.n_valid_rows_ = 0
        return model

    def _lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "regression",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "seed": self.seed,
            "num_threads": self.num_threads,
            "max_bin": self.max_bin,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def _early_stopping_blocks(self, row_dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray, pd.Timestamp | None]:
        """Boolean masks over the rows (fit block, validation block) and the validation block's first date.

        Whole dates, so no cross-section straddles the split: the last ``valid_fraction`` of the unique
        dates validate, the ``purge`` dates before them are dropped, and the rest are fitted on.
        """
        if self.valid_fraction == 0:
            return np.ones(len(row_dates), dtype=bool), np.zeros(len(row_dates), dtype=bool), None
        dates = row_dates.unique().sort_values()
        n_valid = max(1, int(round(self.valid_fraction * len(dates))))
        n_fit = len(dates) - n_valid - self.purge
        if n_fit < 1:
            raise ValueError(f"VolatilityModel.fit: {len(dates)} labelled date(s) cannot be split into fit and "
                             f"validation blocks (valid_fraction={self.valid_fraction}, purge={self.purge})")
        valid_start = pd.Timestamp(dates[len(dates) - n_valid])
        in_valid = np.asarray(row_dates >= valid_start)
        return np.asarray(row_dates < dates[n_fit]), in_valid, valid_start

    def _validate_params(self) -> None:
        if isinstance(self.features, str) or not all(isinstance(name, str) for name in self.features):
            raise TypeError(f"VolatilityModel: features must be a sequence of column names, got {self.features!r}")
        checks = {
            "n_estimators": self.n_estimators >= 1,
            "learning_rate": self.learning_rate > 0,
            "num_leaves": self.num_leaves >= 2,
            "min_child_samples": self.min_child_samples >= 1,
            "early_stopping_rounds": self.early_stopping_rounds >= 1,
            "valid_fraction": 0 <= self.valid_fraction < 1,
            "purge": not isinstance(self.purge, bool) and isinstance(self.purge, int) and self.purge >= 0,
            "num_threads": self.num_threads >= 1,
            "max_bin": self.max_bin >= 2,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"VolatilityModel: invalid parameter(s) {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")

    def _check_fitted(self, method: str) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(f"VolatilityModel.{method}: the model is not fitted; call fit() or from_text() first")


def _require_date_level(index: pd.Index, where: str) -> None:
    if not isinstance(index, pd.MultiIndex) or "date" not in index.names:
        raise ValueError(f"{where}: expected a MultiIndex with a 'date' level (date, ticker), got {list(index.names)}")
