"""The predictor: honest walk-forward training, challenger/champion registry, inference, drift;
stages PredictorTraining and DriftDetection."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
