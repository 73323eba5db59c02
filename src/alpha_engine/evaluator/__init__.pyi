from ._artifacts import EVALUATION, EVALUATION_REPORT, GRADE_HISTORY
from ._completeness import MODULE_STATUSES, CompletenessTracker, ModuleReport, ModuleResult, SkipModule
from ._errors import EvaluatorError, EvaluatorInputError, InsufficientDataError, LookAheadError
from ._evaluate import MODULES, evaluate
from ._factor import (
    FactorReport,
    HorizonReport,
    check_forward_returns,
    cross_sectional_ic,
    factor_report,
    forward_returns,
)
from ._history import History, check_outcome_alignment, forward_outcomes, load_history
from ._inputs import EvaluationInputs
from ._options import EvaluatorOptions
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
    "EVALUATION",
    "EVALUATION_REPORT",
    "GRADE_HISTORY",
    "MODULES",
    "MODULE_STATUSES",
    "CompletenessTracker",
    "EvaluationInputs",
    "Evaluator",
    "EvaluatorError",
    "EvaluatorInputError",
    "EvaluatorOptions",
    "FactorReport",
    "History",
    "HorizonReport",
    "InsufficientDataError",
    "LookAheadError",
    "ModuleReport",
    "ModuleResult",
    "SkipModule",
    "benjamini_hochberg",
    "check_forward_returns",
    "check_outcome_alignment",
    "compute_scorecard",
    "cross_sectional_ic",
    "evaluate",
    "expected_calibration_error",
    "factor_report",
    "forward_outcomes",
    "forward_returns",
    "grade_component",
    "hac_mean_interval",
    "ic_to_grade",
    "letter",
    "lift_to_grade",
    "load_history",
    "pct_to_grade",
    "proportion_pvalue",
    "rank_ic",
    "reliability_table",
    "render_report",
    "update_grade_history",
    "wilson_interval",
]
