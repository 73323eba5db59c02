"""Backtesting the executor's rules: one rules module, a scalar reference simulator, a vectorized
(numba) kernel held to the reference trade for trade, and the statistics of a result."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
