"""Data providers: where daily bars, macro series and sectors come from.

``open_provider(name, options)`` builds one of ``sample`` (the bundled skfolio closes, offline,
the default), ``files`` (a directory of CSV/Parquet), ``yfinance`` (Yahoo's chart endpoint),
``polygon`` (Polygon.io aggregates with VWAP) or ``synthetic`` (a seeded factor model);
``open_macro_provider`` adds ``fred``. Every network provider goes through one
:class:`HttpClient` (timeouts, retries, rate limit, secret-free errors).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
