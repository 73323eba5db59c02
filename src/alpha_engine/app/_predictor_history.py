"""PredictorBacktest's :class:`~alpha_engine.backtest.HistoricalPredictions`, over the predictor's
public API (model rows, training, the registry, the champion's models, the cross-section
predictions). This is the one place the backtest and predictor packages meet.

Causal by construction: each refit trains on the rows dated before its anchor whose labels end
before it (the last ``horizon + execution_lag`` sessions before the anchor have their labels
removed), and predicts only the sessions from its anchor to the next one, in one call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from alpha_engine.backtest import CausalPredictions, Refit

if TYPE_CHECKING:
    import pandas as pd

    from alpha_engine.predictor import ChampionModels, ModelRegistry, TrainingConfig
    from alpha_engine.store import ArtifactStore, MarketStore

__all__ = ["PredictorHistory", "first_anchor", "refit_anchors"]

REFITS_PREFIX = "backtest/predictor_refits"


def _enough_history(n_labelled: int, config: TrainingConfig) -> bool:
    """Whether ``n_labelled`` label-complete dates give train_predictor its folds (>= 2 walk-forward
    folds for the volatility model, >= 1 for the meta-model on their test dates)."""
    from alpha_engine.predictor import WalkForward

    if n_labelled <= 0:
        return False
    span = config.horizon + config.execution_lag
    dates = np.arange(n_labelled).astype("datetime64[D]")
    folds = WalkForward(min_train_dates=config.min_train_dates, test_dates=config.test_dates, purge=span,
                        embargo=span)
    if folds.get_n_splits(dates) < 2:
        return False
    oof = np.unique(np.concatenate([test for _, test in folds.split(dates)]))
    meta = WalkForward(min_train_dates=config.meta_min_train_dates, test_dates=config.test_dates, purge=span,
                       embargo=span)
    return meta.get_n_splits(dates[oof]) >= 1 and len(oof) >= config.cpcv_groups


def first_anchor(labelled: np.ndarray, start: int, config: TrainingConfig) -> int | None:
    """The first session position >= ``start`` with enough label-complete history before it (the
    labelled dates among positions < anchor - span; ``labelled`` marks the sessions with a label);
    None when there is none."""
    span = config.horizon + config.execution_lag
    n_dates = len(labelled)
    counts = np.concatenate([[0], np.cumsum(labelled)])  # counts[k]: labelled sessions at positions < k

    def enough(anchor: int) -> bool:
        return _enough_history(int(counts[max(anchor - span, 0)]), config)

    lo, hi = max(start, span + 1), n_dates
    if lo >= hi or not enough(hi - 1):
        return None
    while lo < hi:  # enough history is monotone in the anchor
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def refit_anchors(n_dates: int, base: int, start: int, every: int) -> list[tuple[int, int, int]]:
    """(anchor, first, stop) session positions: the refit anchored at ``anchor`` predicts positions
    first..stop-1. Anchors lie on one grid, ``base + k * every`` (``base``: the first session of the
    data with enough history), whatever the window's ``start``, so a window that moves on by a week
    meets the same anchors and the cache serves them; the first refit is the last anchor at or
    before ``start`` and predicts from ``start``."""
    first_k = max(0, (start - base) // every)
    return [(a, max(a, start), min(a + every, n_dates)) for a in range(base + first_k * every, n_dates, every)]


def _digest(frames: Mapping[str, pd.DataFrame], market: pd.Series | None, config: Mapping[str, Any]) -> str:
    import pandas as pd

    from alpha_engine.store import content_digest

    digest = hashlib.sha256(content_digest(frames).encode())
    if market is not None:
        digest.update(pd.util.hash_pandas_object(market, index=True).to_numpy().tobytes())
    digest.update(json.dumps(dict(config), sort_keys=True).encode())
    return digest.hexdigest()


class PredictorHistory:
    """:class:`~alpha_engine.backtest.HistoricalPredictions` over the predictor's public API."""

    def champion(self, artifacts: ArtifactStore) -> str | None:
        from alpha_engine.predictor import ModelRegistry

        return ModelRegistry(artifacts).champion()

    def veto_confidence(self, artifacts: ArtifactStore) -> tuple[float, str]:
        from alpha_engine.predictor import veto_confidence_in_force

        return veto_confidence_in_force(artifacts)

    def causal_predictions(self, market: MarketStore, artifacts: ArtifactStore, *, as_of: date, window_start: date,
                           market_symbol: str, refit_days: int, cache: bool,
                           log: logging.Logger | logging.LoggerAdapter[Any]) -> CausalPredictions:
        import pandas as pd

        from alpha_engine.predictor import ModelRegistry, TrainingConfig, build_dataset
        from alpha_engine.store import ArtifactStore

        registry = ModelRegistry(artifacts)
        champion = registry.champion()
        if champion is None:
            raise ValueError("no champion model: run `alpha-engine stage run predictor-training` first")
        config = TrainingConfig(**registry.manifest(champion)["config"])
        span = config.horizon + config.execution_lag
        frames = {t: f for t, f in market.read_many(end=as_of).items() if len(f)}
        macro = market.read_macro([market_symbol], end=as_of) if market_symbol in market.macro_symbols() else {}
        market_close = macro[market_symbol]["Close"] if market_symbol in macro else None
        dataset, _ = build_dataset(frames, market_close, horizon=config.horizon, label_clip=config.label_clip,
                                   execution_lag=config.execution_lag)
        row_dates = dataset.index.get_level_values("date")
        dates = row_dates.unique().sort_values()
        start = int(dates.searchsorted(pd.Timestamp(window_start)))
        labelled = dataset["label"].notna().groupby(level="date").any().reindex(dates, fill_value=False)
        base = first_anchor(labelled.to_numpy(dtype=bool), 0, config)
        first = None if base is None or base >= len(dates) else max(base, start)
        tickers = tuple(sorted(dataset.index.get_level_values("ticker").unique()))
        if first is None or base is None:
            log.warning("causal predictions: no session of the window has enough labelled history for the champion's "
                        "config (min_train_dates %d, test_dates %d)", config.min_train_dates, config.test_dates)
            empty = np.empty((0, len(tickers)))
            return CausalPredictions(champion=champion, config=config.model_dump(), dates=np.empty(0, "datetime64[D]"),
                                     tickers=tickers, alpha=empty, confidence=empty.copy(),
                                     refit_of=np.empty(0, np.int64), refits=(), unpredicted=len(dates) - start,
                                     label_span=span)
        anchors = refit_anchors(len(dates), base, start, refit_days)
        with tempfile.TemporaryDirectory(prefix="alpha-engine-refits-") as scratch:
            store = artifacts if cache else ArtifactStore(scratch)
            refits_registry = ModelRegistry(store, prefix=f"{REFITS_PREFIX}/{champion}")
            alpha_rows, conf_rows, refits, refit_of = [], [], [], []
            for k, (anchor, begin, stop) in enumerate(anchors):
                refit, models = self._refit(refits_registry, store, dataset, frames, market_close, config, dates,
                                            anchor, begin, stop, champion=champion, log=log)
                refits.append(refit)
                block = dataset.iloc[np.flatnonzero((row_dates >= dates[begin]) & (row_dates < (
                    dates[stop] if stop < len(dates) else dates[-1] + pd.Timedelta(days=1))))]
                alpha, confidence = _predict_block(models, block)
                alpha_rows.append(alpha.reindex(index=dates[begin:stop], columns=list(tickers)))
                conf_rows.append(confidence.reindex(index=dates[begin:stop], columns=list(tickers)))
                refit_of.extend([k] * (stop - begin))
        alpha_frame = pd.concat(alpha_rows)
        return CausalPredictions(
            champion=champion, config=config.model_dump(),
            dates=alpha_frame.index.to_numpy().astype("datetime64[D]"), tickers=tickers,
            alpha=np.ascontiguousarray(alpha_frame.to_numpy(dtype=np.float64)),
            confidence=np.ascontiguousarray(pd.concat(conf_rows).to_numpy(dtype=np.float64)),
            refit_of=np.asarray(refit_of, np.int64), refits=tuple(refits), unpredicted=first - start, label_span=span)

    def _refit(self, registry: ModelRegistry, store: ArtifactStore, dataset: pd.DataFrame,
               frames: Mapping[str, pd.DataFrame], market_close: pd.Series | None, config: TrainingConfig,
               dates: pd.DatetimeIndex, anchor: int, begin: int, stop: int, *, champion: str,
               log: logging.Logger | logging.LoggerAdapter[Any]) -> tuple[Refit, ChampionModels]:
        from alpha_engine.predictor import ChampionModels, data_vintage, train_predictor

        span = config.horizon + config.execution_lag
        anchor_day = dates[anchor]
        label_cut = dates[anchor - span]  # labels of rows dated on or after it end on or after the anchor
        before = {t: f[f.index < anchor_day] for t, f in frames.items()}
        before = {t: f for t, f in before.items() if len(f)}
        market_before = None if market_close is None else market_close[market_close.index < anchor_day]
        digest = _digest(before, market_before, config.model_dump())
        index_key = f"{registry.prefix}/anchors/{anchor_day.date().isoformat()}-{digest[:16]}.json"
        predicts = (dates[begin].date(), dates[stop - 1].date())
        trained_through, label_ends = dates[anchor - span - 1].date(), dates[anchor - 1].date()
        if store.exists(index_key):
            version = str(store.read_json(index_key)["version"])
            models = ChampionModels(registry, version)
            rows = int(models.manifest["rows"]["labelled"])
            return Refit(anchor_day.date(), trained_through, label_ends, predicts, rows, version, True, 0.0), models
        started = time.perf_counter()
        row_dates = dataset.index.get_level_values("date")
        train = dataset.iloc[np.flatnonzero(row_dates < anchor_day)].copy()
        train.loc[train.index.get_level_values("date") >= label_cut, "label"] = np.nan
        vintage = data_vintage(before, dates[anchor - 1].date(), digest)
        result = train_predictor(train, config, data_vintage=vintage, log=_quiet())
        version = registry.register(result.files, result.manifest, label="refit",
                                    run_date=anchor_day.date().isoformat())
        store.write_json(index_key, {"anchor": anchor_day.date().isoformat(), "data_sha256": digest,
                                     "champion": champion, "version": version})
        seconds = time.perf_counter() - started
        log.info("refit %s: trained through %s (labels to %s), %d labelled rows, predicts %s..%s (%.1f s)",
                 version, trained_through, label_ends, int(result.manifest["rows"]["labelled"]), predicts[0],
                 predicts[1], seconds)
        return (Refit(anchor_day.date(), trained_through, label_ends, predicts, int(result.manifest["rows"]["labelled"]),
                      version, False, seconds), ChampionModels(registry, version))

    def replay(self, market: MarketStore, artifacts: ArtifactStore, *, prediction_date: date, model_version: str,
               market_symbol: str) -> Mapping[str, float] | None:
        from alpha_engine.predictor import (
            ChampionModels,
            ModelRegistry,
            VersionNotFoundError,
            model_rows,
            predict_cross_section,
        )
        from alpha_engine.store import TradingCalendar

        try:
            models = ChampionModels(ModelRegistry(artifacts), model_version)
        except VersionNotFoundError:
            return None
        as_of = TradingCalendar().as_of_session(prediction_date)
        label = models.manifest.get("label", {})
        dataset, _ = model_rows(market, as_of, market_symbol, horizon=int(models.manifest.get("horizon", 21)),
                                label_clip=float(label.get("clip", 0.15)),
                                execution_lag=int(label.get("execution_lag", 1)))
        document = predict_cross_section(models, dataset, as_of=as_of, run_date=prediction_date, stale_days={},
                                         caveats=[])
        return {str(p["ticker"]): float(p["predicted_alpha"]) for p in document["predictions"]}


def _quiet() -> logging.Logger:
    """The refits' own training log, at WARNING and above only (the stage logs one INFO line per refit)."""
    quiet = logging.getLogger("alpha_engine.app.refits")
    quiet.setLevel(logging.WARNING)
    return quiet


def _predict_block(models: ChampionModels, block: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """predicted_alpha and prediction_confidence (dates x tickers) of every row of ``block``, in
    one call, computed and rounded as the predictions document does."""
    import pandas as pd

    section = block.copy()
    section["expected_move"] = models.volatility.predict(section)
    alpha = models.meta.predict(section[list(models.features["meta_features"])]).clip(-models.label_clip,
                                                                                       models.label_clip)
    p_up = np.round(models.calibrator.predict_proba(alpha.to_numpy()), 6)
    confidence = np.round(np.abs(p_up - 0.5) * 2.0, 6) + 0.0
    values = pd.DataFrame({"alpha": np.round(alpha.to_numpy(), 6) + 0.0, "confidence": confidence},
                          index=section.index)
    return values["alpha"].unstack("ticker"), values["confidence"].unstack("ticker")
