"""Alarms over the metrics store, declared in code and evaluated with CloudWatch's semantics."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
