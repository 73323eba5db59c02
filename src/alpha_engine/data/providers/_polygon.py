"""Polygon.io daily aggregates (bars with a true VWAP), over httpx.

* Per ticker: ``GET /v2/aggs/ticker/{T}/range/1/day/{from}/{to}?adjusted=true&sort=asc&limit=50000``
  (``next_url`` pages are followed).
* One session, every ticker: ``GET /v2/aggs/grouped/locale/us/market/stocks/{date}?adjusted=true``
  (:meth:`PolygonProvider.grouped_daily`, used by MorningEnrich).
* Both answer ``{"status": "OK", "results": [{"T"?, "o", "h", "l", "c", "v", "vw", "t", "n"}, ...]}``
  with ``t`` in milliseconds UTC: the session's start (aggregates) or end (grouped) in New York
  time, so the session date is ``t`` converted to America/New_York. ``vw`` becomes VWAP; a bar
  without ``vw`` has a NaN VWAP. ``adjusted=true`` adjusts for splits (not dividends).
* Credentials: ``POLYGON_API_KEY``, sent as ``Authorization: Bearer <key>`` (never in the URL). A
  missing key raises :class:`ProviderAuthError` before any request; HTTP 401/403 raise it too.
* Symbols: Polygon writes share classes with a dot, as we do (``BRK.B``); a Yahoo-style ``BRK-B``
  is accepted and mapped to the dot form.
* Polygon's stock feed carries no indices: ``VIX VIX3M TNX IRX`` and the FRED-only series are
  absent from :meth:`~PolygonProvider.macro_series` (configure FRED as the macro provider).
* The free tier allows 5 requests a minute; that is the default rate limit (``requests_per_minute``
  option; ``0`` for none on paid plans).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ProviderAuthError, ProviderError
from ._base import (
    ETF_MACRO_SYMBOLS,
    FRED_ONLY_SYMBOLS,
    INDEX_SYMBOLS,
    as_day,
    bars_from_columns,
    collect_present,
    requested,
)
from ._http import HttpClient, HttpSettings

__all__ = ["POLYGON_BASE_URL", "PolygonProvider", "parse_aggregates", "to_polygon_symbol"]

_log = logging.getLogger("alpha_engine.data.providers")

POLYGON_BASE_URL = "https://api.polygon.io"
_EXCHANGE_ZONE = "America/New_York"
_FIELDS = {"o": "Open", "h": "High", "l": "Low", "c": "Close", "v": "Volume", "vw": "VWAP"}
_DEFAULT_REQUESTS_PER_MINUTE = 5.0
_AUTH_HINT = ("set POLYGON_API_KEY to a valid key whose plan includes daily aggregates "
              "(https://polygon.io/dashboard/keys)")


def to_polygon_symbol(symbol: str) -> str:
    """Our symbol as Polygon spells it: share classes keep the dot (``BRK-B`` -> ``BRK.B``)."""
    return symbol.replace("-", ".")


def parse_aggregates(results: list[dict[str, Any]], source: str = "polygon") -> pd.DataFrame:
    """Aggregate bars (``o h l c v vw t``) as one canonical frame indexed by session date,
    with the ticker (``T``, if present) in a ``ticker`` column. Raises ValueError when malformed."""
    table = pd.DataFrame.from_records(results)
    if "t" not in table or "c" not in table:
        raise ValueError("results lack the 't' or 'c' field")
    stamps = pd.to_numeric(table["t"], errors="coerce")
    if stamps.isna().any():
        raise ValueError("a result has a non-numeric 't'")
    dates = pd.DatetimeIndex(pd.to_datetime(stamps.astype("int64"), unit="ms", utc=True))
    dates = dates.tz_convert(_EXCHANGE_ZONE).tz_localize(None).normalize()
    columns = {field: pd.to_numeric(table[key], errors="coerce").to_numpy(dtype="float64")
               for key, field in _FIELDS.items() if key in table}
    frame = pd.DataFrame({f: columns.get(f, np.full(len(table), np.nan)) for f in _FIELDS.values()},
                         index=pd.DatetimeIndex(dates, freq=None, name="date"))
    frame["source"] = source
    if "T" in table:
        frame["ticker"] = table["T"].astype(str).to_numpy()
    return frame


class PolygonProvider:
    """Daily bars with VWAP from Polygon.io (see the module docstring)."""

    name = "polygon"
    market_symbol = "SPY"
    caveats: tuple[str, ...] = ()

    def __init__(self, api_key: str | None, *, tickers: Sequence[str] = (),
                 sectors: Mapping[str, str] | None = None, http: HttpSettings | None = None) -> None:
        self._api_key = api_key or None
        self.tickers = sorted(set(tickers))
        self.sectors = dict(sorted((sectors or {}).items()))
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        self.http = HttpClient(self.name, http, default_requests_per_minute=_DEFAULT_REQUESTS_PER_MINUTE,
                               headers=headers, secrets=[self._api_key or ""], auth_hint=_AUTH_HINT)

    def close(self) -> None:
        self.http.close()

    def _require_key(self, endpoint: str) -> None:
        if not self._api_key:
            raise ProviderAuthError(f"polygon: POLYGON_API_KEY is not set, so {POLYGON_BASE_URL}{endpoint} "
                                    "cannot be called; export POLYGON_API_KEY (https://polygon.io/dashboard/keys)")

    def _results(self, path: str, params: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        """Every result of ``path``, following ``next_url`` pages."""
        self._require_key(path)
        url: str | None = POLYGON_BASE_URL + path
        results: list[dict[str, Any]] = []
        while url is not None:
            payload = self.http.get_json(url, params=params)
            if not isinstance(payload, dict) or payload.get("status") not in ("OK", "DELAYED"):
                status = payload.get("status") if isinstance(payload, dict) else type(payload).__name__
                raise self.http.malformed(self.http.display_url(url, params), f"status {status!r}, expected 'OK'")
            page = payload.get("results") or []
            if not isinstance(page, list):
                raise self.http.malformed(self.http.display_url(url, params), "'results' is not a list")
            results.extend(page)
            next_url = payload.get("next_url")
            url, params = (str(next_url), None) if next_url else (None, None)
        return results

    def _bars(self, symbol: str, start: date, end: date) -> pd.DataFrame | None:
        first, last = as_day(start).isoformat(), as_day(end).isoformat()
        path = f"/v2/aggs/ticker/{to_polygon_symbol(symbol)}/range/1/day/{first}/{last}"
        results = self._results(path, {"adjusted": "true", "sort": "asc", "limit": 50000})
        if not results:
            return None
        try:
            table = parse_aggregates(results, self.name)
        except ValueError as exc:
            raise self.http.malformed(POLYGON_BASE_URL + path, str(exc)) from None
        return bars_from_columns(pd.DatetimeIndex(table.index), {f: table[f] for f in _FIELDS.values()},
                                 self.name)

    def _fetch(self, symbols: list[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        frames = {}
        for symbol in symbols:
            frame = self._bars(symbol, start, end)
            if frame is not None:
                frames[symbol] = frame
        return collect_present(frames, start, end)

    def grouped_daily(self, day: date, tickers: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """Every US stock's bar of session ``day`` (one-row ticker frames, VWAP set), keyed by
        ticker; ``tickers`` keeps only those. A non-session day gives ``{}``."""
        path = f"/v2/aggs/grouped/locale/us/market/stocks/{as_day(day).isoformat()}"
        results = self._results(path, {"adjusted": "true"})
        if not results:
            return {}
        try:
            table = parse_aggregates(results, self.name)
        except ValueError as exc:
            raise self.http.malformed(POLYGON_BASE_URL + path, str(exc)) from None
        if "ticker" not in table:
            raise self.http.malformed(POLYGON_BASE_URL + path, "grouped results lack the 'T' ticker field")
        if tickers is not None:
            table = table.loc[table["ticker"].isin({to_polygon_symbol(t) for t in tickers})]
        table = table.loc[table["Close"].notna()]
        symbols = table.pop("ticker").to_numpy()
        order = np.argsort(symbols, kind="stable")
        # Slicing one canonical frame keeps this linear: ~10k tickers a session.
        return {str(symbols[i]): table.iloc[i:i + 1] for i in order}

    def universe(self, as_of: date) -> list[str]:
        if not self.tickers:
            raise ProviderError("polygon: no universe configured; set provider_options.tickers "
                                "to the list of symbols to fetch")
        return list(self.tickers)

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        return self._fetch(requested(tickers, []), start, end)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        unserved = set(INDEX_SYMBOLS) | set(FRED_ONLY_SYMBOLS)
        wanted = requested(symbols, ETF_MACRO_SYMBOLS)
        skipped = [s for s in wanted if s in unserved]
        if skipped:
            _log.info("polygon: %s are indices Polygon's stock feed lacks; use FRED as macro provider",
                      ", ".join(skipped))
        return self._fetch([s for s in wanted if s not in unserved], start, end)

    def sector_map(self) -> dict[str, str]:
        return dict(self.sectors)

    def last_available_date(self) -> date | None:
        return None

    def probe(self) -> None:
        path = "/v3/reference/tickers/AAPL"
        self._require_key(path)
        payload = self.http.get_json(POLYGON_BASE_URL + path)
        if not isinstance(payload, dict) or not isinstance(payload.get("results"), dict):
            raise self.http.malformed(POLYGON_BASE_URL + path, "no 'results' object in the ticker details")
