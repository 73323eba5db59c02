"""Yahoo Finance daily bars from the v8 chart endpoint, over httpx.

``GET https://query1.finance.yahoo.com/v8/finance/chart/{symbol}?period1=..&period2=..&interval=1d
&events=div,splits&includeAdjustedClose=true`` answers ``{"chart": {"result": [{"meta": {...},
"timestamp": [...], "indicators": {"quote": [{"open", "high", "low", "close", "volume"}],
"adjclose": [{"adjclose"}]}}], "error": null}}``; an unknown symbol answers HTTP 404 with
``chart.error = {"code": "Not Found", ...}`` and is simply absent from the result.

Why not the ``yfinance`` package: it fetches through ``curl_cffi`` browser-impersonating sessions
with cookie/crumb scraping, which cannot be replayed offline from recorded responses (our tests
serve recorded payloads through ``httpx.MockTransport``), and it pulls heavy dependencies. This
chart endpoint is what ``yfinance.Ticker.history`` calls underneath; we call it directly.

Conventions:

* Timestamps are exchange times (the session's open for daily bars); each is converted to the
  exchange's calendar date with ``meta.exchangeTimezoneName`` (``meta.gmtoffset`` if the zone is
  missing or unknown) and stored as a tz-naive date.
* Symbols: share classes use a dash at Yahoo (``BRK.B`` -> ``BRK-B``); the indices ``VIX VIX3M TNX
  IRX`` take a caret (``^VIX``) and are stored without it. Index volumes (always 0 at Yahoo) are NaN.
* ``auto_adjust`` (default on, as the upstream price cache): Open/High/Low/Close are scaled by
  ``adjclose / close`` so returns include dividends and splits; Volume is left as reported.
  Yahoo has no VWAP: it is NaN. A row whose close is null is not a bar and is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from .._errors import ProviderError
from ._base import (
    FRED_ONLY_SYMBOLS,
    INDEX_SYMBOLS,
    MACRO_SYMBOLS,
    as_day,
    bars_from_columns,
    collect_present,
    requested,
)
from ._http import HttpClient, HttpSettings

__all__ = ["YAHOO_CHART_URL", "YahooProvider", "from_yahoo_symbol", "parse_chart", "to_yahoo_symbol"]

_log = logging.getLogger("alpha_engine.data.providers")

YAHOO_CHART_URL = "https://query1.finance.yahoo.com/v8/finance/chart/{symbol}"
# Yahoo answers the default python-httpx agent with HTTP 429; a plain browser-style agent is accepted.
_HEADERS = {"User-Agent": "Mozilla/5.0 (compatible; alpha-engine/0.1)", "Accept": "application/json"}
_DEFAULT_REQUESTS_PER_MINUTE = 120.0
_QUOTE_FIELDS = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}


def to_yahoo_symbol(symbol: str) -> str:
    """Our symbol as Yahoo spells it: ``BRK.B`` -> ``BRK-B``, ``VIX`` -> ``^VIX``."""
    if symbol in INDEX_SYMBOLS:
        return "^" + symbol
    return symbol.replace(".", "-")


def from_yahoo_symbol(symbol: str) -> str:
    """Yahoo's spelling back to ours: ``BRK-B`` -> ``BRK.B``, ``^VIX`` -> ``VIX``."""
    return symbol[1:] if symbol.startswith("^") else symbol.replace("-", ".")


def _local_dates(stamps: Sequence[int], meta: Mapping[str, Any]) -> pd.DatetimeIndex:
    """Exchange timestamps (epoch seconds) -> the exchange's calendar dates, tz-naive."""
    moments = pd.DatetimeIndex(pd.to_datetime(pd.Series(stamps, dtype="int64"), unit="s", utc=True))
    zone = meta.get("exchangeTimezoneName")
    if isinstance(zone, str) and zone:
        try:
            return moments.tz_convert(zone).tz_localize(None).normalize()
        except (KeyError, ValueError):  # an unknown zone name: fall back to the fixed offset
            pass
    offset = meta.get("gmtoffset")
    if not isinstance(offset, int | float):
        raise ValueError("meta has neither a known exchangeTimezoneName nor gmtoffset")
    return (moments.tz_localize(None) + pd.Timedelta(seconds=float(offset))).normalize()


