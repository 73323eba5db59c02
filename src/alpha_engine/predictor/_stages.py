"""The predictor stages: PredictorTraining (hard; the Parallel's predictor branch) and
DriftDetection (soft)."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

import pandas as pd

from alpha_engine.data import TradingCalendar, as_of_session, content_digest
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
DRIFT_HISTORY_DAYS = 120  # calendar days read for today's rows: the market context needs 50 sessions
PROMOTION_MARGIN = 0.005  # a challenger must beat the re-measured champion's CPCV IC by this much


def _options(ctx: StageContext) -> tuple[TrainingConfig, bool]:
    """The stage options: ``serve_provisional`` (default true) and the TrainingConfig fields."""
    options = dict(ctx.options)
    serve_provisional = options.pop("serve_provisional", True)
    if not isinstance(serve_provisional, bool):
        raise ValueError(f"serve_provisional must be true or false, got {serve_provisional!r}")
    return TrainingConfig.from_options(options, ctx.seed), serve_provisional


def _check_writable(ctx: StageContext, prefixes: tuple[str, ...]) -> None:
    """A local artifact store must let this stage create and replace files under ``prefixes``
    (checked without writing: a preflight-only run touches nothing). A remote store is checked by
    its first write."""
    root = ctx.artifacts.local_root
    if root is None:
        return
    for prefix in prefixes:
        target = root / prefix
        existing = next(p for p in (target, *target.parents) if p.exists())
        if not os.access(existing, os.W_OK):
            raise PreflightError(f"the artifact store is not writable at {existing} (this stage writes {prefix}/)")


def _model_defining(config: dict[str, Any]) -> dict[str, Any]:
    """The config without the settings that change speed, not models (``threads``)."""
    return {k: v for k, v in config.items() if k != "threads"}


def _context(ctx: StageContext) -> tuple[str, list[str]]:
    """The market symbol and the data caveats, from this run's data manifest."""
    key = ctx.key(DATA_MANIFEST)
    if ctx.artifacts.exists(key):
        manifest = ctx.artifacts.read_json(key)
        return str(manifest.get("market_symbol", "SPY")), list(manifest.get("caveats", []))
    return "SPY", []


