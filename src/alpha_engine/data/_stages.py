"""The data stages of the Saturday pipeline: MorningEnrich, DataPhase1, Scanner, DataPhase2.

Each has a real preflight: the provider's data or credentials and endpoint (``probe``), the
market store (writable through a self-cleaning sentinel on a real run; on a preflight-only run
the store is read-only, so its directory must be writable and nothing is touched), and the
artifact store readable.

This module stays light (see :mod:`alpha_engine.pipeline`): providers, the ingest and the
scanner (pandas, ArcticDB, httpx) are imported inside the methods that use them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from alpha_engine.pipeline import (
    MARKET,
    Compute,
    FailureClass,
    NoOptions,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)
from alpha_engine.research import SIGNALS

from . import _alternative
from ._alternative import TickerSource
from ._artifacts import (
    CANDIDATES,
    INSIDER,
    LATEST_WEEKLY,
    WEEKLY_CONSTITUENTS,
    WEEKLY_MANIFEST,
    WEEKLY_VALIDATION,
)
from ._errors import DataError
from ._scanner import ScannerOptions

if TYPE_CHECKING:
    from alpha_engine.store import TradingCalendar

__all__ = ["DataPhase1", "DataPhase2", "DataPhase2Options", "MorningEnrich", "Scanner"]


def _calendar() -> TradingCalendar:
    from alpha_engine.store import TradingCalendar

    return TradingCalendar()


def _providers(ctx: StageContext[Any]) -> tuple[Any, Any]:
    from .providers import open_macro_provider, open_provider

    data = ctx.settings.data
    try:
        provider = open_provider(data.provider, data.provider_options)
        macro = open_macro_provider(data.macro_provider, data.macro_provider_options) if data.macro_provider else None
    except DataError as exc:
        raise PreflightError(f"data provider: {exc}") from exc
    return provider, macro


def _check_market_store(ctx: StageContext[Any]) -> None:
    """The market store can be written: every local file writable and the writer lock free (checked
    without writing), or, for a remote store, a self-cleaning sentinel write on a real run."""
    from alpha_engine.store import StoreError

    store = ctx.resource(MARKET)
    try:
        present = store.libraries_present()
        path = store.local_path
        if path is None:
            if present and not ctx.preflight_only:
                store.check_writable()  # remote store: a self-cleaning sentinel symbol, under the lock
            return
        # A local LMDB store: every file must be writable, and the single-writer lock free. A
        # sentinel write would change LMDB's pages, and a rerun must leave the store byte-identical.
        # A store not created yet needs only the directory it will be created in: walking that
        # directory's tree (the whole of /tmp, say, or the repository) would judge unrelated files.
        existing = next(p for p in (path, *path.parents) if p.exists())
        checked = (existing, *existing.rglob("*")) if existing == path else (existing,)
        blocked = [f for f in checked if not os.access(f, os.W_OK)]
        if blocked:
            raise PreflightError(f"the market store is not writable: {', '.join(map(str, blocked[:5]))}")
        if present and not ctx.preflight_only:
            with store.writer():
                pass
    except (DataError, StoreError) as exc:
        raise PreflightError(str(exc)) from exc


def _preflight_common(ctx: StageContext[Any]) -> tuple[Any, Any]:
    provider, macro = _providers(ctx)
    try:
        provider.probe()
        if macro is not None:
            macro.probe()
        _calendar().previous_session(ctx.run_date)
    except DataError as exc:
        raise PreflightError(str(exc)) from exc
    _check_market_store(ctx)
    ctx.artifacts.list(WEEKLY_MANIFEST.prefix)  # the artifact store is readable
    return provider, macro


class MorningEnrich(Stage[NoOptions]):
    name = "MorningEnrich"
    slug = "morning-enrich"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = "Refetch the sessions up to the prior trading day and re-append them with their features"
    requires = (MARKET,)

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        _preflight_common(ctx)

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        from ._ingest import enrich_prior_session

        provider, macro = _providers(ctx)
        data = ctx.settings.data
        report = enrich_prior_session(provider=provider, store=ctx.resource(MARKET), calendar=_calendar(),
                                      run_date=ctx.run_date, upgrade_to_block=data.upgrade_to_block,
                                      macro_provider=macro, log=ctx.logger)
        warnings = tuple(a.message for a in report.anomalies)
        return StageOutcome(summary=report.summary, warnings=warnings)


class DataPhase1(Stage[NoOptions]):
    name = "DataPhase1"
    slug = "data-phase1"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 5400
    description = "Universe, prices and macro, every gate, then features into the market store in one published write; weekly manifest"
    requires = (MARKET,)
    produces = (WEEKLY_MANIFEST, WEEKLY_VALIDATION, WEEKLY_CONSTITUENTS, LATEST_WEEKLY)

    def preflight(self, ctx: StageContext[NoOptions]) -> None:
        _preflight_common(ctx)

    def run(self, ctx: StageContext[NoOptions]) -> StageOutcome:
        from ._ingest import ingest_market_data

        provider, macro = _providers(ctx)
        data = ctx.settings.data
        report = ingest_market_data(
            provider=provider, store=ctx.resource(MARKET), calendar=_calendar(), run_date=ctx.run_date,
            history_years=data.history_years, min_coverage=data.min_coverage,
            max_stale=data.max_stale_trading_days, postflight_sample=data.postflight_sample,
            upgrade_to_block=data.upgrade_to_block, macro_provider=macro, log=ctx.logger,
        )
        manifest_key = ctx.key(WEEKLY_MANIFEST)
        ctx.artifacts.write_json(ctx.key(WEEKLY_CONSTITUENTS), report.constituents)
        ctx.artifacts.write_json(ctx.key(WEEKLY_VALIDATION), report.validation)
        ctx.artifacts.write_json(manifest_key, report.manifest)
        ctx.artifacts.write_json(ctx.key(LATEST_WEEKLY), {"date": ctx.run_date.isoformat(),
                                                          "prefix": manifest_key.rsplit("/", 1)[0] + "/"})
        manifest = report.manifest
        summary = {"tickers": manifest["universe"]["written"], "rows": manifest["rows"],
                   "as_of_session": manifest["as_of_session"], "writes": report.modes,
                   "blocked_rows": manifest["quality"]["blocked_rows"], "provider": manifest["provider"]}
        warnings = tuple(manifest["caveats"])
        return StageOutcome(summary=summary, warnings=warnings)


class Scanner(Stage[ScannerOptions]):
    name = "Scanner"
    slug = "scanner"
    failure_class = FailureClass.SOFT
    compute = Compute.LAMBDA
    timeout_seconds = 600
    description = "Quant filter (liquidity when volume exists, momentum, trend) -> candidates.json"
    requires = (MARKET,)
    consumes = (WEEKLY_MANIFEST,)
    produces = (CANDIDATES,)

    def preflight(self, ctx: StageContext[ScannerOptions]) -> None:
        # The runner has probed the market store (without ArcticDB: this stage stays light). Before
        # DataPhase1 has run (a first shell run) there is no universe to check yet.
        if ctx.is_pending(WEEKLY_MANIFEST):
            return
        manifest = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))
        if not manifest["universe"]["written"]:
            raise PreflightError(f"{ctx.key(WEEKLY_MANIFEST)}: DataPhase1 wrote no tickers for "
                                 f"{ctx.run_date.isoformat()}, so there is nothing to scan")

    def run(self, ctx: StageContext[ScannerOptions]) -> StageOutcome:
        from ._ingest import latest_cross_section
        from ._scanner import SCANNER_COLUMNS, scan_candidates

        as_of = _calendar().as_of_session(ctx.run_date)
        table = latest_cross_section(ctx.resource(MARKET), as_of, SCANNER_COLUMNS)
        result = scan_candidates(table, ctx.options)
        caveats = ctx.artifacts.read_json(ctx.key(WEEKLY_MANIFEST))["caveats"]
        ctx.artifacts.write_json(ctx.key(CANDIDATES), {"run_date": ctx.run_date.isoformat(),
                                                       "as_of_session": as_of.isoformat(),
                                                       "caveats": caveats, **result})
        return StageOutcome(summary=result["counts"])


# The tickers DataPhase2 covers: the population Research promoted this week (upstream: alternative
# data for promoted tickers).
TICKERS_FROM = TickerSource(SIGNALS, "population")
DRY_FIELD = "data_phase2_dry"  # the execution input that makes DataPhase2 return before any fetch or write


class DataPhase2Options(BaseModel):
    """``[stages.data-phase2]``: how much EDGAR data DataPhase2 fetches (10 requests/s at most)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(default=90, ge=1, le=366)  # the insider window, ending on run_date
    max_tickers: int = Field(default=50, ge=1)  # the first N tickers in their source's order
    max_form4_filings: int = Field(default=25, ge=1)  # per ticker, newest first


