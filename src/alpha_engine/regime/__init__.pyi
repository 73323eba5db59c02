from ._artifacts import LATEST_REGIME, REGIME_RETROSPECTIVE, REGIME_SUBSTRATE
from ._bocpd import NormalGammaPrior, bocpd_run_length, change_probability
from ._composite import composite_zscore
from ._errors import RegimeError, RegimeHistoryError, RegimeInputError
from ._hmm import STATE_LABELS, RegimeHMM, fit_regime_hmm
from ._inputs import MACRO_INPUTS, RegimeInputs, load_regime_inputs, weekly_inputs
from ._options import REGIME_ACTIONS, RegimeRetrospectiveOptions, RegimeSubstrateOptions
from ._retrospective import RegimeCall, build_retrospective, score_calls
from ._stages import RegimeRetrospectiveEval, RegimeSubstrate
from ._substrate import build_substrate

__all__ = [
    "LATEST_REGIME",
    "MACRO_INPUTS",
    "REGIME_ACTIONS",
    "REGIME_RETROSPECTIVE",
    "REGIME_SUBSTRATE",
    "STATE_LABELS",
    "NormalGammaPrior",
    "RegimeCall",
    "RegimeError",
    "RegimeHMM",
    "RegimeHistoryError",
    "RegimeInputError",
    "RegimeInputs",
    "RegimeRetrospectiveEval",
    "RegimeRetrospectiveOptions",
    "RegimeSubstrate",
    "RegimeSubstrateOptions",
    "bocpd_run_length",
    "build_retrospective",
    "build_substrate",
    "change_probability",
    "composite_zscore",
    "fit_regime_hmm",
    "load_regime_inputs",
    "score_calls",
    "weekly_inputs",
]
