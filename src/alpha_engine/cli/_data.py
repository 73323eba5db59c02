"""``alpha-engine data``: ingest, status, validate, features."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ._common import (
    RUN_DATE_HELP,
    ConfigOption,
    JsonOption,
    WorkspaceOption,
    check_run_date,
    command,
    emit_json,
    err,
    load_configured,
    parse_date,
)

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.pipeline import PipelineApp
    from alpha_engine.store import MarketStore

data_app = typer.Typer(help="Market data: ingest into the market store, inspect, validate, features.",
                       no_args_is_help=True)


def _day(text: str | None, settings: Settings, app: PipelineApp, option: str) -> date:
    return parse_date(text, option) if text else app.default_run_date(settings, datetime.now(UTC).date())


def _market(settings: Settings, app: PipelineApp) -> MarketStore:
    from alpha_engine.data import DataError
    from alpha_engine.pipeline import MARKET

    store = app.open_resources(settings, read_only=True).get(MARKET)
    if not store.libraries_present():
        raise DataError(f"the market store {settings.data.market_store_uri} is empty: run 'alpha-engine data ingest'")
    return store


@data_app.command("ingest")
@command
def ingest_cmd(
    run_date: str = typer.Option(None, "--run-date", help=RUN_DATE_HELP),
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Run DataPhase1 now: universe, prices, macro and features into the market store, plus the manifest."""
    from alpha_engine.data import DataPhase1
    from alpha_engine.pipeline import run_stage

    settings, app = load_configured(config, workspace)
    day = _day(run_date, settings, app, "--run-date")
    check_run_date(app, day)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    report = run_stage(DataPhase1.slug, day, settings=settings, app=app)
    for warning in report.warnings:
        err(f"note: {warning}")
    if report.exit_code:
        err(f"error: {report.error or 'ingest failed'}")
        raise typer.Exit(report.exit_code)
    err(f"ingested for run_date {day}: {report.summary}")


@data_app.command("status")
@command
def status_cmd(
    as_of: str = typer.Option(None, "--as-of", help="Staleness relative to the last session closed by this "
                                                     "date (default: the default run date, as for "
                                                     "'alpha-engine run --help')."),
    as_json: bool = JsonOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Per-ticker coverage, last date and staleness in trading days; macro series; latest anomalies."""
    from alpha_engine.data import latest_validation, market_status
    from alpha_engine.store import TradingCalendar

    settings, app = load_configured(config, workspace)
    status = market_status(_market(settings, app), TradingCalendar(), _day(as_of, settings, app, "--as-of"))
    validation = latest_validation(app.open_artifacts(settings))
    if as_json:
        emit_json({**status, "latest_validation": validation})
        return
    rows = status["tickers"]
    typer.echo(f"as of session {status['as_of_session']}; {len(rows)} tickers in {settings.data.market_store_uri}")
    typer.echo(f"{'ticker':<8} {'first':<10}  {'last':<10}  {'rows':>6}  {'stale':>5}")
    for r in rows:
        typer.echo(f"{r['ticker']:<8} {r['first']:<10}  {r['last']:<10}  {r['rows']:>6}  {r['stale_trading_days']:>5}")
    typer.echo(f"macro: {', '.join(f'{s} {d}' for s, d in status['macro_last_dates'].items())}")
    if validation is not None:
        typer.echo(f"latest validation ({validation['key']}): {validation['summary']}")


@data_app.command("validate")
@command
def validate_cmd(
    ticker: str = typer.Option(None, "--ticker", "-t", help="Only this ticker."),
    as_json: bool = JsonOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """Validate the stored full histories (OHLC consistency, moves, volume, gaps); exit 1 on blocking anomalies."""
    from alpha_engine.data import validate_store
    from alpha_engine.store import TradingCalendar

    settings, app = load_configured(config, workspace)
    result = validate_store(_market(settings, app), TradingCalendar(), [ticker] if ticker else None)
    if as_json:
        emit_json({"summary": result["summary"], "anomalies": [a.to_json() for a in result["anomalies"]]})
    else:
        for anomaly in result["anomalies"]:
            typer.echo(f"{anomaly.severity:<5} {anomaly.kind:<22} {anomaly.message}")
        typer.echo(f"{result['tickers']} ticker(s): {result['summary']}")
    if result["blocking"]:
        raise typer.Exit(1)


@data_app.command("features")
@command
def features_cmd(
    ticker: str = typer.Option(None, "--ticker", "-t", help="Show this ticker's latest stored feature values."),
    as_json: bool = JsonOption,
    config: Path = ConfigOption,
    workspace: Path = WorkspaceOption,
) -> None:
    """The feature catalog (name, group, units, formula, inputs) and schema hash, or one ticker's latest values."""
    from alpha_engine.data import feature_catalog, latest_feature_values

    if ticker is None:
        catalog = feature_catalog()
        if as_json:
            emit_json(catalog)
            return
        typer.echo(f"{len(catalog['features'])} features, schema hash {catalog['schema_hash']}")
        for r in catalog["features"]:
            typer.echo(f"{r['name']:<24} {r['group']:<15} {r['units']:<10} {r['description']}")
        return
    settings, app = load_configured(config, workspace)
    latest = latest_feature_values(_market(settings, app), ticker)
    if as_json:
        emit_json(latest)
        return
    typer.echo(f"{ticker} on {latest['date']}")
    for name, value in latest["values"].items():
        typer.echo(f"  {name:<24} {value}")
