"""PortfolioOptimizerBacktest: the optimizer gate, the covariance-estimator sweep and the
risk-aversion sweep, walk-forward on skfolio (upstream Saturday row 17, slug ``portfolio-optimizer``).

Hard and batch-class, after DriftDetection in the backtest family's place; ``skip_backtester``
skips it (the family's one flag, ``skip_family``). Its preflight opens the market store read-only
(the runner does, for a preflight) and loads the closes the run would use, so a shell run proves
the data covers the window and writes nothing.

This module stays light: pandas, scikit-learn and skfolio are imported inside the methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alpha_engine.data import WEEKLY_MANIFEST
from alpha_engine.pipeline import (
    MARKET,
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
)

from ._portfolio_artifacts import COVARIANCE_SWEEP, PORTFOLIO_GATE, RISK_AVERSION_SWEEP
from ._portfolio_options import PortfolioOptimizerOptions

if TYPE_CHECKING:
    from ._portfolio_data import ClosePanel

__all__ = ["PortfolioOptimizerBacktest"]


def _panel(ctx: StageContext[PortfolioOptimizerOptions]) -> ClosePanel:
    from alpha_engine.store import TradingCalendar

    from ._errors import PortfolioDataError
    from ._portfolio_data import load_closes

    options = ctx.options
    as_of = TradingCalendar().as_of_session(ctx.run_date)
    try:
        return load_closes(ctx.resource(MARKET), as_of, history_days=options.history_days,
                           min_assets=options.min_assets, min_rows=options.train_days + options.test_days)
    except PortfolioDataError as exc:
        raise PreflightError(str(exc)) from exc


class PortfolioOptimizerBacktest(Stage[PortfolioOptimizerOptions]):
    name = "PortfolioOptimizerBacktest"
    slug = "portfolio-optimizer"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 7200  # the backtest family's budget (upstream: same as Backtester)
    description = ("skfolio walk-forward: optimizer gate vs equal weight (Sharpe difference, stationary block "
                   "bootstrap), covariance-estimator sweep, risk-aversion sweep (Bonferroni-corrected selection)")
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST,)
    produces = (PORTFOLIO_GATE, COVARIANCE_SWEEP, RISK_AVERSION_SWEEP)
    skip_family = "backtester"

    def preflight(self, ctx: StageContext[PortfolioOptimizerOptions]) -> None:
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is no market data to check yet
        panel = _panel(ctx)
        ctx.logger.info("preflight: %d tickers with complete closes from %s to %s (%d left out)",
                        len(panel.tickers), panel.closes.index[0].date(), panel.closes.index[-1].date(),
                        len(panel.dropped))

    def run(self, ctx: StageContext[PortfolioOptimizerOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from ._portfolio_sweeps import run_portfolio_backtest

        manifest = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))
        caveats = [str(c) for c in manifest["caveats"]]
        panel = _panel(ctx)
        context: dict[str, Any] = {"run_date": ctx.run_date.isoformat(),
                                   "as_of_session": TradingCalendar().as_of_session(ctx.run_date).isoformat(),
                                   "seed": ctx.seed, "caveats": caveats}
        result = run_portfolio_backtest(panel, ctx.options, seed=ctx.seed, context=context, log=ctx.logger)
        ctx.artifacts.write_json(ctx.key(COVARIANCE_SWEEP), result.covariance_sweep)
        ctx.artifacts.write_json(ctx.key(RISK_AVERSION_SWEEP), result.risk_aversion_sweep)
        ctx.artifacts.write_json(ctx.key(PORTFOLIO_GATE), result.gate)
        warnings = list(caveats)
        if panel.dropped:
            warnings.append(f"{len(panel.dropped)} tickers left out of the walk-forward (incomplete closes): "
                            + ", ".join(t for t, _ in panel.dropped[:10]))
        return StageOutcome(summary=result.summary, warnings=tuple(warnings))
