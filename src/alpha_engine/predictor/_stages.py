"""The predictor stages: PredictorTraining (hard; the Parallel's predictor branch) and
DriftDetection (soft)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from alpha_engine.data import TradingCalendar, as_of_session, content_digest, latest_cross_section
from alpha_engine.pipeline import Compute, FailureClass, PreflightError, Stage, StageContext, StageOutcome

from ._drift import detect_drift
from ._inference import load_champion, predict_cross_section
from ._registry import ModelRegistry
from ._report import render_report
from ._training import TrainingConfig, build_dataset, data_vintage, train_predictor

__all__ = ["DriftDetection", "PredictorTraining"]

PREDICTIONS = "predictor/predictions/{date}.json"
LATEST_PREDICTIONS = "predictor/predictions/latest.json"
DRIFT = "monitoring/drift/{date}.json"
DATA_MANIFEST = "market_data/weekly/{date}/manifest.json"
PROMOTION_MARGIN = 0.005  # a challenger must beat the re-measured champion's CPCV IC by this much


def _context(ctx: StageContext) -> tuple[str, list[str]]:
    """The market symbol and the data caveats, from this run's data manifest."""
    key = ctx.key(DATA_MANIFEST)
    if ctx.artifacts.exists(key):
        manifest = ctx.artifacts.read_json(key)
        return str(manifest.get("market_symbol", "SPY")), list(manifest.get("caveats", []))
    return "SPY", []


def _dataset(ctx: StageContext, config: TrainingConfig) -> tuple[pd.DataFrame, date, dict[str, Any], list[str]]:
    calendar = TradingCalendar()
    as_of = as_of_session(calendar, ctx.run_date)
    market_symbol, caveats = _context(ctx)
    frames = ctx.market.read_many(end=as_of)
    macro = ctx.market.read_macro([market_symbol], end=as_of)
    market = macro[market_symbol]["Close"] if market_symbol in macro else None
    dataset, _ = build_dataset(frames, market, horizon=config.horizon, label_clip=config.label_clip)
    vintage = data_vintage(frames, as_of, content_digest(frames))
    stale = {t: calendar.trading_days_stale(f.index[-1].date(), as_of) for t, f in frames.items() if len(f)}
    vintage["stale_days"] = stale
    return dataset, as_of, vintage, caveats


