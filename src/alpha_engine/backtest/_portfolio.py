"""The walk-forward of a skfolio optimizer over the universe's daily returns, and its causality checks.

The walk-forward is skfolio's: :class:`skfolio.model_selection.WalkForward` (rolling: each window
fits on the ``train_days`` returns before its ``test_days`` test window, and the windows follow one
another without overlap) and :func:`skfolio.model_selection.cross_val_predict`, which fits a clone
of the estimator on each training window and predicts the test window, giving a
``MultiPeriodPortfolio``. Every estimator is skfolio's (``MeanRisk``, ``EqualWeighted``, the
``skfolio.moments`` covariance estimators); nothing here optimizes or estimates by hand.

At universe scale an optimizer fits on a pre-selection (:func:`pre_selected`): per fold, the
``max_assets`` names with the lowest variance over that fold's training window
(:class:`LowestVarianceSelection`, fitted on the training window only, like the optimizer after it),
then the optimizer on those. A convex fit costs ~25-35 ms at 20 names, ~0.3 s at 100 and 3-9 s at
900, so the sweeps over 900 names would not fit the family's budget. skfolio's own
``SelectKExtremes`` would rank by variance too, but it builds one Portfolio per asset (~1.9 s a fold
at 900 names), so the ranking here is a plain column variance.

Causality is checked twice, and a failure raises :class:`LookAheadError`:

* :func:`check_causal_splits`, before anything is fitted: every training index precedes every test
  index of its fold, and the test windows move forward without overlapping. The splits checked
  are the splits used (they are replayed to ``cross_val_predict``, not re-drawn).
* :func:`check_no_look_ahead`, after the gated optimizer has run: the closes from the first test
  date of a middle fold onward are replaced by a seeded random walk and the walk-forward is re-run;
  the weights of that fold and every earlier one must not move. A fit that saw data from its test
  window, or later (a forward-shifted return, a transform over the whole history), moves them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils.validation import check_is_fitted, validate_data

from ._errors import LookAheadError, PortfolioBacktestError
from ._portfolio_data import returns_from_closes

__all__ = [
    "CausalityCheck",
    "LowestVarianceSelection",
    "OutOfSample",
    "check_causal_splits",
    "check_no_look_ahead",
    "covariance_estimator",
    "equal_weight",
    "mean_variance_utility",
    "minimum_variance",
    "pre_selected",
    "walk_forward",
]

Split = tuple[np.ndarray, np.ndarray]
# The largest weight change the look-ahead check tolerates: the same data refits to the same bits.
WEIGHT_TOLERANCE = 1e-9

_COVARIANCE_CLASSES = {
    "empirical": "EmpiricalCovariance",
    "ledoit_wolf": "LedoitWolf",
    "oas": "OAS",
    "shrunk": "ShrunkCovariance",
    "denoise": "DenoiseCovariance",
    "gerber": "GerberCovariance",
}


def covariance_estimator(name: str) -> Any:
    """A fresh skfolio covariance estimator by its option name (``ledoit_wolf`` -> ``LedoitWolf()``)."""
    import skfolio.moments

    if name not in _COVARIANCE_CLASSES:
        raise ValueError(f"unknown covariance estimator {name!r}; known: {', '.join(_COVARIANCE_CLASSES)}")
    return getattr(skfolio.moments, _COVARIANCE_CLASSES[name])()


def covariance_class(name: str) -> str:
    """The skfolio class behind a covariance option name."""
    return f"skfolio.moments.{_COVARIANCE_CLASSES[name]}"


def minimum_variance(covariance: str) -> Any:
    """Long-only, fully invested minimum variance: ``MeanRisk`` (MINIMIZE_RISK, variance) with an
    ``EmpiricalPrior`` whose covariance is ``covariance``."""
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import EmpiricalPrior

    return MeanRisk(objective_function=ObjectiveFunction.MINIMIZE_RISK,
                    prior_estimator=EmpiricalPrior(covariance_estimator=covariance_estimator(covariance)))


def mean_variance_utility(risk_aversion: float, covariance: str) -> Any:
    """Long-only, fully invested mean-variance utility: ``MeanRisk`` (MAXIMIZE_UTILITY, variance,
    ``risk_aversion``) with an ``EmpiricalPrior`` (empirical mean, ``covariance``)."""
    from skfolio.optimization import MeanRisk, ObjectiveFunction
    from skfolio.prior import EmpiricalPrior

    return MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_UTILITY, risk_aversion=risk_aversion,
                    prior_estimator=EmpiricalPrior(covariance_estimator=covariance_estimator(covariance)))


def equal_weight() -> Any:
    """The executor's baseline today: equal weight over the same names (skfolio ``EqualWeighted``)."""
    from skfolio.optimization import EqualWeighted

    return EqualWeighted()


