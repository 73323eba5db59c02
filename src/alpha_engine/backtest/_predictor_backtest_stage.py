"""PredictorBacktest: the champion's config over history, refitted walk-forward so every prediction
is causal, as daily synthetic signals through the current executor config; the GBM veto-threshold
sweep and its recommendation; the point-in-time parity of stored predictions (upstream Saturday
row 16, slug ``predictor-backtest``; backtester.md §1.1 Pipeline B).

Hard and batch-class, between Backtester and PortfolioOptimizerBacktest; ``skip_backtester`` skips
it with the rest of the family. It reaches the predictor only through the resource
:data:`PREDICTOR_HISTORY` (the composition root implements it with the predictor's public API).
Its preflight checks the executor config, that a champion exists (else it names the stage to run
first) and loads the closes of the window, writing nothing. This module stays light.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from alpha_engine.data import WEEKLY_CONSTITUENTS, WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)
from alpha_engine.predictor import CHAMPION_POINTER, PREDICTIONS

from ._predictor_backtest_artifacts import PREDICTOR_REC, PREDICTOR_REFITS, PREDICTOR_STATS, PREDICTOR_SWEEP
from ._predictor_backtest_options import PredictorBacktestOptions
from ._predictor_history import PREDICTOR_HISTORY

if TYPE_CHECKING:
    from ._backtester_data import BacktesterData
    from ._config import ExecutorConfig

__all__ = ["PredictorBacktest"]

NO_CHAMPION = ("no champion model in the registry (predictor/registry/champion.json): PredictorBacktest refits the "
               "champion's config; run `alpha-engine stage run predictor-training` for this run_date first")


def _current(ctx: StageContext[PredictorBacktestOptions]) -> tuple[ExecutorConfig, str]:
    """The executor config in force and its source, read as the Backtester reads it
    (``config/executor_params.json``, else ``[stages.backtester] current``, else the defaults)."""
    from ._backtester_stage import backtester_options, current_executor_config

    options = backtester_options(ctx, why="whose executor config PredictorBacktest simulates")
    return current_executor_config(ctx, options)


# Closes loaded before the window so the technical score (200-session mean, 210 bars) exists on its first day.
WARM_UP_YEARS = 1.0


def _closes(ctx: StageContext[PredictorBacktestOptions], manifest: dict[str, Any]) -> BacktesterData:
    from ._backtester_options import BacktesterOptions
    from ._backtester_stage import load_window

    # The Backtester's loader with synthetic weekly signals, which are replaced by the predictor's daily ones.
    options = BacktesterOptions.model_validate({"years": ctx.options.years + WARM_UP_YEARS,
                                                "signal_source": "synthetic"})
    return load_window(ctx, options, manifest)


def _window_start(ctx: StageContext[PredictorBacktestOptions]) -> date:
    """The first calendar day of the simulated window (the last ``years`` up to the as-of session)."""
    from datetime import timedelta

    from alpha_engine.store import TradingCalendar

    as_of = TradingCalendar().as_of_session(ctx.run_date)
    return as_of - timedelta(days=int(round(ctx.options.years * 365.25)))


class PredictorBacktest(Stage[PredictorBacktestOptions]):
    name = "PredictorBacktest"
    slug = "predictor-backtest"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 7200  # upstream: the family's budget
    description = ("Causal (walk-forward refitted) champion predictions over history as daily synthetic signals "
                   "through the current executor config; GBM veto-threshold sweep with paired bootstrap intervals; "
                   "point-in-time parity of stored predictions")
    requires = (MARKET, PREDICTOR_HISTORY)
    # the champion is optional to the runner so that its absence gets this stage's own message (NO_CHAMPION)
    consumes = (WEEKLY_MANIFEST, optional(WEEKLY_CONSTITUENTS), optional(CHAMPION_POINTER), optional(PREDICTIONS))
    produces = (PREDICTOR_STATS, PREDICTOR_SWEEP, PREDICTOR_REC, PREDICTOR_REFITS)
    skip_family = "backtester"

    def preflight(self, ctx: StageContext[PredictorBacktestOptions]) -> None:
        _current(ctx)
        if not ctx.is_pending(CHAMPION_POINTER) and ctx.resource(PREDICTOR_HISTORY).champion(ctx.artifacts) is None:
            raise PreflightError(NO_CHAMPION)
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is no market data to check yet
        inputs = _closes(ctx, dict(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST)))).inputs
        ctx.logger.info("preflight: %d tickers x %d sessions (%s to %s), refit every %d sessions", len(inputs.tickers),
                        len(inputs.dates), inputs.dates[0], inputs.dates[-1], ctx.options.refit_days)

    def run(self, ctx: StageContext[PredictorBacktestOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from ._predictor_backtest import pit_parity, run_predictor_backtest
        from ._predictor_history import check_causal_refits, stored_prediction_dates
        from ._synthetic_signals import SYNTHETIC_SIGNAL_NOTE

        current, config_source = _current(ctx)
        history = ctx.resource(PREDICTOR_HISTORY)
        current_veto, veto_source = history.veto_confidence(ctx.artifacts)
        ctx.logger.info("executor config from %s; veto_confidence %s from %s", config_source, current_veto,
                        veto_source)
        if history.champion(ctx.artifacts) is None:
            raise PreflightError(NO_CHAMPION)
        manifest = dict(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST)))
        market_symbol = str(manifest.get("market_symbol", ""))
        data = _closes(ctx, manifest)
        base = data.inputs
        as_of = TradingCalendar().as_of_session(ctx.run_date)
        market = ctx.resource(MARKET)
        window_start = max(_window_start(ctx), date.fromisoformat(str(base.dates[0])))
        predictions = history.causal_predictions(
            market, ctx.artifacts, as_of=as_of, window_start=window_start, market_symbol=market_symbol,
            refit_days=ctx.options.refit_days, cache=ctx.options.cache_refits, log=ctx.logger)
        check_causal_refits(predictions)
        refit_seconds = [r.seconds for r in predictions.refits if not r.cached]
        ctx.logger.info("causal predictions: %d refit(s) (%d from the cache), %d predicted session(s), %d before the "
                        "first refit", len(predictions.refits), len(predictions.refits) - len(refit_seconds),
                        len(predictions.dates), predictions.unpredicted)

        degraded: list[str] = []
        parity: dict[str, Any] = {"checked": False}
        if ctx.options.pit_parity:
            stored = []
            for when, key in stored_prediction_dates([k for k in ctx.artifacts.list(PREDICTIONS.prefix)
                                                      if PREDICTIONS.matches(k)]):
                if when <= ctx.run_date:
                    stored.append((when, dict(ctx.artifacts.read_json(key))))
            replayed = {when: history.replay(market, ctx.artifacts, prediction_date=when,
                                             model_version=str(document.get("model_version", "")),
                                             market_symbol=market_symbol) for when, document in stored}
            parity = pit_parity(stored, replayed)
            if parity["mismatches"]:
                bad = [r["date"] for r in parity["rows"] if r["status"] == "mismatch"]
                degraded.append(f"pit_parity: {parity['mismatches']} stored predictions document(s) differ from a "
                                f"replay with the model version that made them ({', '.join(bad[:5])}): the features "
                                "or the model changed since; see predictor_stats.json pit_parity")
        notes = [n for n in data.notes if not n.startswith(SYNTHETIC_SIGNAL_NOTE)]
        context = {"run_date": ctx.run_date.isoformat(), "as_of_session": as_of.isoformat(), "seed": ctx.seed,
                   "config_source": config_source, "veto_source": veto_source,
                   "caveats": [str(c) for c in manifest.get("caveats", [])] + notes, "pit_parity": parity,
                   "degraded": degraded}
        result = run_predictor_backtest(base, predictions, ctx.options, current=current, current_veto=current_veto,
                                        seed=ctx.seed,
                                        context=context, log=ctx.logger)
        ctx.artifacts.write_json(ctx.key(PREDICTOR_SWEEP), result.sweep)
        ctx.artifacts.write_json(ctx.key(PREDICTOR_REC), result.recommendation)
        ctx.artifacts.write_json(ctx.key(PREDICTOR_STATS), result.stats)
        summary = {**result.summary, "status": result.stats["status"],
                   "refit_seconds": round(sum(refit_seconds), 1)}
        return StageOutcome(summary=summary, warnings=tuple(notes + degraded))
