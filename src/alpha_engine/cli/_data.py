"""``alpha-engine data``: ingest, status, validate, features."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

from ._common import emit_json, err, fail
from ._settings_opts import USAGE_EXIT, ConfigOption, HomeOption, settings_from

data_app = typer.Typer(help="Market data: ingest into the market store, inspect, validate, features.",
                       no_args_is_help=True)


def _day(text: str | None, settings: Any) -> date:
    from alpha_engine.data import default_run_date

    if text is None:
        return default_run_date(settings, datetime.now(UTC).date())
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"date must be YYYY-MM-DD, got {text!r}", USAGE_EXIT) from None


def _store(settings: Any) -> Any:
    from alpha_engine.data import FEATURE_ORDER, MarketStore

    store = MarketStore(settings.data.market_store_uri, feature_columns=FEATURE_ORDER, read_only=True)
    if not store.libraries_present():
        raise fail(f"the market store {settings.data.market_store_uri} is empty: run 'alpha-engine data ingest'", 1)
    return store


@data_app.command("ingest")
def ingest_cmd(
    run_date: str = typer.Option(None, "--run-date", help="YYYY-MM-DD (default: the sample's first Saturday "
                                                          "after its last bar, else today)."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """Run DataPhase1 now: universe, prices, macro and features into the market store, plus the manifest."""
    import logging
    import sys

    from alpha_engine.data import DataPhase1
    from alpha_engine.pipeline import StageGraph
    from alpha_engine.pipeline._runner import run_stage

    settings = settings_from(config, workspace)
    day = _day(run_date, settings)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    report = run_stage("data-phase1", day, settings=settings, graph=StageGraph("Data", (DataPhase1,)))
    for warning in report.warnings:
        err(f"note: {warning}")
    if report.exit_code:
        raise fail(report.error or "ingest failed", report.exit_code)
    err(f"ingested for run_date {day}: {report.summary}")


@data_app.command("status")
def status_cmd(
    as_of: str = typer.Option(None, "--as-of", help="Staleness relative to the last session closed by this "
                                                     "date (default: the sample's default run date, else today)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """Per-ticker coverage, last date and staleness in trading days; macro series; latest anomalies."""
    from alpha_engine.data import TradingCalendar, as_of_session

    settings = settings_from(config, workspace)
    store = _store(settings)
    calendar = TradingCalendar()
    session = as_of_session(calendar, _day(as_of, settings))
    rows = []
    for ticker, frame in sorted(store.read_many(columns=["Close"]).items()):
        last = frame.index[-1].date() if len(frame) else None
        rows.append({"ticker": ticker, "first": frame.index[0].date().isoformat() if len(frame) else None,
                     "last": last.isoformat() if last else None, "rows": len(frame),
                     "closes": int(frame["Close"].notna().sum()),
                     "stale_trading_days": calendar.trading_days_stale(last, session) if last else None})
    macro = {s: d.isoformat() for s, d in sorted(store.macro_last_dates().items())}
    anomalies = _latest_validation(settings)
    if as_json:
        emit_json({"as_of_session": session.isoformat(), "tickers": rows, "macro_last_dates": macro,
                   "latest_validation": anomalies})
        return
    typer.echo(f"as of session {session}; {len(rows)} tickers in {settings.data.market_store_uri}")
    typer.echo(f"{'ticker':<8} {'first':<10}  {'last':<10}  {'rows':>6}  {'stale':>5}")
    for r in rows:
        typer.echo(f"{r['ticker']:<8} {r['first']:<10}  {r['last']:<10}  {r['rows']:>6}  {r['stale_trading_days']:>5}")
    typer.echo(f"macro: {', '.join(f'{s} {d}' for s, d in macro.items())}")
    if anomalies is not None:
        typer.echo(f"latest validation ({anomalies['key']}): {anomalies['summary']}")


def _latest_validation(settings: Any) -> dict[str, Any] | None:
    from collections import Counter

    from alpha_engine.store import ArtifactStore

    store = ArtifactStore(settings.artifacts_uri, read_only=True)
    if not store.exists("market_data/latest_weekly.json"):
        return None
    prefix = store.read_json("market_data/latest_weekly.json")["prefix"]
    key = f"{prefix}validation.json"
    if not store.exists(key):
        return None
    found = store.read_json(key)["anomalies"]
    counts = Counter(f"{a['severity']}:{a['kind']}" for a in found)
    return {"key": key, "summary": dict(sorted(counts.items())), "anomalies": found[:50]}


@data_app.command("validate")
def validate_cmd(
    ticker: str = typer.Option(None, "--ticker", "-t", help="Only this ticker."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """Validate the stored full histories (OHLC consistency, moves, volume, gaps); exit 1 on blocking anomalies."""
    from alpha_engine.data import TradingCalendar, anomalies_summary, validate_history

    settings = settings_from(config, workspace)
    store = _store(settings)
    calendar = TradingCalendar()
    tickers = [ticker] if ticker else store.tickers()
    found = []
    for name in tickers:
        try:
            frame = store.read(name)
        except Exception as exc:
            raise fail(str(exc), 1) from None
        found.extend(validate_history(name, frame, calendar))
    summary = anomalies_summary(found)
    if as_json:
        emit_json({"summary": summary, "anomalies": [a.to_json() for a in found]})
    else:
        for anomaly in found:
            typer.echo(f"{anomaly.severity:<5} {anomaly.kind:<22} {anomaly.message}")
        typer.echo(f"{len(tickers)} ticker(s): {summary}")
    if any(a.severity == "block" for a in found):
        raise typer.Exit(1)


@data_app.command("features")
def features_cmd(
    ticker: str = typer.Option(None, "--ticker", "-t", help="Show this ticker's latest stored feature values."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    config: Path = ConfigOption,
    workspace: Path = HomeOption,
) -> None:
    """The feature catalog (name, group, units, formula, inputs) and schema hash, or one ticker's latest values."""
    from alpha_engine.data import FEATURES, schema_hash

    if ticker is None:
        rows = [{"name": f.name, "group": f.group, "units": f.units, "inputs": list(f.inputs),
                 "description": f.description} for f in FEATURES]
        if as_json:
            emit_json({"schema_hash": schema_hash(), "features": rows})
            return
        typer.echo(f"{len(rows)} features, schema hash {schema_hash()}")
        for r in rows:
            typer.echo(f"{r['name']:<24} {r['group']:<15} {r['units']:<10} {r['description']}")
        return
    settings = settings_from(config, workspace)
    store = _store(settings)
    try:
        frame = store.read(ticker)
    except Exception as exc:
        raise fail(str(exc), 1) from None
    last = frame.iloc[-1]
    values = {c: (None if last[c] != last[c] else (float(last[c]) if c != "source" else last[c]))
              for c in frame.columns}
    if as_json:
        emit_json({"ticker": ticker, "date": frame.index[-1].date().isoformat(), "values": values})
        return
    typer.echo(f"{ticker} on {frame.index[-1].date()}")
    for name, value in values.items():
        typer.echo(f"  {name:<24} {value}")
