"""Data providers: where daily bars, macro series and sectors come from.

``open_provider(name, options)`` builds one of ``sample`` (the bundled skfolio closes, offline,
the default), ``files`` (a directory of CSV/Parquet), ``yfinance`` (Yahoo's chart endpoint),
``polygon`` (Polygon.io aggregates with VWAP) or ``synthetic`` (a seeded factor model);
``open_macro_provider`` adds ``fred``. Every network provider goes through one
:class:`HttpClient` (timeouts, retries, rate limit, secret-free errors).
"""

from __future__ import annotations

from ._base import (
    ETF_MACRO_SYMBOLS,
    FRED_ONLY_SYMBOLS,
    INDEX_SYMBOLS,
    MACRO_SYMBOLS,
    SECTOR_ETFS,
    MacroProvider,
    Provider,
)
from ._factory import MACRO_PROVIDER_NAMES, PROVIDER_NAMES, open_macro_provider, open_provider
from ._files import FilesProvider
from ._fred import FRED_SERIES, FredProvider
from ._http import HttpClient, HttpSettings, RateLimiter, RetryPolicy, redact
from ._polygon import PolygonProvider, to_polygon_symbol
from ._sample import (
    SAMPLE_CAVEATS,
    SAMPLE_DEFAULT_RUN_DATE,
    SAMPLE_LAST_DATE,
    SAMPLE_SECTORS,
    SampleProvider,
    first_saturday_after,
)
from ._synthetic import SYNTHETIC_CAVEATS, SyntheticProvider
from ._yahoo import YahooProvider, from_yahoo_symbol, to_yahoo_symbol

__all__ = [
    "ETF_MACRO_SYMBOLS",
    "FRED_ONLY_SYMBOLS",
    "FRED_SERIES",
    "INDEX_SYMBOLS",
    "MACRO_PROVIDER_NAMES",
    "MACRO_SYMBOLS",
    "PROVIDER_NAMES",
    "SAMPLE_CAVEATS",
    "SAMPLE_DEFAULT_RUN_DATE",
    "SAMPLE_LAST_DATE",
    "SAMPLE_SECTORS",
    "SECTOR_ETFS",
    "SYNTHETIC_CAVEATS",
    "FilesProvider",
    "FredProvider",
    "HttpClient",
    "HttpSettings",
    "MacroProvider",
    "PolygonProvider",
    "Provider",
    "RateLimiter",
    "RetryPolicy",
    "SampleProvider",
    "SyntheticProvider",
    "YahooProvider",
    "first_saturday_after",
    "from_yahoo_symbol",
    "open_macro_provider",
    "open_provider",
    "redact",
    "to_polygon_symbol",
    "to_yahoo_symbol",
]
