"""Build a provider from its name and the ``provider_options`` of the settings.

The options are validated by the provider's model (:mod:`._options`, which lists them per
provider): the one path, shared with the load-time check of the settings. A missing key does not
fail here: the provider raises ProviderAuthError before its first request (``probe`` is the place
to find out).

Each provider's module is imported when that provider is opened, not before: a run on the sample
never imports the HTTP client or the network providers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._errors import DataError
from ._options import (
    MACRO_PROVIDER_NAMES,
    PROVIDER_NAMES,
    FilesOptions,
    FredOptions,
    HttpOptions,
    PolygonOptions,
    SampleOptions,
    SyntheticOptions,
    YahooOptions,
    provider_options,
)

if TYPE_CHECKING:
    import httpx

    from ._base import MacroProvider, Provider
    from ._http import HttpSettings

__all__ = ["MACRO_PROVIDER_NAMES", "PROVIDER_NAMES", "open_macro_provider", "open_provider"]


def _http_settings(opts: HttpOptions, transport: httpx.BaseTransport | None, sleep: Callable[[float], None] | None,
                   monotonic: Callable[[], float] | None) -> HttpSettings:
    from ._http import HttpSettings, RetryPolicy

    retry = RetryPolicy(max_attempts=opts.max_attempts, backoff_base=opts.backoff_base,
                        backoff_max=opts.backoff_max)
    return HttpSettings(transport=transport, timeout=opts.timeout, retry=retry,
                        requests_per_minute=opts.requests_per_minute, burst=opts.burst,
                        sleep=sleep or time.sleep, monotonic=monotonic or time.monotonic)


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
    opts = provider_options(name, options or {})
    if isinstance(opts, SampleOptions):
        from ._sample import SampleProvider

        return SampleProvider()
    if isinstance(opts, FilesOptions):
        from ._files import FilesProvider

        return FilesProvider(opts.root, market_symbol=opts.market_symbol, caveats=opts.caveats)
    if isinstance(opts, SyntheticOptions):
        from ._synthetic import SyntheticProvider

        return SyntheticProvider(n_tickers=opts.n_tickers, n_days=opts.n_days, seed=opts.seed, start=opts.start)
    if isinstance(opts, YahooOptions):
        from ._yahoo import YahooProvider

        return YahooProvider(tickers=opts.tickers, sectors=opts.sectors, auto_adjust=opts.auto_adjust,
                             http=_http_settings(opts, transport, sleep, monotonic))
    if isinstance(opts, PolygonOptions):
        from ._polygon import PolygonProvider

        return PolygonProvider(env.get("POLYGON_API_KEY"), tickers=opts.tickers, sectors=opts.sectors,
                               http=_http_settings(opts, transport, sleep, monotonic))
    raise AssertionError(f"no builder for provider {name!r}")  # PROVIDER_NAMES and the branches disagree


def open_macro_provider(name: str, options: Mapping[str, Any] | None = None, *,
                        env: Mapping[str, str] = os.environ, transport: httpx.BaseTransport | None = None,
                        sleep: Callable[[float], None] | None = None,
                        monotonic: Callable[[], float] | None = None) -> MacroProvider:
    """The macro source called ``name``: ``fred``, or any price provider (its own macro series)."""
    if name not in MACRO_PROVIDER_NAMES:
        raise DataError(f"unknown macro provider {name!r}; known: {', '.join(MACRO_PROVIDER_NAMES)}")
    if name != "fred":
        return open_provider(name, options, env=env, transport=transport, sleep=sleep, monotonic=monotonic)
    opts = provider_options(name, options or {})
    assert isinstance(opts, FredOptions)
    from ._fred import FredProvider

    return FredProvider(env.get("FRED_API_KEY"), http=_http_settings(opts, transport, sleep, monotonic))