def parse_chart(payload: Any, *, source: str = "yfinance", auto_adjust: bool = True,
                is_index: bool = False) -> pd.DataFrame | None:
    """A chart response as a ticker frame; ``None`` when Yahoo has no rows (or no such symbol).
    Raises ValueError for a payload without the documented shape."""
    chart = payload.get("chart") if isinstance(payload, dict) else None
    if not isinstance(chart, dict):
        raise ValueError("no 'chart' object")
    error = chart.get("error")
    if error:
        if isinstance(error, dict) and error.get("code") == "Not Found":
            return None
        raise ValueError(f"chart.error = {error!r}")
    results = chart.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise ValueError("chart.result is not a non-empty list")
    result = results[0]
    stamps = result.get("timestamp") or []
    if not stamps:
        return None  # a valid symbol with no session in the range
    try:
        quote = result["indicators"]["quote"][0]
    except (KeyError, IndexError, TypeError):
        raise ValueError("no indicators.quote[0]") from None
    n = len(stamps)
    columns: dict[str, pd.Series] = {}
    for key, field in _QUOTE_FIELDS.items():
        values = quote.get(key)
        if values is None:
            continue
        if len(values) != n:
            raise ValueError(f"indicators.quote[0].{key} has {len(values)} values for {n} timestamps")
        columns[field] = pd.Series(values, dtype="float64")  # JSON null -> NaN
    if "Close" not in columns:
        raise ValueError("indicators.quote[0] has no 'close'")
    adjclose = (result["indicators"].get("adjclose") or [{}])[0].get("adjclose")
    if auto_adjust and adjclose is not None:
        if len(adjclose) != n:
            raise ValueError(f"indicators.adjclose[0].adjclose has {len(adjclose)} values for {n} timestamps")
        # A null adjclose next to a real close leaves that bar unadjusted rather than dropping it.
        ratio = (pd.Series(adjclose, dtype="float64") / columns["Close"]).fillna(1.0)
        for field in ("Open", "High", "Low", "Close"):
            if field in columns:
                columns[field] = columns[field] * ratio
    if is_index:
        columns.pop("Volume", None)
    dates = _local_dates(stamps, result.get("meta") or {})
    keep = columns["Close"].notna().to_numpy()
    frame = bars_from_columns(dates[keep], {k: v.to_numpy()[keep] for k, v in columns.items()}, source)
    return frame if len(frame) else None


def _epoch(day: date) -> int:
    return int(datetime.combine(as_day(day), time(0), tzinfo=UTC).timestamp())


class YahooProvider:
    """Daily bars and macro series from Yahoo's chart endpoint (see the module docstring)."""

    name = "yfinance"
    market_symbol = "SPY"
    caveats: tuple[str, ...] = ()

    def __init__(self, *, tickers: Sequence[str] = (), sectors: Mapping[str, str] | None = None,
                 auto_adjust: bool = True, http: HttpSettings | None = None) -> None:
        self.tickers = sorted(set(tickers))
        self.sectors = dict(sorted((sectors or {}).items()))
        self.auto_adjust = auto_adjust
        self.http = HttpClient(self.name, http, default_requests_per_minute=_DEFAULT_REQUESTS_PER_MINUTE,
                               headers=_HEADERS, auth_statuses=())

    def close(self) -> None:
        self.http.close()

    def _chart(self, symbol: str, start: date, end: date) -> pd.DataFrame | None:
        url = YAHOO_CHART_URL.format(symbol=to_yahoo_symbol(symbol))
        # One day of slack each side: an exchange east of UTC opens on the previous UTC day.
        params = {"period1": _epoch(start - timedelta(days=1)), "period2": _epoch(end + timedelta(days=2)),
                  "interval": "1d", "events": "div,splits", "includeAdjustedClose": "true"}
        response = self.http.get(url, params=params, passthrough=(404,))
        payload = self.http.json_of(response)
        try:
            frame = parse_chart(payload, source=self.name, auto_adjust=self.auto_adjust,
                                is_index=symbol in INDEX_SYMBOLS)
        except ValueError as exc:
            raise self.http.malformed(str(response.request.url), str(exc)) from None
        if frame is None and response.status_code == 404:
            _log.info("yfinance: %s: no such symbol at Yahoo (HTTP 404); skipped", symbol)
        return frame

    def _fetch(self, symbols: list[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        frames = {}
        for symbol in symbols:
            frame = self._chart(symbol, start, end)
            if frame is not None:
                frames[symbol] = frame
        return collect_present(frames, start, end)

    def universe(self, as_of: date) -> list[str]:
        if not self.tickers:
            raise ProviderError("yfinance: no universe configured; set provider_options.tickers "
                                "to the list of symbols to fetch")
        return list(self.tickers)

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        return self._fetch(requested(tickers, []), start, end)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        # FRED-only series (TWO, HYOAS, BAA10Y) do not exist at Yahoo: absent, without a request.
        wanted = [s for s in requested(symbols, MACRO_SYMBOLS) if s not in FRED_ONLY_SYMBOLS]
        return self._fetch(wanted, start, end)

    def sector_map(self) -> dict[str, str]:
        return dict(self.sectors)

    def last_available_date(self) -> date | None:
        return None

    def probe(self) -> None:
        url = YAHOO_CHART_URL.format(symbol="SPY")
        payload = self.http.get_json(url, params={"range": "1d", "interval": "1d"})
        try:
            frame = parse_chart(payload, source=self.name)
        except ValueError as exc:
            raise self.http.malformed(url, f"{exc}; Yahoo may have changed the chart API") from None
        if frame is None:
            raise ProviderError(f"yfinance: GET {url}?range=1d returned no SPY bar; Yahoo may be "
                                "degraded or blocking this network, retry later")