class DataPhase2(Stage[DataPhase2Options]):
    name = "DataPhase2"
    slug = "data-phase2"
    failure_class = FailureClass.HARD
    compute = Compute.LAMBDA
    timeout_seconds = 600
    description = ("Alternative data for the promoted tickers: insider transactions (Form 4) and company "
                   "facts from SEC EDGAR -> insider.json; SKIPPED without an EDGAR identity")
    consumes = (optional(TICKERS_FROM.artifact),)
    produces = (INSIDER,)
    receives_execution_input = True  # upstream's data_phase2_dry

    def preflight(self, ctx: StageContext[DataPhase2Options]) -> None:
        # Read-only and offline: a shell run fetches and writes nothing.
        from .edgar import check_identity

        ctx.input_flag(DRY_FIELD)  # a malformed data_phase2_dry fails here, naming the field
        data = ctx.settings.data
        if data.edgar_identity:
            try:
                check_identity(data.edgar_identity)
            except DataError as exc:
                raise PreflightError(str(exc)) from exc
        if data.edgar_base_url and not data.edgar_base_url.startswith(("http://", "https://")):
            raise PreflightError(f"[data] edgar_base_url {data.edgar_base_url!r} is not an http(s) URL")
        source = TICKERS_FROM.artifact
        key = ctx.key(source)
        if not ctx.is_pending(source) and ctx.artifacts.exists(key):
            try:
                TICKERS_FROM.tickers(ctx.artifacts.read_json(key), key)
            except DataError as exc:
                raise PreflightError(str(exc)) from exc
        ctx.artifacts.list(INSIDER.prefix)  # the artifact store is readable

    def run(self, ctx: StageContext[DataPhase2Options]) -> StageOutcome:
        from .edgar import EDGAR_IDENTITY_HINT

        if ctx.input_flag(DRY_FIELD):
            # Upstream's dry path: return before any fetch or write.
            return StageOutcome(summary={"status": "ok_dry_run", "reason": f"execution input {DRY_FIELD} is true: "
                                         "nothing fetched, nothing written"})
        source_key = ctx.key(TICKERS_FROM.artifact)
        reason = None
        if not ctx.settings.data.edgar_identity:
            reason = f"no EDGAR identity configured: {EDGAR_IDENTITY_HINT}"
        elif not ctx.artifacts.exists(source_key):
            reason = f"no tickers: {source_key} is absent (its stage failed or was skipped)"
        if reason is not None:
            ctx.artifacts.write_json(ctx.key(INSIDER), _alternative.skipped_insider_data(ctx.run_date, reason,
                                                                                        source_key))
            return StageOutcome(summary={"status": "SKIPPED", "reason": reason}, warnings=(f"SKIPPED: {reason}",))
        tickers = TICKERS_FROM.tickers(ctx.artifacts.read_json(source_key), source_key)
        opts = ctx.options
        with _alternative.open_edgar_client(ctx.settings.data) as client:
            body, warnings = _alternative.collect_insider_data(
                client, tickers, ctx.run_date, window_days=opts.window_days, max_tickers=opts.max_tickers,
                max_form4_filings=opts.max_form4_filings, tickers_from=source_key, log=ctx.logger.info)
        ctx.artifacts.write_json(ctx.key(INSIDER), body)
        return StageOutcome(summary={"status": "OK", "provider": _alternative.EDGAR_SOURCE, **body["counts"]},
                            warnings=warnings)
