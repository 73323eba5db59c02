"""SEC EDGAR: the ticker -> CIK map, a company's filings, filing documents, XBRL company facts
and insider transactions (Form 4), over the one retried, rate-limited HTTP client.

``EdgarClient(identity)`` is the entry point; SEC's fair-access policy requires a declared
``User-Agent`` ("Name email") and at most 10 requests per second. Names load lazily (the list is
``__init__.pyi``).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
