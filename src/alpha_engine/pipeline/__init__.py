"""The pipeline framework, knowing no domain: the stage contract and its context, resources,
the stage graph and its checks, the composer (graph -> ASL), the stage runner, log capture and
the local pipeline (run, status, redrive, resume on the embedded runtime).

Names load lazily (the list is ``__init__.pyi``), so a stage process that only runs a stage
never imports the Step Functions runtime.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
