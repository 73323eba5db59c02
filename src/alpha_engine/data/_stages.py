"""The data stages of the Saturday pipeline: MorningEnrich, DataPhase1, Scanner.

Each has a real preflight: the provider's data or credentials and endpoint (``probe``), the
market store (writable through a self-cleaning sentinel on a real run; on a preflight-only run
the store is read-only, so its directory must be writable and nothing is touched), and the
artifact store readable.
"""

from __future__ import annotations

import os
from typing import Any

from alpha_engine.pipeline import Compute, FailureClass, PreflightError, Stage, StageContext, StageOutcome

from ._calendar import TradingCalendar
from ._errors import DataError
from ._ingest import as_of_session, enrich_prior_session, ingest_market_data, latest_cross_section
from ._scanner import SCANNER_COLUMNS, ScannerConfig, scan_candidates
from .providers import open_macro_provider, open_provider

__all__ = ["DataPhase1", "MorningEnrich", "Scanner"]

MANIFEST = "market_data/weekly/{date}/manifest.json"
VALIDATION = "market_data/weekly/{date}/validation.json"
CONSTITUENTS = "market_data/weekly/{date}/constituents.json"
LATEST_POINTER = "market_data/latest_weekly.json"
CANDIDATES = "candidates/{date}/candidates.json"


def _providers(ctx: StageContext) -> tuple[Any, Any]:
    data = ctx.settings.data
    try:
        provider = open_provider(data.provider, data.provider_options)
        macro = open_macro_provider(data.macro_provider, data.macro_provider_options) if data.macro_provider else None
    except DataError as exc:
        raise PreflightError(f"data provider: {exc}") from exc
    return provider, macro


def _check_market_store(ctx: StageContext, *, need_universe: bool) -> None:
    store = ctx.market
    try:
        present = store.libraries_present()
        if need_universe and (not present or not store.tickers()):
            raise PreflightError(
                f"the market store {ctx.settings.data.market_store_uri} has no universe yet: DataPhase1 builds it"
            )
        path = store.local_path
        if path is None:
            if present and not ctx.preflight_only:
                store.check_writable()  # remote store: a self-cleaning sentinel symbol, under the lock
            return
        # A local LMDB store: every file must be writable, and the single-writer lock free. A
        # sentinel write would change LMDB's pages, and a rerun must leave the store byte-identical.
        existing = next(p for p in (path, *path.parents) if p.exists())
        blocked = [f for f in (existing, *existing.rglob("*")) if not os.access(f, os.W_OK)]
        if blocked:
            raise PreflightError(f"the market store is not writable: {', '.join(map(str, blocked[:5]))}")
        if present and not ctx.preflight_only:
            with store.writer():
                pass
    except DataError as exc:
        raise PreflightError(str(exc)) from exc


def _preflight_common(ctx: StageContext, *, need_universe: bool) -> tuple[Any, Any]:
    provider, macro = _providers(ctx)
    try:
        provider.probe()
        if macro is not None:
            macro.probe()
        TradingCalendar().previous_session(ctx.run_date)
    except DataError as exc:
        raise PreflightError(str(exc)) from exc
    _check_market_store(ctx, need_universe=need_universe)
    ctx.artifacts.list("market_data/")
    return provider, macro


class MorningEnrich(Stage):
    name = "MorningEnrich"
    slug = "morning-enrich"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = "Refetch the sessions up to the prior trading day and re-append them with their features"
    inputs = ()
    outputs = ()

    def preflight(self, ctx: StageContext) -> None:
        _preflight_common(ctx, need_universe=False)

    def run(self, ctx: StageContext) -> StageOutcome:
        provider, macro = _providers(ctx)
        data = ctx.settings.data
        report = enrich_prior_session(provider=provider, store=ctx.market, calendar=TradingCalendar(),
                                      run_date=ctx.run_date, upgrade_to_block=data.upgrade_to_block,
                                      macro_provider=macro, log=ctx.logger)
        warnings = tuple(a.message for a in report.anomalies)
        return StageOutcome(summary=report.summary, warnings=warnings)


class DataPhase1(Stage):
    name = "DataPhase1"
    slug = "data-phase1"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = "Universe, prices, macro and features into the market store; weekly manifest; postflight"
    outputs = (MANIFEST, VALIDATION, CONSTITUENTS, LATEST_POINTER)

    def preflight(self, ctx: StageContext) -> None:
        _preflight_common(ctx, need_universe=False)

    def run(self, ctx: StageContext) -> StageOutcome:
        provider, macro = _providers(ctx)
        data = ctx.settings.data
        report = ingest_market_data(
            provider=provider, store=ctx.market, calendar=TradingCalendar(), run_date=ctx.run_date,
            history_years=data.history_years, min_coverage=data.min_coverage,
            max_stale=data.max_stale_trading_days, postflight_sample=data.postflight_sample,
            upgrade_to_block=data.upgrade_to_block, macro_provider=macro, log=ctx.logger,
        )
        ctx.artifacts.write_json(ctx.key(CONSTITUENTS), report.constituents)
        ctx.artifacts.write_json(ctx.key(VALIDATION), report.validation)
        ctx.artifacts.write_json(ctx.key(MANIFEST), report.manifest)
        ctx.artifacts.write_json(LATEST_POINTER, {"date": ctx.run_date.isoformat(),
                                                  "prefix": f"market_data/weekly/{ctx.run_date.isoformat()}/"})
        manifest = report.manifest
        summary = {"tickers": manifest["universe"]["written"], "rows": manifest["rows"],
                   "as_of_session": manifest["as_of_session"], "writes": report.modes,
                   "blocked_rows": manifest["quality"]["blocked_rows"], "provider": manifest["provider"]}
        warnings = tuple(manifest["caveats"])
        return StageOutcome(summary=summary, warnings=warnings)


class Scanner(Stage):
    name = "Scanner"
    slug = "scanner"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 600
    description = "Quant filter (liquidity when volume exists, momentum, trend) -> candidates.json"
    inputs = (MANIFEST,)
    outputs = (CANDIDATES,)

    def preflight(self, ctx: StageContext) -> None:
        try:
            ScannerConfig.from_options(ctx.options)
        except (TypeError, ValueError) as exc:
            raise PreflightError(f"scanner options: {exc}") from exc
        _check_market_store(ctx, need_universe=True)

    def run(self, ctx: StageContext) -> StageOutcome:
        config = ScannerConfig.from_options(ctx.options)
        as_of = as_of_session(TradingCalendar(), ctx.run_date)
        table = latest_cross_section(ctx.market, as_of, SCANNER_COLUMNS)
        result = scan_candidates(table, config)
        manifest_key = ctx.key(MANIFEST)
        caveats = ctx.artifacts.read_json(manifest_key)["caveats"] if ctx.artifacts.exists(manifest_key) else []
        ctx.artifacts.write_json(ctx.key(CANDIDATES), {"run_date": ctx.run_date.isoformat(),
                                                       "as_of_session": as_of.isoformat(),
                                                       "caveats": caveats, **result})
        return StageOutcome(summary=result["counts"])


