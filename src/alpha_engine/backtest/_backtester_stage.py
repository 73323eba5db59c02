"""Backtester: the current executor config over up to 10 years, a seeded parameter search with a
chronological holdout, a twin simulation and a guarded recommendation (upstream Saturday row 15,
slug ``backtester``; backtester.md §1.1 Pipeline A, §2.3).

Hard and batch-class, first of the backtest family; ``skip_backtester`` skips the family. Its
preflight opens the market store read-only, loads the closes of the window and reads every stored
signals document it would use, so a shell run proves the data and writes nothing. This module
stays light: numpy, pandas and numba are imported inside the methods.
"""

from __future__ import annotations

from datetime import timedelta
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
from alpha_engine.research import SIGNALS

from ._backtester_artifacts import EXECUTOR_PARAMS, EXECUTOR_REC, PARAM_SWEEP, PORTFOLIO_STATS
from ._backtester_options import BacktesterOptions

if TYPE_CHECKING:
    from ._backtester_data import BacktesterData
    from ._config import ExecutorConfig

__all__ = ["Backtester"]


def _load(ctx: StageContext[BacktesterOptions], manifest: dict[str, Any]) -> BacktesterData:
    return load_window(ctx, ctx.options, manifest)


def load_window(ctx: StageContext[Any], options: BacktesterOptions, manifest: dict[str, Any]) -> BacktesterData:
    """The Backtester's inputs for this run under ``options`` (the Parity stage loads the same)."""
    from alpha_engine.store import TradingCalendar

    from ._backtester_data import load_backtester_data, stored_signal_keys
    from ._errors import BacktestInputError

    as_of = TradingCalendar().as_of_session(ctx.run_date)
    sector_map: dict[str, str] = {}
    if ctx.artifacts.exists(ctx.key(WEEKLY_CONSTITUENTS)):
        sector_map = dict(ctx.artifacts.read_json(ctx.key(WEEKLY_CONSTITUENTS)).get("sector_map", {}))
    start = as_of - timedelta(days=int(round(options.years * 365.25)))  # the window's first calendar day
    keys = stored_signal_keys(ctx.artifacts.list, SIGNALS.prefix, SIGNALS.matches, start, ctx.run_date)
    try:
        return load_backtester_data(ctx.resource(MARKET), as_of=as_of, options=options,
                                    market_symbol=str(manifest.get("market_symbol", "")), sector_map=sector_map,
                                    signal_keys=keys, read_json=ctx.artifacts.read_json)
    except BacktestInputError as exc:
        raise PreflightError(str(exc)) from exc


def backtester_options(ctx: StageContext[Any], *, why: str) -> BacktesterOptions:
    """``[stages.backtester]`` for another stage of the family that reuses it (``why``: what that
    stage takes from it, for the error)."""
    try:
        return BacktesterOptions.model_validate(ctx.settings.stage_options("backtester"))
    except ValueError as exc:
        raise PreflightError(f"[stages.backtester] ({why}) is invalid: {exc}") from exc


def current_executor_config(ctx: StageContext[Any], options: BacktesterOptions) -> tuple[ExecutorConfig, str]:
    """The executor config in force and where it came from: ``config/executor_params.json`` (what the
    Evaluator's guarded auto-apply or a rollback last wrote) when it exists, else ``[stages.backtester]
    current`` over the factory defaults. The Backtester and Parity read it the same way."""
    from ._config import ExecutorConfig

    key = EXECUTOR_PARAMS.key
    if ctx.artifacts.exists(key):
        document = ctx.artifacts.read_json(key)
        raw, source = document["values"], f"{key} ({document['origin']}"
        source += f" {document['run_date']})" if document.get("run_date") else ")"
        remedy = f"roll it back (alpha-engine config rollback --key executor_params) or delete {key}"
    else:
        raw = options.current
        source = "[stages.backtester] current" if options.current else "factory defaults"
        remedy = "fix [stages.backtester] current"
    try:
        return ExecutorConfig.model_validate(raw), source
    except ValueError as exc:
        raise PreflightError(f"the executor config from {source} is not a valid executor config: {exc}; {remedy}") from exc


class Backtester(Stage[BacktesterOptions]):
    name = "Backtester"
    slug = "backtester"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 7200  # upstream: exec 7200 s, the family's budget
    description = ("Current executor config over up to 10 years, seeded parameter search with a chronological holdout "
                   "(Sharpe - 0.5|MDD|), twin simulation, recommendation gated on a paired bootstrap interval")
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST, optional(WEEKLY_CONSTITUENTS), optional(SIGNALS))
    produces = (PORTFOLIO_STATS, PARAM_SWEEP, EXECUTOR_REC)
    skip_family = "backtester"

    def preflight(self, ctx: StageContext[BacktesterOptions]) -> None:
        _, config_source = current_executor_config(ctx, ctx.options)
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is no market data to check yet
        data = _load(ctx, dict(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))))
        inputs = data.inputs
        ctx.logger.info("preflight: %d tickers x %d sessions (%s to %s), %s signals (%d stored document(s) read), "
                        "current config %s", len(inputs.tickers), len(inputs.dates), inputs.dates[0], inputs.dates[-1],
                        data.signal_source, len(data.signal_keys), config_source)

    def run(self, ctx: StageContext[BacktesterOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from ._backtester import run_backtester

        current, config_source = current_executor_config(ctx, ctx.options)
        ctx.logger.info("current executor config from %s", config_source)
        manifest = dict(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST)))
        data = _load(ctx, manifest)
        caveats = [str(c) for c in manifest.get("caveats", [])] + list(data.notes)
        context = {"run_date": ctx.run_date.isoformat(),
                   "as_of_session": TradingCalendar().as_of_session(ctx.run_date).isoformat(), "seed": ctx.seed,
                   "signal_source": data.signal_source, "caveats": caveats, "config_source": config_source,
                   "signal_source_status": "ok" if data.signal_source == "stored" else "degraded"}
        result = run_backtester(data.inputs, ctx.options, current=current, seed=ctx.seed, context=context,
                                log=ctx.logger)
        ctx.artifacts.write_json(ctx.key(PARAM_SWEEP), result.sweep)
        ctx.artifacts.write_json(ctx.key(EXECUTOR_REC), result.executor_rec)
        ctx.artifacts.write_json(ctx.key(PORTFOLIO_STATS), result.portfolio_stats)
        warnings = list(data.notes)
        if result.summary["parity"] == "disagree":
            warnings.append("parity: the scalar reference and the vectorized kernel disagree on the current config "
                            f"(see {ctx.key(PORTFOLIO_STATS)} parity)")
        return StageOutcome(summary=result.summary, warnings=tuple(warnings))
