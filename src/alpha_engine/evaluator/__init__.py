"""The Evaluator: grades the stored signals, predictions and backtest results of past weeks
against realised outcomes, keeps the A-F scorecard's history and writes the weekly HTML report."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
