"""The artifacts PredictorBacktest produces (backtester.md §6: ``predictor_stats.json``, the
evaluator's input, plus the veto-threshold sweep and its recommendation)."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["PREDICTOR_REC", "PREDICTOR_REFITS", "PREDICTOR_STATS", "PREDICTOR_SWEEP"]

_PACKAGE = __package__ or ""

PREDICTOR_STATS = Artifact(
    "backtest/{date}/predictor_stats.json", schema="predictor_stats.schema.json", package=_PACKAGE,
    description="PredictorBacktest: the current executor config on daily synthetic signals from causal (walk-forward "
                "refitted) predictions: the statistics of portfolio_stats.json with bootstrap intervals, the refits, "
                "and the point-in-time parity of stored predictions",
)
PREDICTOR_SWEEP = Artifact(
    "backtest/{date}/predictor_sweep.json", schema="predictor_sweep.schema.json", package=_PACKAGE,
    description="PredictorBacktest: the GBM veto-confidence sweep (vetoes, Sharpe, paired bootstrap intervals of the "
                "difference against no veto and against the current threshold)",
)
PREDICTOR_REC = Artifact(
    "backtest/{date}/predictor_rec.json", schema="predictor_rec.schema.json", package=_PACKAGE,
    description="PredictorBacktest: the recommended veto_confidence, the current one and the interval that decided "
                "apply or keep (the Evaluator's config auto-apply reads it)",
)
PREDICTOR_REFITS = Artifact(
    "backtest/predictor_refits/{champion}/{entry}/{file}",
    description="PredictorBacktest's cache of walk-forward refits: per champion, a model registry of refit bundles "
                "and an index from (anchor, data digest) to the bundle; immutable, reused by reruns",
)
