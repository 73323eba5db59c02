from ._artifacts import (
    CONFIG_CHANGES,
    EVALUATION,
    EVALUATION_REPORT,
    GRADE_HISTORY,
    METRICS_HISTORY,
    PROMOTION_BASELINE,
)
from ._autoapply import (
    PREDICTOR_REC_FIELDS,
    Decision,
    RegressionCheck,
    auto_apply,
    check_regression,
    decide_executor,
    decide_veto,
    read_predictor_rec,
)
from ._completeness import MODULE_STATUSES, CompletenessTracker, ModuleReport, ModuleResult, SkipModule
from ._config_book import CHANGE_ACTIONS, CONFIG_KEYS, ConfigBook, ConfigKey
from ._errors import (
    ConfigChangeError,
    EvaluatorError,
    EvaluatorInputError,
    InsufficientDataError,
    LookAheadError,
)
from ._evaluate import MODULES, evaluate
from ._history import History, check_outcome_alignment, forward_outcomes, load_history
from ._inputs import EvaluationInputs
from ._options import AutoApplyOptions, EvaluatorOptions
from ._report import render_report
from ._scorecard import (
    compute_scorecard,
    grade_component,
    ic_to_grade,
    letter,
    lift_to_grade,
    pct_to_grade,
    update_grade_history,
)
from ._stages import Evaluator
from ._stats import (
    benjamini_hochberg,
    expected_calibration_error,
    hac_mean_interval,
    proportion_pvalue,
    rank_ic,
    reliability_table,
    wilson_interval,
)

__all__ = [
    "AutoApplyOptions",
    "CHANGE_ACTIONS",
    "CONFIG_CHANGES",
    "CONFIG_KEYS",
    "CompletenessTracker",
    "ConfigBook",
    "ConfigChangeError",
    "ConfigKey",
    "Decision",
    "EVALUATION",
    "EVALUATION_REPORT",
    "EvaluationInputs",
    "Evaluator",
    "EvaluatorError",
    "EvaluatorInputError",
    "EvaluatorOptions",
    "GRADE_HISTORY",
    "History",
    "InsufficientDataError",
    "LookAheadError",
    "METRICS_HISTORY",
    "MODULES",
    "MODULE_STATUSES",
    "ModuleReport",
    "ModuleResult",
    "PREDICTOR_REC_FIELDS",
    "PROMOTION_BASELINE",
    "RegressionCheck",
    "SkipModule",
    "auto_apply",
    "benjamini_hochberg",
    "check_outcome_alignment",
    "check_regression",
    "compute_scorecard",
    "decide_executor",
    "decide_veto",
    "evaluate",
    "expected_calibration_error",
    "forward_outcomes",
    "grade_component",
    "hac_mean_interval",
    "ic_to_grade",
    "letter",
    "lift_to_grade",
    "load_history",
    "pct_to_grade",
    "proportion_pvalue",
    "rank_ic",
    "read_predictor_rec",
    "reliability_table",
    "render_report",
    "update_grade_history",
    "wilson_interval",
]
