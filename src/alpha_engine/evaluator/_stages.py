"""The Evaluator stage (hard, batch, 60 min): grades the stored history, keeps the grade history
and writes the week's report.

It reads only stored artifacts, so ``alpha-engine stage run evaluator`` works alone: the signals and
predictions of the evaluation window, the serving model's registry manifest, the market store's
closes (realised outcomes, the index) and, when the Backtester stored it, its
``backtest/{date}/portfolio_stats.json`` (an optional consumption of its PORTFOLIO_STATS).
Its config auto-apply (``_autoapply``) reads the Backtester's ``executor_rec.json`` and
PredictorBacktest's ``predictor_rec.json`` and is the only writer of the applied config
(``updates``: written only when a guarded decision calls for it).
This module stays light: pandas and matplotlib are imported inside ``run``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from alpha_engine.backtest import (
    EXECUTOR_PARAMS,
    EXECUTOR_PARAMS_HISTORY,
    EXECUTOR_PARAMS_PREVIOUS,
    EXECUTOR_REC,
    PORTFOLIO_STATS,
    PREDICTOR_REC,
)
from alpha_engine.data import WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    NOTIFICATIONS,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)
from alpha_engine.predictor import (
    CHAMPION_POINTER,
    PREDICTIONS,
    PREDICTOR_PARAMS,
    PREDICTOR_PARAMS_HISTORY,
    PREDICTOR_PARAMS_PREVIOUS,
    REGISTRY_MANIFEST,
)
from alpha_engine.research import SIGNALS

from ._artifacts import (
    CONFIG_CHANGES,
    EVALUATION,
    EVALUATION_REPORT,
    GRADE_HISTORY,
    METRICS_HISTORY,
    PROMOTION_BASELINE,
)
from ._errors import EvaluatorError
from ._options import AutoApplyOptions, EvaluatorOptions

if TYPE_CHECKING:
    import pandas as pd

    from ._completeness import ModuleResult
    from ._inputs import EvaluationInputs

__all__ = ["Evaluator"]

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _manifest(ctx: StageContext[EvaluatorOptions]) -> dict[str, Any] | None:
    """This run's data manifest, else the latest one dated on or before the run date."""
    key = ctx.key(WEEKLY_MANIFEST)
    if ctx.artifacts.exists(key):
        return dict(ctx.artifacts.read_json(key))
    day = ctx.run_date.isoformat()
    earlier = [k for k in ctx.artifacts.list(WEEKLY_MANIFEST.prefix)
               if WEEKLY_MANIFEST.matches(k) and (m := _DATE.search(k)) and m.group(1) <= day]
    return dict(ctx.artifacts.read_json(earlier[-1])) if earlier else None


def _training_evidence(ctx: StageContext[EvaluatorOptions]) -> dict[str, Any] | None:
    """The serving model's registry manifest, if it was registered on or before the run date."""
    if not ctx.artifacts.exists(CHAMPION_POINTER.key):
        return None
    version = ctx.artifacts.read_json(CHAMPION_POINTER.key).get("version_id")
    key = REGISTRY_MANIFEST.format(version=str(version)) if version else None
    if key is None or not ctx.artifacts.exists(key):
        return None
    manifest = dict(ctx.artifacts.read_json(key))
    registered = str(manifest.get("run_date", ""))[:10]
    return manifest if registered and registered <= ctx.run_date.isoformat() else None


def _closes(ctx: StageContext[EvaluatorOptions], tickers: list[str], symbol: str, start: date,
            as_of: date) -> tuple[pd.DataFrame, pd.Series]:
    import pandas as pd

    market = ctx.resource(MARKET)
    index_frames = market.read_macro([symbol], start=start, end=as_of)
    index = index_frames[symbol]["Close"].astype(float)
    index.index = pd.DatetimeIndex(index.index).normalize()
    stored = set(market.tickers())
    known = sorted(t for t in tickers if t in stored)
    frames = market.read_many(known, start=start, end=as_of, columns=["Close"]) if known else {}
    closes = pd.DataFrame({t: f["Close"].astype(float).set_axis(pd.DatetimeIndex(f.index).normalize())
                           for t, f in frames.items()}, index=index.index, columns=known)
    return closes, index


