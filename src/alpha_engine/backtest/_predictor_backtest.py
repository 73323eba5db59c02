"""PredictorBacktest's computation (pure: arrays in, documents out; the stage does the I/O).

1. **Daily synthetic signals** (backtester.md §2.5) from causal predictions: on every session
   ``d`` with predictions, ``trading_score = clip(technical + clip(500 alpha, -10, 10), 0, 100)``
   (the technical score of :mod:`._synthetic_signals` from closes up to ``d``); ENTER at
   ``min_score`` or above, the ``top_n`` best; EXIT below ``exit_below``; HOLD otherwise. The signal
   of ``d`` applies on the next session, as the live system acts on last night's predictions.
2. **The current executor config** on those signals with the GBM veto at the current
   ``veto_confidence``, simulated by the vectorized kernel over the predicted part of the window:
   the statistics of ``portfolio_stats.json`` with their bootstrap intervals.
3. **The veto-threshold sweep**: the predictor's GBM veto rule (alpha < 0, bottom half by rank,
   confidence >= t) on the ENTERs at each threshold, each simulated, against no veto and against
   the current threshold: the paired stationary-bootstrap interval of the Sharpe difference (the
   same resampled days for both), at a Bonferroni level over the thresholds compared. The best
   threshold by Sharpe is recommended (``apply``) only when its interval against the current
   threshold lies above 0; otherwise ``keep``, with the reason.
4. **Point-in-time parity** of stored predictions (:func:`pit_parity`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from ._backtester import _daily_returns, _days, _num, _pair, _slice_features, _stats_document, slice_inputs
from ._config import ExecutorConfig
from ._errors import BacktestInputError
from ._features import market_features
from ._inputs import BacktestInputs
from ._portfolio_stats import Interval, bonferroni_confidence, optimizer_gate, stationary_bootstrap_indices
from ._predictor_backtest_options import PredictorBacktestOptions
from ._predictor_history import CausalPredictions, gbm_vetoes
from ._stats import backtest_statistics
from ._synthetic_signals import technical_scores
from ._vector import simulate_vectorized

__all__ = ["PREDICTOR_SIGNAL_NOTE", "PIT_DECIMALS", "PredictorBacktestRun", "VetoRecommendation",
           "pit_parity", "predictor_signal_arrays", "recommend_veto", "run_predictor_backtest"]

F64 = npt.NDArray[np.float64]
_D = 10
PIT_DECIMALS = 6  # the stored predictions' rounding
PREDICTOR_SIGNAL_NOTE = ("signals are synthetic and daily: the technical score of backtester.md §2.5 plus "
                         "clip(500 x predicted_alpha, +-10), the alpha from walk-forward refits of the champion's "
                         "config, each trained only on labels that ended before the dates it predicts")


def _panel(values: F64, predicted: npt.NDArray[np.datetime64], tickers: Sequence[str],
           dates: npt.NDArray[np.datetime64], names: Sequence[str]) -> F64:
    """``values`` (P, T') placed on the panel's (D, T) axes; NaN where there is nothing."""
    out = np.full((len(dates), len(names)), np.nan)
    day = np.searchsorted(dates.astype("datetime64[D]"), predicted.astype("datetime64[D]"))
    inside = day < len(dates)
    inside[inside] = dates.astype("datetime64[D]")[day[inside]] == predicted.astype("datetime64[D]")[inside]
    column = {t: i for i, t in enumerate(names)}
    source = np.asarray([j for j, t in enumerate(tickers) if t in column], np.int64)
    target = np.asarray([column[tickers[j]] for j in source], np.int64)
    rows = np.flatnonzero(inside)
    out[np.ix_(day[rows], target)] = values[np.ix_(rows, source)]
    return out


def predictor_signal_arrays(dates: npt.NDArray[np.datetime64], close: F64, alpha: F64, *, min_score: float,
                            top_n: int, exit_below: float, alpha_weight: float = 500.0,
                            alpha_cap: float = 10.0) -> dict[str, npt.NDArray[np.generic]]:
    """The signal arrays of :class:`BacktestInputs` from ``alpha`` (shape (D, T), aligned with
    ``close``; NaN = no prediction). A ticker is scored on ``d`` when both its technical score and
    its alpha exist; the signal of ``d`` applies on ``d + 1``."""
    n_days, n_tickers = close.shape
    technical = technical_scores(close)
    with np.errstate(invalid="ignore"):
        score = np.clip(technical + np.clip(alpha_weight * alpha, -alpha_cap, alpha_cap), 0.0, 100.0)
    score = np.where(np.isnan(technical) | np.isnan(alpha), np.nan, score)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "signal_day": np.zeros(n_days, np.bool_), "regime": np.zeros(n_days, np.int8),
        "action": np.zeros((n_days, n_tickers), np.int8), "score": np.full((n_days, n_tickers), np.nan),
        "conviction": np.zeros((n_days, n_tickers), np.int8), "sector_rating": np.zeros((n_days, n_tickers), np.int8),
        "upside": np.full((n_days, n_tickers), np.nan), "veto": np.zeros((n_days, n_tickers), np.bool_),
        "confidence": np.full((n_days, n_tickers), np.nan)}
    scored_days = np.flatnonzero(~np.isnan(score[:-1]).all(axis=1))
    applies = scored_days + 1
    rows = score[scored_days]
    arrays["signal_day"][applies] = True
    arrays["score"][applies] = rows
    with np.errstate(invalid="ignore"):
        action = np.where(rows < exit_below, 2, 0).astype(np.int8)
        eligible = rows >= min_score
    # the top_n best eligible scores of each day (ties by column order)
    order = np.argsort(np.where(eligible, -rows, np.inf), axis=1, kind="stable")
    place = np.empty_like(order)
    place[np.arange(len(rows))[:, None], order] = np.arange(n_tickers)[None, :]
    action[eligible & (place < top_n)] = 1
    arrays["action"][applies] = action
    return arrays


def _veto_panel(alpha: F64, confidence: F64, action: npt.NDArray[np.int8], threshold: float | None) -> npt.NDArray[
        np.bool_]:
    """The GBM vetoes at ``threshold`` of the predictions of ``d``, on the ENTERs of ``d + 1``."""
    veto = np.zeros(action.shape, np.bool_)
    if threshold is not None:
        veto[1:] = gbm_vetoes(alpha[:-1], confidence[:-1], threshold) & (action[1:] == 1)
    return veto


@dataclass(frozen=True)
class VetoRecommendation:
    """``apply`` (the recommended threshold) or ``keep`` (the current one), with the reason."""

    action: str
    veto_confidence: float
    reasons: tuple[str, ...]


def recommend_veto(*, current: float, best: float, versus_current: Interval | None, vetoes: int,
                   swept_vetoes: int | None = None) -> VetoRecommendation:
    """Apply ``best`` only when its paired interval of the Sharpe difference against ``current``
    lies above 0; keep ``current`` otherwise. ``swept_vetoes``: the vetoes of every threshold
    together (0: the sweep has no evidence at all)."""
    if swept_vetoes == 0:
        return VetoRecommendation("keep", current, ("no threshold swept vetoes an entry in the window (the "
                                                    "predictions' confidence never reaches the lowest floor): no "
                                                    "evidence to change veto_confidence",))
    if best == current or versus_current is None:
        return VetoRecommendation("keep", current, (f"the current veto_confidence {current:.2f} has the best Sharpe of "
                                                    "the thresholds swept",))
    if vetoes == 0:
        return VetoRecommendation("keep", current, (f"veto_confidence {best:.2f} vetoes no entry in the window: "
                                                    "there is nothing to learn from",))
    low, high = versus_current.ci_low, versus_current.ci_high
    band = f"{versus_current.confidence:.1%} interval [{low:.3f}, {high:.3f}]"
    if math.isfinite(low) and low > 0:
        return VetoRecommendation("apply", best, (f"veto_confidence {best:.2f} beats the current {current:.2f} by "
                                                  f"{versus_current.estimate:.3f} Sharpe, {band} above 0",))
    return VetoRecommendation("keep", current, (f"veto_confidence {best:.2f} has the best Sharpe, "
                                                f"{versus_current.estimate:+.3f} against the current {current:.2f}, but "
                                                f"its {band} does not lie above 0",))


@dataclass(frozen=True)
class PredictorBacktestRun:
    """The three documents and the stage summary."""

    stats: dict[str, Any]
    sweep: dict[str, Any]
    recommendation: dict[str, Any]
    summary: dict[str, Any]


def pit_parity(stored: Sequence[tuple[date, Mapping[str, Any]]],
               replayed: Mapping[date, Mapping[str, float] | None]) -> dict[str, Any]:
    """Compare each stored predictions document's ``predicted_alpha`` per ticker with its replay.

    A replay is None when the model version is gone from the registry (``missing_model``). A ticker
    matches within half a unit of the 6th decimal (the stored rounding); a ticker in one but not the
    other is a mismatch too.
    """
    tolerance = 0.5 * 10.0 ** -PIT_DECIMALS + 1e-12
    rows = []
    for when, document in stored:
        version = str(document.get("model_version", ""))
        replay = replayed.get(when)
        if replay is None:
            rows.append({"date": when.isoformat(), "model_version": version, "status": "missing_model",
                         "tickers": len(document.get("predictions", []))})
            continue
        stored_alpha = {str(p["ticker"]): float(p["predicted_alpha"]) for p in document.get("predictions", [])}
        differing = []
        for ticker in sorted(set(stored_alpha) | set(replay)):
            a, b = stored_alpha.get(ticker), replay.get(ticker)
            if a is None or b is None or not abs(a - b) <= tolerance:
                differing.append({"ticker": ticker, "stored": a, "replayed": None if b is None else round(b, 8)})
        rows.append({"date": when.isoformat(), "model_version": version,
                     "status": "match" if not differing else "mismatch", "tickers": len(stored_alpha),
                     "mismatches": differing[:20], "n_mismatches": len(differing)})
    count = {s: sum(r["status"] == s for r in rows) for s in ("match", "mismatch", "missing_model")}
    return {"checked": True, "documents": len(rows), "matches": count["match"], "mismatches": count["mismatch"],
            "missing_models": count["missing_model"], "tolerance": tolerance, "rows": rows}


def _thresholds(options: PredictorBacktestOptions, current_veto: float) -> list[float]:
    return sorted({*options.veto_thresholds, current_veto})


def run_predictor_backtest(base: BacktestInputs, predictions: CausalPredictions, options: PredictorBacktestOptions, *,
                           current: ExecutorConfig, current_veto: float, seed: int, context: Mapping[str, Any],
                           log: logging.Logger | logging.LoggerAdapter[Any]) -> PredictorBacktestRun:
    """Signals, the current config, the veto sweep and the recommendation; see the module docstring.
    ``base`` carries the closes (its signal arrays are replaced); ``current`` is the executor config
    in force and ``current_veto`` the predictor's veto_confidence in force, which the sweep always
    includes and measures against."""
    alpha = _panel(predictions.alpha, predictions.dates, predictions.tickers, base.dates, base.tickers)
    confidence = _panel(predictions.confidence, predictions.dates, predictions.tickers, base.dates, base.tickers)
    arrays: dict[str, Any] = predictor_signal_arrays(base.dates, base.close, alpha, min_score=options.min_score, top_n=options.top_n,
                                     exit_below=options.exit_below, alpha_weight=options.alpha_weight,
                                     alpha_cap=options.alpha_cap)
    signal_days = np.flatnonzero(arrays["signal_day"])
    if len(signal_days) < 2:
        raise BacktestInputError(f"predictor backtest: {len(signal_days)} session(s) with predicted and scored tickers "
                                 f"in {base.dates[0]}..{base.dates[-1]}; lengthen the window (years) or the history")
    inputs = replace(base, **arrays)
    features = market_features(inputs, current)
    start = int(signal_days[0]) - 1  # the session of the first predictions: the portfolio starts flat there
    n_days = len(inputs.dates)
    window_inputs = slice_inputs(inputs, start, n_days)
    window_features = _slice_features(features, start, n_days)
    w_alpha, w_conf = alpha[start:], confidence[start:]
    thresholds = _thresholds(options, current_veto)
    variants: list[float | None] = [None, *thresholds]
    vetoes = {t: _veto_panel(w_alpha, w_conf, window_inputs.action, t) for t in variants}
    results = {t: simulate_vectorized(replace(window_inputs, veto=np.ascontiguousarray(vetoes[t])), [current],
                                      window_features)[0] for t in variants}
    n_window = n_days - start
    indices = stationary_bootstrap_indices(n_window, n_resamples=options.n_bootstrap,
                                           mean_block=options.mean_block_days, seed=seed)
    level = bonferroni_confidence(options.confidence, len(thresholds))
    returns = {t: _daily_returns(r) for t, r in results.items()}
    current_t = current_veto
    sharpe = {t: backtest_statistics(r, window_inputs.index_close, n_bootstrap=options.n_bootstrap,
                                     block_length=options.mean_block_days, seed=seed) for t, r in results.items()}
    rows = []
    versus_current: dict[float, Interval] = {}
    for t in thresholds:
        against_none = optimizer_gate(returns[t], returns[None], indices=indices, confidence=level).sharpe_difference
        against_current = optimizer_gate(returns[t], returns[current_t], indices=indices,
                                         confidence=level).sharpe_difference
        versus_current[t] = against_current
        s = sharpe[t]
        rows.append({"veto_confidence": t, "current": t == current_t, "vetoes": int(vetoes[t].sum()),
                     "sharpe_ratio": _num(s.sharpe), "sharpe_ci": _pair(s.sharpe_ci),
                     "total_return": _num(s.total_return), "max_drawdown": _num(s.max_drawdown),
                     "total_trades": s.n_trades, "vs_no_veto": against_none.to_json(_D),
                     "vs_current": against_current.to_json(_D)})
    # the best Sharpe; ties go to the threshold nearest the current one, then the higher one
    best = min(thresholds, key=lambda t: (-(sharpe[t].sharpe if math.isfinite(sharpe[t].sharpe) else -math.inf),
                                          abs(t - current_t), -t))
    recommendation = recommend_veto(current=current_t, best=best,
                                    versus_current=None if best == current_t else versus_current[best],
                                    vetoes=int(vetoes[best].sum()),
                                    swept_vetoes=int(sum(vetoes[t].sum() for t in thresholds)))
    log.info("veto sweep: best %.2f (Sharpe %.3f), current %.2f (Sharpe %.3f): %s", best, sharpe[best].sharpe,
             current_t, sharpe[current_t].sharpe, recommendation.action)

    main, main_stats = results[current_t], sharpe[current_t]
    window = {"start": _days(window_inputs.dates[:1])[0], "end": _days(window_inputs.dates[-1:])[0], "n_days": n_window}
    caveats = [*context.get("caveats", ()), PREDICTOR_SIGNAL_NOTE]
    refits = [r.to_json() for r in predictions.refits]
    causal = {"method": "expanding-window walk-forward refits of the champion's config", "champion": predictions.champion,
              "refit_days": options.refit_days, "label_span_sessions": predictions.label_span,
              "refits": refits, "n_refits": len(refits),
              "predicted_sessions": len(predictions.dates), "unpredicted_sessions": predictions.unpredicted,
              "note": "each refit trained only on rows whose labels ended before its anchor; the stored champion "
                      "was trained on everything up to its training date, so using it over history would be "
                      "look-ahead"}
    nav = main.nav / current.initial_cash
    pit = context.get("pit_parity", {"checked": False})
    degraded = [str(r) for r in context.get("degraded", ())]
    stats = {
        **{k: context[k] for k in ("run_date", "as_of_session", "seed")}, "signal_source": "predictor",
        "status": "degraded" if degraded else "ok", "degraded_reasons": degraded,
        "window": window, "dates_simulated": n_window, "signal_dates": int(window_inputs.signal_day.sum()),
        "tickers": list(inputs.tickers), "config": current.model_dump(mode="json"),
        "config_source": str(context.get("config_source", "")),
        "veto_confidence": current_t, "veto_source": str(context.get("veto_source", "")),
        "vetoes": int(vetoes[current_t].sum()),
        **_stats_document(main_stats, main), "bootstrap": {
            "method": "stationary", "n_resamples": options.n_bootstrap, "mean_block_days": options.mean_block_days,
            "confidence": 0.95},
        "blocked": main.blocked_counts(), "unfilled": main.unfilled, "atr_method": main.atr_method,
        "predictor_metadata": causal, "pit_parity": pit, "caveats": caveats,
        "dates": _days(window_inputs.dates), "nav": [_num(v) for v in nav],
    }
    sweep = {
        **{k: context[k] for k in ("run_date", "seed")}, "window": window, "current_veto_confidence": current_t,
        "rule": "gbm_veto = predicted_alpha < 0 and combined_rank > N/2 and prediction_confidence >= threshold, on the "
                "ENTER signals", "no_veto": {"sharpe_ratio": _num(sharpe[None].sharpe),
                                            "total_return": _num(sharpe[None].total_return),
                                            "total_trades": sharpe[None].n_trades},
        "interval": {"method": "paired stationary bootstrap", "n_resamples": options.n_bootstrap,
                     "mean_block_days": options.mean_block_days, "family_confidence": options.confidence,
                     "per_threshold_confidence": round(level, 12), "correction": "bonferroni"},
        "rows": rows, "best": best,
    }
    chosen = versus_current.get(best) if best != current_t else None
    rec = {
        **{k: context[k] for k in ("run_date", "seed")}, "parameter": "veto_confidence",
        "recommendation": recommendation.action, "reasons": list(recommendation.reasons),
        "current_veto_confidence": current_t, "current_veto_source": str(context.get("veto_source", "")),
        "recommended_veto_confidence": recommendation.veto_confidence, "best_veto_confidence": best,
        "sharpe_difference": None if chosen is None else chosen.to_json(_D),
        "window": window, "champion": predictions.champion, "caveats": caveats,
    }
    summary = {"window": [window["start"], window["end"]], "refits": len(refits),
               "refits_cached": sum(r.cached for r in predictions.refits), "unpredicted_sessions": predictions.unpredicted,
               "sharpe": [_num(main_stats.sharpe_ci[0]), _num(main_stats.sharpe), _num(main_stats.sharpe_ci[1])],
               "veto": {"current": current_t, "best": best, "recommendation": recommendation.action,
                        "recommended": recommendation.veto_confidence},
               "pit_parity": {k: pit.get(k) for k in ("documents", "matches", "mismatches", "missing_models")}
               if pit.get("checked") else "skipped"}
    return PredictorBacktestRun(stats=stats, sweep=sweep, recommendation=rec, summary=summary)
