"""The predictor stages: PredictorTraining (hard; the Parallel's predictor branch) and
DriftDetection (soft).

This module stays light (see :mod:`alpha_engine.pipeline`): the model stack (pandas, LightGBM,
scikit-learn) is imported inside the methods that use it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from alpha_engine.data import WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    NOTIFICATIONS,
    Compute,
    FailureClass,
    NoOptions,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)

from ._artifacts import (
    CHAMPION_POINTER,
    DRIFT_REPORT,
    LATEST_PREDICTIONS,
    MODEL_BUNDLE_FILE,
    MODEL_REPORT_FILE,
    PREDICTIONS,
    PREDICTOR_PARAMS,
    PROMOTION_DECISION,
    REGISTRY_MANIFEST,
)
from ._options import PredictorTrainingOptions

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore

    from ._registry import ModelRegistry

__all__ = ["DEFAULT_VETO_CONFIDENCE", "DriftDetection", "PredictorTraining", "veto_confidence_in_force"]

def _registry(ctx: StageContext[Any]) -> ModelRegistry:
    from ._registry import ModelRegistry

    return ModelRegistry(ctx.artifacts)


def _check_writable(ctx: StageContext[Any], prefixes: tuple[str, ...]) -> None:
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
            raise PreflightError(f"the artifact store is not writable at {existing} (this stage writes {prefix})")


DEFAULT_VETO_CONFIDENCE = 0.65  # apply_vetoes' default (upstream's veto threshold before any tuning)


def veto_confidence_in_force(artifacts: ArtifactStore) -> tuple[float, str]:
    """The ``veto_confidence`` the predictions use and where it came from: ``config/predictor_params.json``
    (what the Evaluator's guarded auto-apply or a rollback last wrote) when it exists, else the default.
    PredictorTraining applies it; PredictorBacktest measures its sweep against it (through the app)."""
    key = PREDICTOR_PARAMS.key
    if not artifacts.exists(key):
        return DEFAULT_VETO_CONFIDENCE, "default"
    document = artifacts.read_json(key)  # the contract bounds veto_confidence to [0, 1]
    dated = f" {document['run_date']}" if document.get("run_date") else ""
    return float(document["values"]["veto_confidence"]), f"{key} ({document['origin']}{dated})"


def _data_context(ctx: StageContext[Any]) -> tuple[str, list[str]]:
    """The market symbol and the data caveats, from this run's data manifest."""
    manifest = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))
    return str(manifest["market_symbol"]), list(manifest["caveats"])


