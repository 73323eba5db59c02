"""Research: the sector-team research stage, its agent interface and deterministic backend,
decision capture, the dry-run quarantine and research.db (see docs/research.md)."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