def _model_rows(ctx: StageContext, as_of: date, market_symbol: str, *, horizon: int, label_clip: float,
                start: date | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The model's rows (features, derived inputs, label) from the market store up to ``as_of``,
    and the per-ticker frames they were built from."""
    frames = ctx.market.read_many(start=start, end=as_of)
    macro = ctx.market.read_macro([market_symbol], start=start, end=as_of)
    market = macro[market_symbol]["Close"] if market_symbol in macro else None
    dataset, _ = build_dataset(frames, market, horizon=horizon, label_clip=label_clip)
    return dataset, frames


def _dataset(ctx: StageContext, config: TrainingConfig) -> tuple[pd.DataFrame, date, dict[str, Any], list[str]]:
    calendar = TradingCalendar()
    as_of = as_of_session(calendar, ctx.run_date)
    market_symbol, caveats = _context(ctx)
    dataset, frames = _model_rows(ctx, as_of, market_symbol, horizon=config.horizon, label_clip=config.label_clip)
    vintage = data_vintage(frames, as_of, content_digest(frames))
    stale = {t: calendar.trading_days_stale(f.index[-1].date(), as_of) for t, f in frames.items() if len(f)}
    vintage["stale_days"] = stale
    return dataset, as_of, vintage, caveats


def _todays_model_inputs(ctx: StageContext, as_of: date, *, horizon: int, label_clip: float,
                         lookback_days: int = 10) -> pd.DataFrame:
    """Each ticker's latest row at or before ``as_of`` (within ``lookback_days``), built the way
    training builds rows, so derived inputs (momentum score, market context) are there too."""
    start = (pd.Timestamp(as_of) - pd.Timedelta(days=DRIFT_HISTORY_DAYS)).date()
    dataset, _ = _model_rows(ctx, as_of, _context(ctx)[0], horizon=horizon, label_clip=label_clip, start=start)
    dates = dataset.index.get_level_values("date")
    recent = dataset[(dates <= pd.Timestamp(as_of)) & (dates > pd.Timestamp(as_of) - pd.Timedelta(days=lookback_days))]
    return recent.groupby(level="ticker").tail(1).droplevel("date")


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
            config, _ = _options(ctx)
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
        _check_writable(ctx, ("predictor/registry", "predictor/reports", "predictor/predictions"))

    def run(self, ctx: StageContext) -> StageOutcome:
        config, serve_provisional = _options(ctx)
        dataset, as_of, vintage, caveats = _dataset(ctx, config)
        stale = vintage.pop("stale_days")
        result = train_predictor(dataset, config, data_vintage=vintage, log=ctx.logger)
        registry = ModelRegistry(ctx.artifacts)
        version = registry.register(result.files, result.manifest, label="predictor", run_date=ctx.run_date.isoformat())
        for name, data in render_report(result.manifest, version_id=version, caveats=caveats).items():
            ctx.artifacts.write_bytes(f"predictor/reports/{version}/{name}", data)
        challenger_ic = result.manifest["validation"]["cpcv"]["mean_ic"]
        decision = self._promotion(registry, version, challenger_ic, result.manifest, dataset, vintage, ctx,
                                   serve_provisional)
        if decision["promote"]:
            registry.promote(version, reason=decision["reason"], provisional=decision["provisional"])
        ctx.logger.info("challenger %s: CPCV IC %s; %s", version, challenger_ic, decision["reason"])
        warnings = list(caveats)
        champion = load_champion(registry)
        summary: dict[str, Any] = {"challenger": version, "promoted": decision["promote"],
                                   "provisional": decision["provisional"], "promotion": decision["reason"], "cpcv_mean_ic": challenger_ic,
                                   "meta_oos_ic": result.manifest["validation"]["meta_oos_ic"]}
        if champion is None:
            warnings.append("no champion model: no predictions were written")
            return StageOutcome(summary=summary, warnings=tuple(warnings))
        document = predict_cross_section(champion, dataset, as_of=as_of, run_date=ctx.run_date,
                                         stale_days=stale, caveats=caveats)
        ctx.artifacts.write_json(ctx.key(PREDICTIONS), document)
        ctx.artifacts.write_json(LATEST_PREDICTIONS, document)
        summary.update(champion=champion.version_id, model_status=document["model_status"],
                       predictions=document["n_predictions"])
        if champion.provisional:
            warnings.append(f"the champion {champion.version_id} is provisional: it has not passed the promotion gate")
        return StageOutcome(summary=summary, warnings=tuple(warnings))

    @staticmethod
    def _promotion(registry: ModelRegistry, version: str, challenger_ic: float | None, manifest: dict[str, Any],
                   dataset: pd.DataFrame, vintage: dict[str, Any], ctx: StageContext,
                   serve_provisional: bool) -> dict[str, Any]:
        """The promotion decision: ``{"promote", "provisional", "reason"}``.

        The gate: the CPCV IC is > 0 and >= the champion's CPCV IC re-measured on this data, plus
        a margin. While no model has passed the gate (no champion, or a provisional one), the
        newest challenger serves provisionally if ``serve_provisional``; its predictions say so.
        """
        champion = registry.champion()
        if champion == version:
            return {"promote": False, "provisional": False,
                    "reason": "the challenger is already the champion (same content)"}
        provisional_champion = champion is not None and registry.champion_is_provisional()
        if challenger_ic is None or not challenger_ic > 0:
            failed = f"CPCV IC {challenger_ic} is not > 0"
            if serve_provisional and (champion is None or provisional_champion):
                which = "first model" if champion is None else f"replaces provisional champion {champion}"
                return {"promote": True, "provisional": True,
                        "reason": f"{which}, provisional: {failed}; it serves until a model passes the gate"}
            return {"promote": False, "provisional": False, "reason": failed}
        if champion is None:
            return {"promote": True, "provisional": False, "reason": f"first model: CPCV IC {challenger_ic:.4f} > 0"}
        if provisional_champion:
            return {"promote": True, "provisional": False,
                    "reason": f"CPCV IC {challenger_ic:.4f} > 0 passes the gate; {champion} was provisional"}
        champion_config = registry.manifest(champion).get("config", {})
        if _model_defining(champion_config) == _model_defining(manifest.get("config", {})):
            baseline = challenger_ic  # same architecture: its re-measure on this data is the challenger itself
        else:
            options = {k: v for k, v in champion_config.items() if k in TrainingConfig.__dataclass_fields__}
            remeasured = train_predictor(dataset, TrainingConfig(**options), data_vintage=vintage, log=ctx.logger)
            baseline = remeasured.manifest["validation"]["cpcv"]["mean_ic"] or 0.0
        if challenger_ic >= baseline + PROMOTION_MARGIN:
            return {"promote": True, "provisional": False,
                    "reason": f"CPCV IC {challenger_ic:.4f} >= champion {baseline:.4f} + {PROMOTION_MARGIN}"}
        return {"promote": False, "provisional": False,
                "reason": f"CPCV IC {challenger_ic:.4f} < champion re-measured on this data {baseline:.4f} + "
                          f"margin {PROMOTION_MARGIN}"}


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
        today = _todays_model_inputs(ctx, as_of, horizon=int(champion.manifest.get("horizon", 21)),
                                     label_clip=champion.label_clip)
        today = today[[c for c in champion.drift_reference if c in today.columns]].astype(float)
        key = ctx.key(PREDICTIONS)
        predictions = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        # Earlier reports only: a rerun for the same date must not compare against its own last output.
        earlier = [k for k in ctx.artifacts.list("monitoring/drift/") if k < ctx.key(DRIFT)]
        history = [ctx.artifacts.read_json(k) for k in earlier[-2:]]
        report = detect_drift(today, champion.drift_reference, predictions=predictions, history=history)
        report = {**report, "date": ctx.run_date.isoformat(), "model_version": champion.version_id}
        ctx.artifacts.write_json(ctx.key(DRIFT), report)
        warnings = tuple(a["message"] for a in report["alerts"] if a["severity"] in ("WARN", "CRITICAL"))
        return StageOutcome(summary={"status": report["status"], "severity": report["severity"],
                                     "n_alerts": report["n_alerts"]}, warnings=warnings)