class PredictorTraining(Stage):
    name = "PredictorTraining"
    slug = "predictor-training"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = ("Walk-forward L1 + leak-free L2 with CPCV; registers a challenger, promotes on CPCV IC; "
                   "the champion writes predictions")
    inputs = (DATA_MANIFEST,)
    outputs = (PREDICTIONS, LATEST_PREDICTIONS)

    def preflight(self, ctx: StageContext) -> None:
        try:
            config = TrainingConfig.from_options(ctx.options, ctx.seed)
        except (TypeError, ValueError) as exc:
            raise PreflightError(f"predictor options: {exc}") from exc
        store = ctx.market
        if not store.libraries_present() or not store.tickers():
            raise PreflightError("the market store has no universe yet: DataPhase1 builds it")
        needed = config.min_train_dates + config.test_dates + 2 * config.horizon
        first = store.read(store.tickers()[0], columns=["Close"])
        if len(first) < needed:
            raise PreflightError(f"{store.tickers()[0]} has {len(first)} rows; training needs at least {needed} "
                                 f"(min_train_dates + test_dates + 2 x horizon)")
        ModelRegistry(ctx.artifacts).versions()  # the registry is readable

    def run(self, ctx: StageContext) -> StageOutcome:
        config = TrainingConfig.from_options(ctx.options, ctx.seed)
        dataset, as_of, vintage, caveats = _dataset(ctx, config)
        stale = vintage.pop("stale_days")
        result = train_predictor(dataset, config, data_vintage=vintage, log=ctx.logger)
        registry = ModelRegistry(ctx.artifacts)
        version = registry.register(result.files, result.manifest, label="predictor", run_date=ctx.run_date.isoformat())
        for name, data in render_report(result.manifest, version_id=version, caveats=caveats).items():
            ctx.artifacts.write_bytes(f"predictor/reports/{version}/{name}", data)
        challenger_ic = result.manifest["validation"]["cpcv"]["mean_ic"]
        decision = self._promotion(registry, version, challenger_ic, result.manifest, dataset, vintage, ctx)
        if decision["promote"]:
            registry.promote(version, reason=decision["reason"])
        ctx.logger.info("challenger %s: CPCV IC %s; %s", version, challenger_ic, decision["reason"])
        warnings = list(caveats)
        champion = load_champion(registry)
        summary: dict[str, Any] = {"challenger": version, "promoted": decision["promote"],
                                   "promotion": decision["reason"], "cpcv_mean_ic": challenger_ic,
                                   "meta_oos_ic": result.manifest["validation"]["meta_oos_ic"]}
        if champion is None:
            warnings.append("no champion model: no predictions were written")
            return StageOutcome(summary=summary, warnings=tuple(warnings))
        document = predict_cross_section(champion, dataset, as_of=as_of, run_date=ctx.run_date,
                                         stale_days=stale, caveats=caveats)
        ctx.artifacts.write_json(ctx.key(PREDICTIONS), document)
        ctx.artifacts.write_json(LATEST_PREDICTIONS, document)
        summary.update(champion=champion.version_id, predictions=document["n_predictions"])
        return StageOutcome(summary=summary, warnings=tuple(warnings))

    @staticmethod
    def _promotion(registry: ModelRegistry, version: str, challenger_ic: float | None, manifest: dict[str, Any],
                   dataset: pd.DataFrame, vintage: dict[str, Any], ctx: StageContext) -> dict[str, Any]:
        """Promote only when the CPCV IC is > 0 and >= the champion's, re-measured on this data, + a margin."""
        if challenger_ic is None or not challenger_ic > 0:
            return {"promote": False, "reason": f"CPCV IC {challenger_ic} is not > 0"}
        champion = registry.champion()
        if champion is None:
            return {"promote": True, "reason": f"first model: CPCV IC {challenger_ic:.4f} > 0"}
        if champion == version:
            return {"promote": False, "reason": "the challenger is already the champion (same content)"}
        champion_config = registry.manifest(champion).get("config", {})
        if champion_config == manifest.get("config"):
            baseline = challenger_ic  # same architecture: its re-measure on this data is the challenger itself
        else:
            options = {k: v for k, v in champion_config.items() if k in TrainingConfig.__dataclass_fields__}
            remeasured = train_predictor(dataset, TrainingConfig(**options), data_vintage=vintage, log=ctx.logger)
            baseline = remeasured.manifest["validation"]["cpcv"]["mean_ic"] or 0.0
        if challenger_ic >= baseline + PROMOTION_MARGIN:
            return {"promote": True, "reason": f"CPCV IC {challenger_ic:.4f} >= champion {baseline:.4f} + "
                                               f"{PROMOTION_MARGIN}"}
        return {"promote": False, "reason": f"CPCV IC {challenger_ic:.4f} < champion re-measured on this data "
                                            f"{baseline:.4f} + margin {PROMOTION_MARGIN}"}


class DriftDetection(Stage):
    name = "DriftDetection"
    slug = "drift-detection"
    failure_class = FailureClass.SOFT
    compute = Compute.BATCH
    timeout_seconds = 1200
    description = "Feature drift (KS, z-score) vs the champion's training reference; prediction-pattern drift"
    inputs = (PREDICTIONS,)
    outputs = (DRIFT,)

    def preflight(self, ctx: StageContext) -> None:
        if ModelRegistry(ctx.artifacts).champion() is None:
            raise PreflightError("no champion model yet: PredictorTraining registers and promotes one")
        if not ctx.market.libraries_present():
            raise PreflightError("the market store has no universe yet: DataPhase1 builds it")

    def run(self, ctx: StageContext) -> StageOutcome:
        registry = ModelRegistry(ctx.artifacts)
        champion = load_champion(registry)
        if champion is None:
            raise PreflightError("no champion model")
        as_of = as_of_session(TradingCalendar(), ctx.run_date)
        today = latest_cross_section(ctx.market, as_of)
        today = today[[c for c in champion.drift_reference if c in today.columns]].astype(float)
        key = ctx.key(PREDICTIONS)
        predictions = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        history = [ctx.artifacts.read_json(k) for k in ctx.artifacts.list("monitoring/drift/")[-2:]]
        report = detect_drift(today, champion.drift_reference, predictions=predictions, history=history)
        report = {**report, "date": ctx.run_date.isoformat(), "model_version": champion.version_id}
        ctx.artifacts.write_json(ctx.key(DRIFT), report)
        warnings = tuple(a["message"] for a in report["alerts"] if a["severity"] in ("WARN", "CRITICAL"))
        return StageOutcome(summary={"status": report["status"], "severity": report["severity"],
                                     "n_alerts": report["n_alerts"]}, warnings=warnings)
