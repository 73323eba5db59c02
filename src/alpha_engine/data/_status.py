"""What the ``alpha-engine data`` commands show, computed here, not in the CLI: the market
store's per-ticker coverage and staleness, the latest weekly validation, the feature catalog,
one ticker's latest feature values, and a validation of the stored histories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from alpha_engine.store import ArtifactStore, MarketStore, TradingCalendar

from ._artifacts import LATEST_WEEKLY, WEEKLY_VALIDATION
from ._quality import anomalies_summary, validate_history
from .features import FEATURES, schema_hash

__all__ = ["feature_catalog", "latest_feature_values", "latest_validation", "market_status", "validate_store"]


def market_status(store: MarketStore, calendar: TradingCalendar, run_date: date) -> dict[str, Any]:
    """Per-ticker first/last date, rows, closes and staleness (trading days) relative to the last
    session closed by ``run_date``; and each macro series' last date."""
    session = calendar.as_of_session(run_date)
    rows = []
    for ticker, frame in sorted(store.read_many(columns=["Close"]).items()):
        last = frame.index[-1].date() if len(frame) else None
        rows.append({"ticker": ticker, "first": frame.index[0].date().isoformat() if len(frame) else None,
                     "last": last.isoformat() if last else None, "rows": len(frame),
                     "closes": int(frame["Close"].notna().sum()),
                     "stale_trading_days": calendar.trading_days_stale(last, session) if last else None})
    macro = {s: d.isoformat() for s, d in sorted(store.macro_last_dates().items())}
    return {"as_of_session": session.isoformat(), "tickers": rows, "macro_last_dates": macro}


def latest_validation(artifacts: ArtifactStore, limit: int = 50) -> dict[str, Any] | None:
    """The anomalies of the latest weekly ingest, counted by severity and kind (None before any)."""
    if not artifacts.exists(LATEST_WEEKLY.format()):
        return None
    day = artifacts.read_json(LATEST_WEEKLY.format())["date"]
    key = WEEKLY_VALIDATION.format(day)
    if not artifacts.exists(key):
        return None
    found = artifacts.read_json(key)["anomalies"]
    counts = Counter(f"{a['severity']}:{a['kind']}" for a in found)
    return {"key": key, "summary": dict(sorted(counts.items())), "anomalies": found[:limit]}


def validate_store(store: MarketStore, calendar: TradingCalendar,
                   tickers: Sequence[str] | None = None) -> dict[str, Any]:
    """Validate stored full histories (OHLC consistency, moves, volume, gaps): every anomaly,
    their summary, and whether any blocks."""
    names = list(tickers) if tickers else store.tickers()
    found = [anomaly for name in names for anomaly in validate_history(name, store.read(name), calendar)]
    return {"tickers": len(names), "summary": anomalies_summary(found), "anomalies": found,
            "blocking": any(a.severity == "block" for a in found)}


def feature_catalog() -> dict[str, Any]:
    """Every feature's name, group, units, inputs and description, and the catalog's schema hash."""
    return {"schema_hash": schema_hash(),
            "features": [{"name": f.name, "group": f.group, "units": f.units, "inputs": list(f.inputs),
                          "description": f.description} for f in FEATURES]}


def latest_feature_values(store: MarketStore, ticker: str) -> dict[str, Any]:
    """One ticker's latest stored row: its date and every column (NaN as None)."""
    frame = store.read(ticker)
    last = frame.iloc[-1]
    values = {c: (None if last[c] != last[c] else (float(last[c]) if c != "source" else last[c]))
              for c in frame.columns}
    return {"ticker": ticker, "date": frame.index[-1].date().isoformat(), "values": values}