def _spacing(signal_dates: list[str], sessions: pd.DatetimeIndex) -> int:
    import numpy as np

    if len(signal_dates) < 2:
        return 5
    positions = np.searchsorted(sessions.to_numpy(), np.array(signal_dates, dtype="datetime64[ns]"), side="right")
    return max(1, int(np.median(np.diff(positions))))


class Evaluator(Stage[EvaluatorOptions]):
    name = "Evaluator"
    slug = "evaluator"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 3600
    description = ("Grades stored signals, predictions and backtests against realised outcomes (hit rates with Wilson "
                   "CIs and BH-FDR, IC/ECE, vetoes, exit timing), A-F scorecard + 52-week history, weekly HTML report")
    requires = (MARKET, NOTIFICATIONS)
    consumes = (optional(WEEKLY_MANIFEST), optional(SIGNALS), optional(PREDICTIONS), optional(CHAMPION_POINTER),
                optional(PORTFOLIO_STATS), optional(EXECUTOR_REC), optional(PREDICTOR_REC))
    produces = (EVALUATION, EVALUATION_REPORT, GRADE_HISTORY)
    updates = (EXECUTOR_PARAMS, EXECUTOR_PARAMS_PREVIOUS, EXECUTOR_PARAMS_HISTORY, PREDICTOR_PARAMS,
               PREDICTOR_PARAMS_PREVIOUS, PREDICTOR_PARAMS_HISTORY, CONFIG_CHANGES, PROMOTION_BASELINE, METRICS_HISTORY)

    def preflight(self, ctx: StageContext[EvaluatorOptions]) -> None:
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # a shell run ahead of the first DataPhase1: nothing stored to check yet
        manifest = _manifest(ctx)
        if manifest is None:
            raise PreflightError(f"no data manifest on or before {ctx.run_date} (market_data/weekly/*/manifest.json): "
                                 "run DataPhase1 first; the evaluator needs the market symbol and closes it records")
        market = ctx.resource(MARKET)
        if not market.libraries_present():
            raise PreflightError("the market store has no universe yet: DataPhase1 builds it")
        symbol = str(manifest.get("market_symbol", ""))
        if symbol not in market.macro_symbols():
            raise PreflightError(f"the market index {symbol!r} named by the data manifest is not in the market store's "
                                 "macro library: run DataPhase1 to store it")

    def gather(self, ctx: StageContext[EvaluatorOptions]) -> EvaluationInputs:
        """Everything the modules read, from the stores (read-only)."""
        from alpha_engine.store import TradingCalendar

        from ._history import forward_outcomes, load_history
        from ._inputs import EvaluationInputs

        options = ctx.options
        as_of = TradingCalendar().as_of_session(ctx.run_date)
        start = ctx.run_date - timedelta(weeks=options.lookback_weeks)
        history = load_history(ctx.artifacts.list, ctx.artifacts.read_json, SIGNALS, PREDICTIONS, start, ctx.run_date)
        manifest = _manifest(ctx) or {}
        symbol = str(manifest.get("market_symbol", ""))
        tickers = sorted(set(history.signals["ticker"]) | set(history.predictions["ticker"]))
        closes, index = _closes(ctx, tickers, symbol, start - timedelta(days=10), as_of)
        ctx.logger.info("history: %d signal file(s), %d prediction file(s), %d ticker(s), %d session(s) of closes to %s",
                        len(history.signal_keys), len(history.prediction_keys), len(tickers), len(closes), as_of)
        signal_outcomes = forward_outcomes(history.signals, closes, index, options.horizons, as_of)
        prediction_outcomes = forward_outcomes(history.predictions, closes, index, options.ic_horizons, as_of)
        backtest_key = ctx.key(PORTFOLIO_STATS)
        backtest = dict(ctx.artifacts.read_json(backtest_key)) if ctx.artifacts.exists(backtest_key) else None
        dates = sorted(set(history.signals["signal_date"]) | set(history.predictions["signal_date"]))
        return EvaluationInputs(
            run_date=ctx.run_date, as_of=as_of, options=options, history=history, signal_outcomes=signal_outcomes,
            prediction_outcomes=prediction_outcomes, closes=closes, index=index, market_symbol=symbol,
            spacing=_spacing(dates, closes.index), training_evidence=_training_evidence(ctx), backtest=backtest)

    @staticmethod
    def auto_apply_options(ctx: StageContext[EvaluatorOptions]) -> AutoApplyOptions:
        """``[stages.evaluator.auto_apply]``, frozen also by the settings' ``freeze_config`` (``--freeze``)."""
        options = ctx.options.auto_apply
        return options.model_copy(update={"freeze": True}) if ctx.settings.freeze_config else options

    def auto_apply(self, ctx: StageContext[EvaluatorOptions], inputs: EvaluationInputs) -> ModuleResult:
        """The config auto-apply module (``_autoapply``): its evidence, by key, from the store."""
        from ._autoapply import auto_apply
        from ._config_book import ConfigBook

        def stored(key: str) -> tuple[str, dict[str, Any] | None]:
            return key, (dict(ctx.artifacts.read_json(key)) if ctx.artifacts.exists(key) else None)

        return auto_apply(
            ConfigBook(ctx.artifacts), run_date=ctx.run_date.isoformat(), executor_rec=stored(ctx.key(EXECUTOR_REC)),
            predictor_rec=stored(ctx.key(PREDICTOR_REC)),
            portfolio_stats=(ctx.key(PORTFOLIO_STATS), inputs.backtest), options=self.auto_apply_options(ctx),
            notify=lambda subject, message: ctx.resource(NOTIFICATIONS).publish(subject, message), log=ctx.logger)

    def run(self, ctx: StageContext[EvaluatorOptions]) -> StageOutcome:
        from ._evaluate import evaluate
        from ._report import render_report
        from ._scorecard import update_grade_history

        inputs = self.gather(ctx)
        evaluation = evaluate(inputs, ctx.logger, extra={"auto_apply": lambda: self.auto_apply(ctx, inputs)})
        manifest = _manifest(ctx) or {}
        evaluation["caveats"] = [*evaluation["caveats"], *manifest.get("caveats", [])]
        modules = evaluation["modules"]
        if all(m["status"] == "error" for m in modules.values()):
            raise EvaluatorError("every grading module failed: " + "; ".join(f"{n}: {m['reason']}" for n, m in modules.items()))
        existing = ctx.artifacts.read_json(GRADE_HISTORY.key) if ctx.artifacts.exists(GRADE_HISTORY.key) else None
        history = update_grade_history(existing, ctx.run_date.isoformat(), evaluation["scorecard"])
        report = render_report(evaluation, history["entries"])
        ctx.artifacts.write_json(ctx.key(EVALUATION), evaluation)
        ctx.artifacts.write_text(ctx.key(EVALUATION_REPORT), report)
        ctx.artifacts.write_json(GRADE_HISTORY.key, history)
        ctx.logger.info("verdict: %s", evaluation["verdict"])
        not_ok = {n: f"{m['status']}: {m['reason']}" for n, m in modules.items() if m["status"] != "ok"}
        warnings = [f"evaluator module {n} {why}" for n, why in not_ok.items() if why.startswith("error")]
        auto = modules.get("auto_apply", {}).get("data", {})
        rolled = auto.get("regression", {}).get("rolled_back")
        if rolled:
            warnings.append(f"config rolled back by the regression check: {', '.join(rolled)} "
                            f"({'; '.join(auto['regression']['reasons'])})")
        return StageOutcome(
            summary={"status": evaluation["status"], "verdict": evaluation["verdict"],
                     "overall_grade": evaluation["scorecard"]["overall"]["grade"],
                     "completeness": evaluation["completeness"], "not_ok": not_ok,
                     "report": ctx.key(EVALUATION_REPORT),
                     "auto_apply": {"applied": auto.get("applied", []), "frozen": auto.get("frozen", False),
                                    "regression": auto.get("regression", {}).get("status")}},
            warnings=tuple(warnings))
