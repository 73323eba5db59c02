"""FRED (St. Louis Fed) macro series: the indices and rates Polygon's stock feed lacks.

``GET https://api.stlouisfed.org/fred/series/observations?series_id=..&api_key=..&file_type=json
&observation_start=YYYY-MM-DD&observation_end=YYYY-MM-DD`` answers ``{"observations": [{"date":
"YYYY-MM-DD", "value": "12.34", ...}, ...], ...}``; a value of ``"."`` is a missing observation
(a holiday) and is dropped. The key (``FRED_API_KEY``) travels in the query, so every URL shown
in an error or a log has it redacted. A missing key raises :class:`ProviderAuthError` before any
request; FRED refuses a bad key with HTTP 400 and a message about ``api_key`` (also an auth error).

Our symbols map to FRED series (:data:`FRED_SERIES`); a symbol outside the map is absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import httpx
import pandas as pd

from .._errors import ProviderAuthError
from ._base import as_day, bars_from_columns, collect_present, requested
from ._http import HttpClient, HttpSettings

__all__ = ["FRED_OBSERVATIONS_URL", "FRED_SERIES", "FredProvider", "parse_observations"]

FRED_OBSERVATIONS_URL = "https://api.stlouisfed.org/fred/series/observations"
FRED_SERIES: dict[str, str] = {
    "VIX": "VIXCLS",
    "VIX3M": "VXVCLS",
    "TNX": "DGS10",
    "IRX": "DTB3",
    "TWO": "DGS2",
    "HYOAS": "BAMLH0A0HYM2",
    "BAA10Y": "BAA10Y",
}
# FRED's documented limit is 120 requests a minute per key.
_DEFAULT_REQUESTS_PER_MINUTE = 120.0
_AUTH_HINT = "set FRED_API_KEY to a valid key (https://fredaccount.stlouisfed.org/apikeys)"


def _refuses_key(response: httpx.Response) -> bool:
    """FRED answers a missing or unregistered key with HTTP 400 and a message naming api_key."""
    body = response.text.lower()
    return response.status_code == 400 and ("api_key" in body or "invalid api key" in body)


def parse_observations(payload: Any, source: str = "fred") -> pd.DataFrame:
    """An observations response as a macro frame (Close only; ``"."`` rows dropped).
    Raises ValueError when the payload does not have the documented shape."""
    observations = payload.get("observations") if isinstance(payload, dict) else None
    if not isinstance(observations, list):
        raise ValueError("no 'observations' list")
    table = pd.DataFrame.from_records(observations, columns=["date", "value"])
    values = table["value"].astype("string")
    missing = (values.isna() | (values.str.strip() == ".")).fillna(True).astype(bool)
    closes = pd.to_numeric(values.where(~missing), errors="coerce")
    bad = closes.isna() & ~missing
    if bad.any():
        raise ValueError(f"non-numeric value {table['value'][bad].iloc[0]!r} on {table['date'][bad].iloc[0]}")
    dates = pd.to_datetime(table["date"], format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        raise ValueError(f"unparseable date {table['date'][dates.isna()].iloc[0]!r}")
    keep = (~missing).to_numpy()
    return bars_from_columns(pd.DatetimeIndex(dates[keep]), {"Close": closes[keep]}, source)


class FredProvider:
    """Macro series from FRED (a :class:`~alpha_engine.data.providers.MacroProvider`)."""

    name = "fred"

    def __init__(self, api_key: str | None, *, http: HttpSettings | None = None) -> None:
        self._api_key = api_key or None
        self.http = HttpClient(self.name, http, default_requests_per_minute=_DEFAULT_REQUESTS_PER_MINUTE,
                               secrets=[self._api_key or ""], is_auth_failure=_refuses_key, auth_hint=_AUTH_HINT)

    def close(self) -> None:
        self.http.close()

    def _observations(self, series_id: str, **params: str | int) -> Any:
        if not self._api_key:
            raise ProviderAuthError(f"fred: FRED_API_KEY is not set, so {FRED_OBSERVATIONS_URL} cannot be "
                                    f"called; {_AUTH_HINT}")
        query = {"series_id": series_id, "api_key": self._api_key, "file_type": "json", **params}
        return self.http.get_json(FRED_OBSERVATIONS_URL, params=query)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        frames = {}
        for symbol in requested(symbols, list(FRED_SERIES)):
            series_id = FRED_SERIES.get(symbol)
            if series_id is None:
                continue
            payload = self._observations(series_id, observation_start=as_day(start).isoformat(),
                                         observation_end=as_day(end).isoformat())
            try:
                frame = parse_observations(payload, self.name)
            except ValueError as exc:
                shown = self.http.display_url(FRED_OBSERVATIONS_URL, {"series_id": series_id})
                raise self.http.malformed(shown, str(exc)) from None
            frames[symbol] = frame
        return collect_present(frames, start, end)

    def probe(self) -> None:
        payload = self._observations("DFF", limit=1)
        if not isinstance(payload, dict) or not isinstance(payload.get("observations"), list):
            shown = self.http.display_url(FRED_OBSERVATIONS_URL, {"series_id": "DFF"})
            raise self.http.malformed(shown, "no 'observations' list for DFF")
