"""Market data: providers, the feature engine, quality gates, the ingest, and the data stages
(MorningEnrich, DataPhase1, Scanner) with the artifacts they produce.

The market store, the trading calendar and the bar schema are shared by every domain and live
in :mod:`alpha_engine.store`. Names load lazily (the list is ``__init__.pyi``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
