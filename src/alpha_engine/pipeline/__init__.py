"""The pipeline framework, knowing no domain: the stage contract and its context, resources,
the stage graph and its checks, the composer (graph -> ASL), the stage runner, log capture and
the local pipeline (run, status, redrive, resume on the embedded runtime).

Names load lazily (the list is ``__init__.pyi``), so a stage process that only runs a stage
imports the Step Functions runtime only for its lease check (``LeaseFence``), at its first write
under the local runtime: never under ``--preflight-only``, never when run by hand.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
