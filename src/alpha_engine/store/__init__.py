"""The store layer every domain shares.

* :class:`ArtifactStore`: every stage reads and writes its outputs through it. Artifacts live
  under POSIX keys (``health/data-phase1.json``) in a local directory, on S3
  (``s3://bucket/prefix``, needs ``s3fs``) or in fsspec's ``memory://`` file system (tests).
  Writes are atomic; JSON is written canonically and checked against the contract (JSON Schema)
  registered for its key, on write and on read.
* :class:`MarketStore`: daily bars and features in ArcticDB (LMDB locally, S3 when configured),
  with its single-writer :class:`WriterLock`.
* :class:`TradingCalendar` and the bar schema (:data:`PRICE_COLUMNS`, ticker frames, panels).

Names load lazily (the list is ``__init__.pyi``): a light stage that only needs the artifact
store never imports ArcticDB, pandas or exchange_calendars.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
