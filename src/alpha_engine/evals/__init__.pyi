from ._artifacts import (
    COST_TABLE,
    COUNTERFACTUAL,
    COUNTERFACTUAL_LATEST,
    EVAL_JUDGMENT,
    EVAL_MANIFEST,
    EVAL_PLAN,
    EVAL_ROLLING_MEAN,
    RATIONALE_ANALYSIS,
    REPLAY_LATEST,
    REPLAY_SUMMARY,
)
from ._corpus import (
    DECISIONS_ROOT,
    META_SUBTREES,
    CapturedKey,
    CorpusScan,
    agent_base,
    day_prefix,
    load_decision,
    parse_captured_key,
    scan_window,
)
from ._dry_run import dry_run_llm, dry_run_outcome
from ._errors import CorpusError, EvalError, EvalInputError, EvalJudgeError
from ._judge_llm import LlmJudgeOutput, parse_judge_output
from ._judge_rubric import AGENT_FAMILIES, RUBRIC_JUDGE, rubric_judge
from ._judge_stage import EvalJudge, EvalJudgeOptions
from ._rolling_mean import rolling_mean
from ._rolling_mean_stage import EvalRollingMean, EvalRollingMeanOptions

__all__ = [
    "AGENT_FAMILIES",
    "COST_TABLE",
    "COUNTERFACTUAL",
    "COUNTERFACTUAL_LATEST",
    "CapturedKey",
    "CorpusError",
    "CorpusScan",
    "DECISIONS_ROOT",
    "EVAL_JUDGMENT",
    "EVAL_MANIFEST",
    "EVAL_PLAN",
    "EVAL_ROLLING_MEAN",
    "EvalError",
    "EvalInputError",
    "EvalJudge",
    "EvalJudgeError",
    "EvalJudgeOptions",
    "EvalRollingMean",
    "EvalRollingMeanOptions",
    "LlmJudgeOutput",
    "META_SUBTREES",
    "RATIONALE_ANALYSIS",
    "REPLAY_LATEST",
    "REPLAY_SUMMARY",
    "RUBRIC_JUDGE",
    "agent_base",
    "day_prefix",
    "dry_run_llm",
    "dry_run_outcome",
    "load_decision",
    "parse_captured_key",
    "parse_judge_output",
    "rolling_mean",
    "rubric_judge",
    "scan_window",
]
