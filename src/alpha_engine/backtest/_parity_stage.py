"""Parity: the week's decisions replayed through the scalar executor reference and compared with
what the vectorized kernel decided on the same sessions (upstream Saturday row 18, slug ``parity``;
backtester.md §1.2).

Soft and batch-class, after the backtest family and before the Evaluator, with its own flag
``skip_parity``; the family's ``skip_backtester`` skips it too (``skipped_with``, as upstream). An observability stage: a mismatch is a warning naming the
first differences, never a failed run, and a crash is recorded by the runner as a soft failure.

Both paths simulate the Backtester's inputs (``[stages.backtester]``: the same window, index,
sectors and signals) under the executor config the Backtester used (its ``portfolio_stats.json``,
else the one in force: ``config/executor_params.json``, else ``[stages.backtester] current``), from the window's first session, because the book is path
dependent; only the orders decided on the compared sessions and the holdings at their closes are
compared. A paper executor's trade log, when present at ``[stages.parity] trade_log``, is compared
with the reference the same way; until that executor exists the comparison is recorded as skipped.

Writes ``backtest/{date}/parity_report.json`` and replaces this run_date's entry in
``backtest/parity/history.json``. Its preflight loads the same data and writes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
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

from ._backtester_artifacts import PORTFOLIO_STATS
from ._backtester_options import BacktesterOptions
from ._backtester_stage import backtester_options
from ._parity_artifacts import PARITY_HISTORY, PARITY_REPORT
from ._parity_options import ParityOptions

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ._backtester_data import BacktesterData
    from ._config import ExecutorConfig

__all__ = ["Parity", "parity_sessions"]


def parity_sessions(dates: npt.NDArray[np.datetime64], run_date: date, last: int = 0) -> list[int]:
    """Indices of the compared sessions among ``dates`` (sessions, oldest first): the last ``last``
    up to ``run_date``, or with ``last = 0`` those after the Saturday before ``run_date`` (the
    run's week)."""
    import numpy as np

    upto = np.datetime64(run_date, "D")
    within = [i for i, d in enumerate(dates.astype("datetime64[D]")) if d <= upto]
    if last:
        return within[-last:]
    saturday = run_date - timedelta(days=(run_date.weekday() - 5) % 7 or 7)
    after = np.datetime64(saturday, "D")
    return [i for i in within if dates[i].astype("datetime64[D]") > after]


def _config(ctx: StageContext[ParityOptions], options: BacktesterOptions) -> tuple[ExecutorConfig, str]:
    """The executor config the Backtester used (its portfolio_stats), else the one in force
    (``config/executor_params.json``, else ``[stages.backtester] current``)."""
    from ._backtester_stage import current_executor_config
    from ._config import ExecutorConfig

    key = ctx.key(PORTFOLIO_STATS)
    if ctx.is_pending(PORTFOLIO_STATS) or not ctx.artifacts.exists(key):
        return current_executor_config(ctx, options)
    try:
        return ExecutorConfig.model_validate(ctx.artifacts.read_json(key).get("config", {})), key
    except ValueError as exc:
        raise PreflightError(f"the executor config from {key} is not valid: {exc}; rerun the Backtester") from exc


def _trade_log_key(ctx: StageContext[ParityOptions]) -> str:
    template = ctx.options.trade_log
    try:
        return template.format(date=ctx.run_date.isoformat())
    except (KeyError, IndexError, ValueError) as exc:
        raise PreflightError(f"[stages.parity] trade_log {template!r} may use only the field {{date}}: {exc}") from exc


class Parity(Stage[ParityOptions]):
    name = "Parity"
    slug = "parity"
    failure_class = FailureClass.SOFT
    compute = Compute.BATCH
    timeout_seconds = 7200  # upstream: the budget is copied from the Backtester's
    description = ("Observability: the week's decisions replayed through the scalar executor reference vs the "
                   "vectorized kernel (capture rate, holdings Jaccard, count RMS, field diff rate), trend appended")
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST, optional(WEEKLY_CONSTITUENTS), optional(SIGNALS), optional(PORTFOLIO_STATS))
    produces = (PARITY_REPORT, PARITY_HISTORY)
    skipped_with = "backtester"  # upstream: skip_backtester skips Parity too; skip_parity skips Parity alone

    def _data(self, ctx: StageContext[ParityOptions], options: BacktesterOptions) -> tuple[BacktesterData, list[int]]:
        from ._backtester_stage import load_window

        data = load_window(ctx, options, dict(ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))))
        sessions = parity_sessions(data.inputs.dates, ctx.run_date, ctx.options.sessions)
        if not sessions:
            which = f"the last {ctx.options.sessions}" if ctx.options.sessions else "the run's week"
            raise PreflightError(f"parity: no session of {which} up to {ctx.run_date} in the window "
                                 f"{data.inputs.dates[0]}..{data.inputs.dates[-1]}; run DataPhase1 for this run_date")
        return data, sessions

    def preflight(self, ctx: StageContext[ParityOptions]) -> None:
        options = backtester_options(ctx, why="whose inputs Parity replays")
        _trade_log_key(ctx)
        _config(ctx, options)
        if ctx.is_pending(WEEKLY_MANIFEST):
            return  # before DataPhase1 has run there is no market data to check yet
        data, sessions = self._data(ctx, options)
        dates = data.inputs.dates
        ctx.logger.info("preflight: %d session(s) to compare (%s to %s) in a window of %d sessions, %s signals",
                        len(sessions), dates[sessions[0]], dates[sessions[-1]], len(dates), data.signal_source)

    def run(self, ctx: StageContext[ParityOptions]) -> StageOutcome:
        from alpha_engine.store import TradingCalendar

        from . import _scalar, _vector
        from ._features import market_features
        from ._replay import compare_decisions, decisions_from_result, decisions_from_trade_log

        options = backtester_options(ctx, why="whose inputs Parity replays")
        config, config_source = _config(ctx, options)
        data, sessions = self._data(ctx, options)
        inputs = data.inputs
        session_dates = [str(d) for d in inputs.dates[sessions].astype("datetime64[D]")]
        features = market_features(inputs, config)
        reference = decisions_from_result(_scalar.simulate_scalar(inputs, config, features), sessions, "scalar")
        (kernel,) = _vector.simulate_vectorized(inputs, [config], features)
        limit, rtol = ctx.options.max_differences, ctx.options.price_rtol
        vectorized = compare_decisions(reference, decisions_from_result(kernel, sessions, "vectorized"), session_dates,
                                       price_rtol=rtol, limit=limit)
        log_key = _trade_log_key(ctx)
        if ctx.artifacts.exists(log_key):
            trade_log = compare_decisions(reference, decisions_from_trade_log(ctx.artifacts.read_json(log_key),
                                                                              session_dates),
                                          session_dates, price_rtol=rtol, limit=limit)
        else:
            trade_log = {"status": "skipped", "reason": f"no executor trade log at {log_key}"}
        trade_log["key"] = log_key
        status = "agree" if vectorized["status"] == "agree" and trade_log["status"] != "differ" else "differ"
        report = {
            "run_date": ctx.run_date.isoformat(),
            "as_of_session": TradingCalendar().as_of_session(ctx.run_date).isoformat(),
            "status": status, "signal_source": data.signal_source, "config_source": config_source,
            "config": config.model_dump(mode="json"),
            "sessions": {"selection": f"last {ctx.options.sessions}" if ctx.options.sessions else "week",
                         "dates": session_dates},
            "window": {"start": str(inputs.dates[0].astype("datetime64[D]")),
                       "end": str(inputs.dates[-1].astype("datetime64[D]")), "n_days": len(inputs.dates)},
            "comparisons": {"vectorized": vectorized, "trade_log": trade_log},
            "caveats": list(data.notes),
        }
        history = self._history(ctx)  # read first: an unreadable trend fails before anything is written
        ctx.artifacts.write_json(ctx.key(PARITY_REPORT), report)
        entry = {"run_date": report["run_date"], "status": status, "sessions": len(session_dates),
                 "first_session": session_dates[0], "last_session": session_dates[-1],
                 **{k: vectorized[k] for k in ("capture_rate", "holdings_jaccard", "count_rms", "field_diff_rate",
                                               "n_reference_orders", "n_other_orders")},
                 "trade_log": trade_log["status"]}
        history["entries"] = sorted([e for e in history["entries"] if e["run_date"] != entry["run_date"]] + [entry],
                                    key=lambda e: str(e["run_date"]))
        ctx.artifacts.write_json(ctx.key(PARITY_HISTORY), history)
        warnings = list(data.notes)
        for name, comparison in (("vectorized kernel", vectorized), ("executor trade log", trade_log)):
            if comparison["status"] == "differ":
                warnings.append(
                    f"parity: the {name} differs from the scalar executor replay on {session_dates[0]}..."
                    f"{session_dates[-1]} (capture {comparison['capture_rate']}, holdings Jaccard "
                    f"{comparison['holdings_jaccard']}, {comparison['n_differences']} difference(s); first: "
                    f"{'; '.join(comparison['differences'][:3])}); see {ctx.key(PARITY_REPORT)}")
        ctx.logger.info("parity over %d session(s): %s (capture %s, Jaccard %s, count RMS %.3f); trade log %s",
                        len(session_dates), status, vectorized["capture_rate"], vectorized["holdings_jaccard"],
                        vectorized["count_rms"], trade_log["status"])
        summary = {"status": status, "sessions": len(session_dates), "trade_log": trade_log["status"],
                   **{k: vectorized[k] for k in ("capture_rate", "holdings_jaccard", "count_rms", "field_diff_rate",
                                                 "n_reference_orders", "n_differences")}}
        return StageOutcome(summary=summary, warnings=tuple(warnings))

    def _history(self, ctx: StageContext[ParityOptions]) -> dict[str, Any]:
        key = ctx.key(PARITY_HISTORY)
        if not ctx.artifacts.exists(key):
            return {"description": PARITY_HISTORY.description, "entries": []}
        document = dict(ctx.artifacts.read_json(key))
        if not isinstance(document.get("entries"), list):
            raise ValueError(f"{key} has no 'entries' list; repair or remove it (the next run starts a new trend)")
        return document
