"""The market regime: a weekly 3-state call (HMM, composite z-score, BOCPD) and its retrospective
scoring; stages RegimeSubstrate and RegimeRetrospectiveEval."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
