"""Feature engine: the catalog (:data:`FEATURES`) and its vectorized computation over a panel.

Usage::

    fs = compute_features(panel, macro, market_symbol="SPY", sector_of=sectors)
    fs.frames["rsi_14"]          # dates x tickers, float64
    fs.for_ticker("AAPL")        # dates x FEATURE_ORDER, float32
    fs.latest()                  # tickers x FEATURE_ORDER on the last date

See ``_registry`` for groups, units and what was left out, ``_engine`` for the close-only and
causality guarantees, ``_technical`` / ``_macro`` / ``_interactions`` for the formulas and where they
deliberately differ from upstream, ``_rolling`` for the window-local rolling arithmetic.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
