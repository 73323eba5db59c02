"""What PredictorBacktest needs from the predictor, as a protocol (the layer rule: the backtest
domain never imports predictor code; the composition root implements this with the predictor's
public API and wires it as the resource :data:`PREDICTOR_HISTORY`).

Causality is checked here, on what the implementation reports, not trusted:
:func:`check_causal_refits` fails when a prediction for date ``d`` comes from a refit whose anchor
is after ``d`` or whose training labels reach ``d``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from alpha_engine.pipeline import Resource

from ._errors import CausalityError

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore, MarketStore

__all__ = ["PREDICTOR_HISTORY", "CausalPredictions", "HistoricalPredictions", "Refit", "check_causal_refits"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Refit:
    """One walk-forward refit of the champion's config.

    ``anchor``: the session from which it may predict (a grid anchor: the first refit of a window
    may be anchored before the window starts); ``trained_through``: the last date whose label it
    trained on (that label ends ``label_span`` sessions later, at ``label_ends``, before the anchor);
    ``predicts``: its first and last predicted session; ``version``: its content-addressed id in
    the refit cache; ``cached``: read from the cache rather than fitted.
    """

    anchor: date
    trained_through: date
    label_ends: date
    predicts: tuple[date, date]
    rows: int
    version: str
    cached: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"anchor": self.anchor.isoformat(), "trained_through": self.trained_through.isoformat(),
                "label_ends": self.label_ends.isoformat(),
                "predicts": [self.predicts[0].isoformat(), self.predicts[1].isoformat()], "rows": self.rows,
                "version": self.version}  # not ``cached``: a rerun from the cache writes the same bytes


@dataclass(frozen=True, eq=False)
class CausalPredictions:
    """Walk-forward predictions over a window.

    Attributes
    ----------
    champion : the champion version whose config was refitted
    config : that training config (JSON)
    dates : datetime64[D] array of shape (P,), the predicted sessions, increasing
    tickers : tuple of T names
    alpha : float64 array of shape (P, T), predicted alpha (NaN: no prediction)
    confidence : float64 array of shape (P, T), prediction confidence ``|p_up - 0.5| * 2``
    refit_of : int64 array of shape (P,), the index into ``refits`` of the model behind each date
    refits : the refits, oldest first
    unpredicted : sessions of the window before the first refit had enough labelled history
    label_span : horizon + execution lag, in sessions
    """

    champion: str
    config: Mapping[str, Any]
    dates: npt.NDArray[np.datetime64]
    tickers: tuple[str, ...]
    alpha: F64
    confidence: F64
    refit_of: npt.NDArray[np.int64]
    refits: tuple[Refit, ...]
    unpredicted: int
    label_span: int


class HistoricalPredictions(Protocol):
    """The champion over history, refitted causally, and the replay of stored predictions."""

    def champion(self, artifacts: ArtifactStore) -> str | None:
        """The serving champion's version id (None: no champion yet)."""
        ...

    def veto_confidence(self, artifacts: ArtifactStore) -> tuple[float, str]:
        """The predictor's ``veto_confidence`` in force and where it comes from (the applied
        ``config/predictor_params.json``, else the predictor's default)."""
        ...

    def causal_predictions(self, market: MarketStore, artifacts: ArtifactStore, *, as_of: date, window_start: date,
                           market_symbol: str, refit_days: int, cache: bool,
                           log: logging.Logger | logging.LoggerAdapter[Any]) -> CausalPredictions:
        """The champion's config refitted every ``refit_days`` sessions of [window_start, as_of] on
        the rows whose labels end before each anchor; each refit predicts its block in one call.
        ``cache``: read and write refits in the artifact store (keyed by champion, anchor and
        the digest of the data before the anchor)."""
        ...

    def replay(self, market: MarketStore, artifacts: ArtifactStore, *, prediction_date: date, model_version: str,
               market_symbol: str) -> Mapping[str, float] | None:
        """predicted_alpha per ticker for ``prediction_date``, recomputed with ``model_version`` on
        the features as of that date (rounded as the stored document is); None when the registry
        no longer holds that version."""
        ...


PREDICTOR_HISTORY: Resource[HistoricalPredictions] = Resource(
    "predictor-history", "the champion's config refitted walk-forward over history, and the replay of stored "
                         "predictions with the model version that made them (predictor public API)")


def check_causal_refits(predictions: CausalPredictions) -> None:
    """Raise :class:`CausalityError` unless every predicted date ``d`` comes from a refit whose
    anchor is on or before ``d`` and whose training labels ended before its anchor."""
    days = predictions.dates.astype("datetime64[D]")
    for k, refit in enumerate(predictions.refits):
        if not refit.label_ends < refit.anchor:
            raise CausalityError(f"refit {refit.version} (anchor {refit.anchor}) trained on labels ending "
                                 f"{refit.label_ends}, not before its anchor: it saw returns it predicts")
        if not refit.trained_through < refit.label_ends or refit.trained_through >= refit.anchor:
            raise CausalityError(f"refit {refit.version}: trained through {refit.trained_through} with labels "
                                 f"ending {refit.label_ends}, anchor {refit.anchor}: inconsistent")
        used = days[predictions.refit_of == k]
        early = used[used < np.datetime64(refit.anchor, "D")]
        if len(early):
            raise CausalityError(f"refit {refit.version} anchored {refit.anchor} predicted {len(early)} earlier "
                                 f"date(s), first {early[0]}: a model used before its training data existed")
    if len(predictions.refit_of) != len(days) or (len(days) and (
            predictions.refit_of.min() < 0 or predictions.refit_of.max() >= len(predictions.refits))):
        raise CausalityError("causal predictions: refit_of must name a refit for every predicted date")


def combined_rank(alpha: F64) -> F64:
    """Per row, the rank of each finite alpha, 1 = highest (ties by column order, as the
    predictions document orders equal alphas by ticker); NaN where alpha is NaN."""
    order = np.argsort(np.where(np.isnan(alpha), np.inf, -alpha), axis=1, kind="stable")
    rank = np.empty_like(alpha)
    rows = np.arange(alpha.shape[0])[:, None]
    rank[rows, order] = np.arange(1, alpha.shape[1] + 1, dtype=np.float64)[None, :]
    return np.where(np.isnan(alpha), np.nan, rank)


def gbm_vetoes(alpha: F64, confidence: F64, threshold: float) -> npt.NDArray[np.bool_]:
    """The predictor's GBM veto (``apply_vetoes``) per row: alpha < 0, rank in the bottom half of
    the row's predicted names, confidence >= threshold. Missing values never veto."""
    n = np.sum(~np.isnan(alpha), axis=1, keepdims=True)
    rank = combined_rank(alpha)
    with np.errstate(invalid="ignore"):
        return np.asarray((alpha < 0) & (rank > n / 2.0) & (confidence >= threshold))


def stored_prediction_dates(keys: Sequence[str]) -> list[tuple[date, str]]:
    """``predictor/predictions/{date}.json`` keys with their dates, oldest first (``latest.json`` left out)."""
    out = []
    for key in keys:
        stem = key.rsplit("/", 1)[-1].removesuffix(".json")
        try:
            out.append((date.fromisoformat(stem), key))
        except ValueError:
            continue
    return sorted(out)