class PredictorTraining(Stage[PredictorTrainingOptions]):
    name = "PredictorTraining"
    slug = "predictor-training"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = ("Walk-forward L1 + leak-free L2 with CPCV; registers a challenger; promotes, keeps or demotes on "
                   "a skill gate (HAC IC interval or DSR) and a paired test; the champion writes predictions")
    requires = (MARKET, NOTIFICATIONS)
    consumes = (WEEKLY_MANIFEST,)
    produces = (PREDICTIONS, LATEST_PREDICTIONS, REGISTRY_MANIFEST, MODEL_BUNDLE_FILE, CHAMPION_POINTER,
                PROMOTION_DECISION, MODEL_REPORT_FILE)

    def preflight(self, ctx: StageContext[PredictorTrainingOptions]) -> None:
        _registry(ctx).versions()  # the registry is readable
        veto_confidence_in_force(ctx.artifacts)  # an applied predictor_params.json is readable and valid
        _check_writable(ctx, tuple(a.prefix for a in (REGISTRY_MANIFEST, MODEL_REPORT_FILE, PREDICTIONS)))
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is no history to check yet
        config = ctx.options.training_config(ctx.seed)
        store = ctx.resource(MARKET)
        if not store.libraries_present() or not store.tickers():
            raise PreflightError("the market store has no universe yet: DataPhase1 builds it")
        needed = config.min_train_dates + config.test_dates + 2 * (config.horizon + config.execution_lag)
        first = store.read(store.tickers()[0], columns=["Close"])
        if len(first) < needed:
            raise PreflightError(f"{store.tickers()[0]} has {len(first)} rows; training needs at least {needed} "
                                 f"(min_train_dates + test_dates + 2 x (horizon + execution_lag))")

    def run(self, ctx: StageContext[PredictorTrainingOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from ._inference import load_champion, predict_cross_section
        from ._options import TrainingConfig
        from ._promotion import Evidence, apply_decision, decide
        from ._report import render_report
        from ._rows import training_rows
        from ._training import train_predictor

        config = ctx.options.training_config(ctx.seed)
        calendar = TradingCalendar()
        as_of = calendar.as_of_session(ctx.run_date)
        market_symbol, caveats = _data_context(ctx)

        def rows(spec: TrainingConfig) -> tuple[Any, dict[str, Any], dict[str, int]]:
            return training_rows(ctx.resource(MARKET), calendar, as_of, market_symbol, horizon=spec.horizon,
                                 label_clip=spec.label_clip, execution_lag=spec.execution_lag)

        dataset, vintage, stale = rows(config)
        registry = _registry(ctx)
        # Every earlier trial but this week's own (a rerun is the same trial and registers the same bundle).
        prior_trials = [trial["sharpe"] for trial in
                        registry.trials(excluding=(ctx.run_date.isoformat(), config.model_dump()))]
        result = train_predictor(dataset, config, data_vintage=vintage, log=ctx.logger, prior_trial_sharpes=prior_trials)
        version = registry.register(result.files, result.manifest, label="predictor", run_date=ctx.run_date.isoformat())

        def remeasure(champion_config: TrainingConfig) -> Evidence:
            """The champion's config trained on this run's data with its own labels."""
            ctx.logger.info("re-measuring the champion's config on this run's data (horizon %d, clip %s, "
                            "execution lag %d)", champion_config.horizon, champion_config.label_clip,
                            champion_config.execution_lag)
            same_labels = all(getattr(champion_config, f) == getattr(config, f)
                              for f in ("horizon", "label_clip", "execution_lag"))
            own = dataset if same_labels else rows(champion_config)[0]
            remeasured = train_predictor(own, champion_config, data_vintage=vintage, log=ctx.logger,
                                         prior_trial_sharpes=prior_trials)
            return Evidence(remeasured.manifest["config"], remeasured.manifest["validation"], remeasured.meta_ic)

        challenger = Evidence(result.manifest["config"], result.manifest["validation"], result.meta_ic)
        # A rerun that registered the same challenger for the same week keeps the decision already made
        # (deciding again would see that challenger as the champion and overwrite why it got there). It is
        # applied only if the champion pointer is still where it was (the earlier attempt stopped in between):
        # a pointer moved since, by that attempt or by an operator, stays where it is.
        decision = registry.decision(ctx.run_date.isoformat(), version)
        if decision is None:
            decision = decide(registry, version, challenger, run_date=ctx.run_date.isoformat(),
                              serve_provisional=ctx.options.serve_provisional, remeasure=remeasure)
            registry.record_decision(decision)
            pending = True
        else:
            pending = (registry.champion(), registry.champion_is_provisional()) == (
                decision["champion_before"], decision["provisional_before"])
            ctx.logger.info("this week's challenger %s was decided before (%s); %s", version, decision["action"],
                            "applying it" if pending else "the champion pointer has moved since: left as it is")
        if pending:
            apply_decision(registry, decision)
        demoted_now = pending and decision["action"] == "demote"
        for name, data in render_report(result.manifest, version_id=version, caveats=caveats,
                                        decision=decision).items():
            ctx.artifacts.write_bytes(ctx.key(MODEL_REPORT_FILE, version=version, file=name), data)
        ctx.logger.info("challenger %s: %s: %s", version, decision["action"], decision["reason"])
        warnings = list(caveats)
        if decision["action"] == "demote":  # notified once: when the pointer changed, not on a rerun
            notice = (f"The champion model {decision['champion_before']} was demoted to provisional on "
                      f"{ctx.run_date.isoformat()}: {decision['reason']}. It keeps serving and its predictions are "
                      f"marked provisional until a model passes the skill gate. Decision: "
                      f"{ctx.key(PROMOTION_DECISION, version=version)}")
            warnings.append(notice)
            if demoted_now:
                ctx.resource(NOTIFICATIONS).publish(
                    f"Alpha Engine — champion model demoted ({ctx.run_date.isoformat()})", notice)
        champion = load_champion(registry)
        gate = decision["challenger_gate"]
        summary: dict[str, Any] = {"challenger": version, "action": decision["action"],
                                   "promoted": decision["action"] in ("promote", "promote_provisional"),
                                   "provisional": decision["provisional_after"], "promotion": decision["reason"],
                                   "skill_gate": gate["passes"], "ic_ci": [gate["ci_low"], gate["ci_high"]],
                                   "dsr": gate["dsr"],
                                   "cpcv_mean_ic": result.manifest["validation"]["cpcv"]["mean_ic"]}
        if champion is None:
            warnings.append("no champion model: no predictions were written")
            return StageOutcome(summary=summary, warnings=tuple(warnings))
        veto_confidence, veto_source = veto_confidence_in_force(ctx.artifacts)
        ctx.logger.info("veto_confidence %s from %s", veto_confidence, veto_source)
        document = predict_cross_section(champion, dataset, as_of=as_of, run_date=ctx.run_date,
                                         stale_days=stale, caveats=caveats, veto_confidence=veto_confidence)
        document["veto"] = {"confidence": veto_confidence, "source": veto_source}
        ctx.artifacts.write_json(ctx.key(PREDICTIONS), document)
        ctx.artifacts.write_json(ctx.key(LATEST_PREDICTIONS), document)
        summary.update(champion=champion.version_id, model_status=document["model_status"],
                       predictions=document["n_predictions"])
        if champion.provisional:
            warnings.append(f"the champion {champion.version_id} is provisional: no model has passed the skill gate "
                            f"(robust IC interval above 0 or DSR >= 0.95)")
        return StageOutcome(summary=summary, warnings=tuple(warnings))


class DriftDetection(Stage[NoOptions]):
    name = "DriftDetection"
    slug = "drift-detection"
    failure_class = FailureClass.SOFT
    compute = Compute.BATCH
    timeout_seconds = 1200
    description = "Feature drift (KS, z-score) vs the champion's training reference; prediction-pattern drift"
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST, CHAMPION_POINTER, optional(PREDICTIONS))
    produces = (DRIFT_REPORT,)

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        if not ctx.is_pending(CHAMPION_POINTER) and _registry(ctx).champion() is None:
            raise PreflightError("no champion model yet: PredictorTraining registers and promotes one")
        if not ctx.is_pending(WEEKLY_MANIFEST) and not ctx.resource(MARKET).libraries_present():
            raise PreflightError("the market store has no universe yet: DataPhase1 builds it")

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from ._drift import detect_drift, load_champion_reference
        from ._rows import latest_model_inputs

        champion = load_champion_reference(_registry(ctx))
        if champion is None:
            raise PreflightError("no champion model")
        as_of = TradingCalendar().as_of_session(ctx.run_date)
        today = latest_model_inputs(ctx.resource(MARKET), as_of, _data_context(ctx)[0],
                                    horizon=champion.horizon, label_clip=champion.label_clip)
        today = today[[c for c in champion.drift_reference if c in today.columns]].astype(float)
        key = ctx.key(PREDICTIONS)
        predictions = ctx.artifacts.read_json(key) if ctx.artifacts.exists(key) else None
        # Earlier reports only: a rerun for the same date must not compare against its own last output.
        earlier = [k for k in ctx.artifacts.list(DRIFT_REPORT.prefix) if k < ctx.key(DRIFT_REPORT)]
        history = [ctx.artifacts.read_json(k) for k in earlier[-2:]]
        report = detect_drift(today, champion.drift_reference, predictions=predictions, history=history)
        report = {**report, "date": ctx.run_date.isoformat(), "model_version": champion.version_id}
        ctx.artifacts.write_json(ctx.key(DRIFT_REPORT), report)
        warnings = tuple(a["message"] for a in report["alerts"] if a["severity"] in ("WARN", "CRITICAL"))
        return StageOutcome(summary={"status": report["status"], "severity": report["severity"],
                                     "n_alerts": report["n_alerts"]}, warnings=warnings)