class LowestVarianceSelection(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Keep the ``k`` assets whose daily returns vary least over the data it is fitted on (ties: the
    earlier column), a scikit-learn feature selector, so that it sits in a ``Pipeline`` before a
    skfolio optimizer and is refitted on each training window.

    Attributes
    ----------
    support_ : ndarray of shape (n_assets,)
        Which assets are kept.
    """

    def __init__(self, k: int = 100) -> None:
        self.k = k

    def fit(self, X: Any, y: Any = None) -> LowestVarianceSelection:
        values = validate_data(self, X, dtype=np.float64)
        if self.k < 1:
            raise ValueError(f"LowestVarianceSelection keeps k >= 1 assets, got k={self.k}")
        keep = np.argsort(values.var(axis=0), kind="stable")[: self.k]
        self.support_ = np.zeros(values.shape[1], dtype=bool)
        self.support_[keep] = True
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        mask: np.ndarray = self.support_
        return mask


def pre_selected(estimator: Any, max_assets: int) -> Any:
    """``estimator`` fitted on the ``max_assets`` lowest-variance assets of each training window: a
    ``Pipeline`` of :class:`LowestVarianceSelection` and the estimator. Its portfolios hold only the
    kept assets; :func:`walk_forward` writes the others' weights as 0."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("pre_selection", LowestVarianceSelection(k=max_assets)), ("optimization", estimator)])


@dataclass(frozen=True)
class OutOfSample:
    """What a walk-forward produced.

    Attributes
    ----------
    dates : DatetimeIndex of shape (n_days,)
        The out-of-sample days, the test windows end to end.
    returns : ndarray of shape (n_days,)
        The portfolio's daily return on each (skfolio's constant-weight convention, gross of costs).
    weights : ndarray of shape (n_folds, n_assets)
        The weights fitted for each test window (0 for an asset a pre-selection left out).
    test_starts : DatetimeIndex of shape (n_folds,)
        The first day of each test window.
    train_ends : DatetimeIndex of shape (n_folds,)
        The last day each window fitted on.
    """

    dates: pd.DatetimeIndex
    returns: np.ndarray
    weights: np.ndarray
    test_starts: pd.DatetimeIndex
    train_ends: pd.DatetimeIndex

    @property
    def n_folds(self) -> int:
        return int(self.weights.shape[0])


class _CheckedSplits(BaseCrossValidator):  # type: ignore[misc]
    """Replays splits that :func:`check_causal_splits` has passed, so the splits fitted are the
    splits checked."""

    def __init__(self, splits: Sequence[Split]) -> None:
        self.splits = list(splits)

    def split(self, X: Any = None, y: Any = None, groups: Any = None) -> Iterator[Split]:
        yield from self.splits

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return len(self.splits)


def _day(dates: pd.DatetimeIndex, i: int) -> str:
    return str(pd.Timestamp(dates[i]).date().isoformat())


def check_causal_splits(splits: Sequence[Split], dates: pd.DatetimeIndex) -> None:
    """Raise :class:`LookAheadError` unless every fold trains only on days before its test window
    and the test windows move forward without overlapping (``dates`` names the days)."""
    if not splits:
        raise PortfolioBacktestError("the walk-forward has no fold: the window is shorter than train_days + test_days")
    previous_end = -1
    for k, (train, test) in enumerate(splits):
        if len(train) == 0 or len(test) == 0:
            raise LookAheadError(f"walk-forward fold {k}: an empty training or test window")
        if int(np.max(train)) >= int(np.min(test)):
            raise LookAheadError(f"walk-forward fold {k} fits on {_day(dates, int(np.max(train)))}, which is not "
                                 f"before its test window starting {_day(dates, int(np.min(test)))}: a fit may only "
                                 "use days before the window it is tested on")
        if int(np.min(test)) <= previous_end:
            raise LookAheadError(f"walk-forward fold {k}: its test window starting {_day(dates, int(np.min(test)))} "
                                 f"overlaps or precedes the previous one (ending {_day(dates, previous_end)})")
        previous_end = int(np.max(test))


def walk_forward(returns: pd.DataFrame, estimator: Any, *, train_days: int, test_days: int,
                 cv: Any = None) -> OutOfSample:
    """Fit ``estimator`` on each rolling training window and hold its weights over the next test
    window (``cv``: a splitter with ``split(returns)``; default skfolio's
    ``WalkForward(test_size=test_days, train_size=train_days)``).

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_assets)
        Daily linear returns, indexed by date.
    estimator : skfolio optimization estimator
        Cloned and fitted once per fold by ``cross_val_predict``.
    """
    import sklearn
    from skfolio.model_selection import WalkForward, cross_val_predict

    splitter = cv if cv is not None else WalkForward(test_size=test_days, train_size=train_days)
    splits = [(np.asarray(train), np.asarray(test)) for train, test in splitter.split(returns)]
    dates = pd.DatetimeIndex(returns.index)
    check_causal_splits(splits, dates)
    # A pre-selection passes its kept columns on by name, so the weights map back to the universe.
    with sklearn.config_context(transform_output="pandas"):
        portfolio = cross_val_predict(estimator, returns, cv=_CheckedSplits(splits))
    column = {str(name): i for i, name in enumerate(returns.columns)}
    weights = np.zeros((len(portfolio.portfolios), returns.shape[1]))
    for k, p in enumerate(portfolio.portfolios):
        weights[k, [column[str(a)] for a in p.assets]] = np.asarray(p.weights, dtype=np.float64)
    oos_dates = pd.DatetimeIndex(np.concatenate([dates[test] for _, test in splits]))
    oos_returns = np.asarray(portfolio.returns, dtype=np.float64)
    if len(oos_returns) != len(oos_dates):
        raise PortfolioBacktestError(f"skfolio returned {len(oos_returns)} out-of-sample returns for "
                                     f"{len(oos_dates)} test days")
    return OutOfSample(dates=oos_dates, returns=oos_returns, weights=weights,
                       test_starts=pd.DatetimeIndex([dates[int(test[0])] for _, test in splits]),
                       train_ends=pd.DatetimeIndex([dates[int(train[-1])] for train, _ in splits]))


@dataclass(frozen=True)
class CausalityCheck:
    """The evidence of :func:`check_no_look_ahead`: the cut, the folds compared, the largest move."""

    cut: str
    folds_compared: int
    max_weight_change: float
    tolerance: float
    seed: int

    def to_json(self) -> dict[str, Any]:
        return {"method": "closes from the cut on replaced by a seeded random walk; the walk-forward re-run; the "
                          "weights of every fold tested before the cut, and of the fold tested from it, must not move",
                "cut": self.cut, "folds_compared": self.folds_compared,
                "max_weight_change": self.max_weight_change, "tolerance": self.tolerance, "seed": self.seed,
                "passed": True}


def check_no_look_ahead(closes: pd.DataFrame, make_estimator: Callable[[], Any], reference: OutOfSample, *,
                        train_days: int, test_days: int, seed: int,
                        prepare: Callable[[pd.DataFrame], pd.DataFrame] = returns_from_closes,
                        log: logging.LoggerAdapter[logging.Logger] | logging.Logger | None = None
                        ) -> CausalityCheck:
    """Perturb the closes from the first test day of the middle fold on and re-run the walk-forward
    (``prepare`` turns closes into the returns it fits on, as for ``reference``); raise
    :class:`LookAheadError` if a fold tested before that day, or from it, gets other weights."""
    k = reference.n_folds // 2
    cut = pd.Timestamp(reference.test_starts[k])
    after = np.asarray(closes.index >= cut)
    rng = np.random.default_rng(seed)
    walk = np.exp(np.cumsum(rng.normal(0.0, 0.05, size=(int(after.sum()), closes.shape[1])), axis=0))
    perturbed = closes.copy()
    perturbed.iloc[after] = closes.iloc[after].to_numpy() * walk
    # Folds 0..k need the closes through fold k's test window; one more window keeps the fold whole
    # for a transform that drops rows at the end.
    keep = int(np.flatnonzero(after)[0]) + 2 * test_days + 1
    if log is not None:
        log.info("look-ahead check: closes from %s replaced, re-running folds 0..%d", cut.date().isoformat(), k)
    rerun = walk_forward(prepare(perturbed.iloc[:keep]), make_estimator(), train_days=train_days,
                         test_days=test_days)
    compared = min(k + 1, rerun.n_folds)
    if compared < k + 1 or not rerun.test_starts[:compared].equals(reference.test_starts[:compared]):
        raise LookAheadError(f"look-ahead check: the re-run's folds do not line up with the run's before "
                             f"{cut.date().isoformat()}: the returns the walk-forward fits on depend on later closes")
    moved = np.abs(rerun.weights[:compared] - reference.weights[:compared]).max(axis=1)
    worst = int(np.argmax(moved))
    if moved[worst] > WEIGHT_TOLERANCE:
        raise LookAheadError(
            f"look-ahead check: changing the closes from {cut.date().isoformat()} on moved the weights of fold "
            f"{worst} (tested from {pd.Timestamp(reference.test_starts[worst]).date().isoformat()}, fitted through "
            f"{pd.Timestamp(reference.train_ends[worst]).date().isoformat()}) by {moved[worst]:.3g}: its fit used "
            "data from on or after its test window")
    return CausalityCheck(cut=cut.date().isoformat(), folds_compared=compared, max_weight_change=float(moved.max()),
                          tolerance=WEIGHT_TOLERANCE, seed=seed)
