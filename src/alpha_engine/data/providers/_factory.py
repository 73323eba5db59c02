"""Build a provider from its name and the ``provider_options`` of the settings.

Options per provider (unknown keys are refused, naming the known ones):

=========== ==================================================================================
sample      none
files       ``root`` (required), ``market_symbol`` ("SPY"), ``caveats`` (list of str)
yfinance    ``tickers``, ``sectors`` (ticker -> sector ETF), ``auto_adjust`` (true) + HTTP options
polygon     ``tickers``, ``sectors`` + HTTP options; key from ``POLYGON_API_KEY``
fred        HTTP options; key from ``FRED_API_KEY`` (macro provider)
synthetic   ``n_tickers`` (50), ``n_days`` (2520), ``seed`` (0), ``start`` ("2015-01-02")
=========== ==================================================================================

HTTP options: ``timeout`` (15 s), ``max_attempts`` (4), ``backoff_base`` (1 s), ``backoff_max``
(60 s), ``requests_per_minute`` (the provider's documented quota; 0 = no limit), ``burst`` (1).
A missing key does not fail here: the provider raises ProviderAuthError before its first request
(``probe`` is the place to find out).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from .._errors import DataError
from ._base import MacroProvider, Provider
from ._files import FilesProvider
from ._fred import FredProvider
from ._http import HttpSettings, RetryPolicy
from ._options import MACRO_PROVIDER_NAMES, PROVIDER_NAMES, ProviderOptions
from ._polygon import PolygonProvider
from ._sample import SampleProvider
from ._synthetic import SyntheticProvider
from ._yahoo import YahooProvider

__all__ = ["MACRO_PROVIDER_NAMES", "PROVIDER_NAMES", "open_macro_provider", "open_provider"]

def _http_settings(opts: ProviderOptions, transport: httpx.BaseTransport | None, sleep: Callable[[float], None] | None,
         monotonic: Callable[[], float] | None) -> HttpSettings:
    retry = RetryPolicy(max_attempts=opts.integer("max_attempts", 4, minimum=1),
                        backoff_base=opts.number("backoff_base", 1.0) or 0.0,
                        backoff_max=opts.number("backoff_max", 60.0) or 0.0)
    return HttpSettings(transport=transport, timeout=opts.number("timeout", 15.0, minimum=0.001) or 15.0,
                        retry=retry, requests_per_minute=opts.number("requests_per_minute", None),
                        burst=opts.integer("burst", 1, minimum=1), sleep=sleep or time.sleep,
                        monotonic=monotonic or time.monotonic)


def open_provider(name: str, options: Mapping[str, Any] | None = None, *,
                  env: Mapping[str, str] = os.environ, transport: httpx.BaseTransport | None = None,
                  sleep: Callable[[float], None] | None = None,
                  monotonic: Callable[[], float] | None = None) -> Provider:
    """The provider called ``name`` (one of :data:`PROVIDER_NAMES`) built from its options.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``); ``sleep`` and
    ``monotonic`` replace the clock of retries and rate limiting.
    """
    if name not in PROVIDER_NAMES:
        raise DataError(f"unknown data provider {name!r}; known: {', '.join(PROVIDER_NAMES)}")
    opts = ProviderOptions(name, options or {})
    if name == "sample":
        return SampleProvider()
    if name == "files":
        caveats = opts.strings("caveats") if "caveats" in opts.values else []
        return FilesProvider(opts.text("root", None), market_symbol=opts.text("market_symbol", "SPY"),
                             caveats=caveats)
    if name == "synthetic":
        return SyntheticProvider(n_tickers=opts.integer("n_tickers", 50, minimum=1),
                                 n_days=opts.integer("n_days", 2520, minimum=1),
                                 seed=opts.integer("seed", 0), start=opts.text("start", "2015-01-02"))
    http = _http_settings(opts, transport, sleep, monotonic)
    if name == "yfinance":
        return YahooProvider(tickers=opts.strings("tickers"), sectors=opts.mapping("sectors"),
                             auto_adjust=opts.flag("auto_adjust", True), http=http)
    return PolygonProvider(env.get("POLYGON_API_KEY"), tickers=opts.strings("tickers"),
                           sectors=opts.mapping("sectors"), http=http)


def open_macro_provider(name: str, options: Mapping[str, Any] | None = None, *,
                        env: Mapping[str, str] = os.environ, transport: httpx.BaseTransport | None = None,
                        sleep: Callable[[float], None] | None = None,
                        monotonic: Callable[[], float] | None = None) -> MacroProvider:
    """The macro source called ``name``: ``fred``, or any price provider (its own macro series)."""
    if name not in MACRO_PROVIDER_NAMES:
        raise DataError(f"unknown macro provider {name!r}; known: {', '.join(MACRO_PROVIDER_NAMES)}")
    if name != "fred":
        return open_provider(name, options, env=env, transport=transport, sleep=sleep, monotonic=monotonic)
    opts = ProviderOptions(name, options or {})
    return FredProvider(env.get("FRED_API_KEY"), http=_http_settings(opts, transport, sleep, monotonic))
