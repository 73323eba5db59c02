"""The artifacts the eval chain's stages produce (consumers import these constants).

Every eval artifact lives in a meta subtree of ``decision_artifacts/`` whose first segment starts
with ``_`` (:data:`alpha_engine.evals.META_SUBTREES`), so a corpus scan of captured decisions
(``decision_artifacts/{YYYY}/{MM}/{DD}/...``) never lists them.
"""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = [
    "COST_TABLE",
    "COUNTERFACTUAL",
    "COUNTERFACTUAL_LATEST",
    "EVAL_JUDGMENT",
    "EVAL_MANIFEST",
    "EVAL_PLAN",
    "EVAL_ROLLING_MEAN",
    "RATIONALE_ANALYSIS",
    "REPLAY_LATEST",
    "REPLAY_SUMMARY",
]

_PACKAGE = __package__ or ""

EVAL_JUDGMENT: Artifact = Artifact(
    "decision_artifacts/_eval/{date}/{judge_run_id}/{judgment_id}.json", schema="eval_judgment.schema.json",
    package=_PACKAGE,
    description="EvalJudge: one judge's scores (1-5 per rubric dimension, with reasons) of one captured decision; "
                "judgment_id = {judged_agent_id}.{judged_run_id}.{judge_model}",
)
EVAL_MANIFEST: Artifact = Artifact(
    "decision_artifacts/_eval_by_capture/{date}/manifest.json", schema="eval_manifest.schema.json",
    package=_PACKAGE,
    description="EvalJudge: per capture date, every decision judged, by which judges, and where the judgment is",
)
EVAL_PLAN: Artifact = Artifact(
    "decision_artifacts/_eval_plan/{date}/plan.json", schema="eval_plan.schema.json", package=_PACKAGE,
    description="EvalJudge Submit: the Message Batch it created (id, model, prompt version) and the decision each "
                "request judges, read by Process (written only when an anthropic batch is submitted)",
)
EVAL_ROLLING_MEAN: Artifact = Artifact(
    "decision_artifacts/_eval_rolling/{date}.json", schema="eval_rolling_mean.schema.json", package=_PACKAGE,
    description="EvalRollingMean: the 28-day mean score per agent and dimension, and its minimum (alarmed below 3.0)",
)
RATIONALE_ANALYSIS: Artifact = Artifact(
    "decision_artifacts/_analysis/{agent_id}/{iso_week}.json", schema="rationale_analysis.schema.json",
    package=_PACKAGE,
    description="RationaleClustering: one agent's rationale clusters over 56 days and its template concentration",
)
REPLAY_SUMMARY: Artifact = Artifact(
    "decision_artifacts/_replay_summary/{date}/{target_model}.json", schema="replay_summary.schema.json",
    package=_PACKAGE,
    description="ReplayConcordance: per agent, how often a cheaper target model decides as the agent did",
)
REPLAY_LATEST: Artifact = Artifact(
    "decision_artifacts/_replay_summary/latest.json", schema="replay_latest.schema.json", package=_PACKAGE,
    description="ReplayConcordance: the latest summary key per target model",
)
COUNTERFACTUAL: Artifact = Artifact(
    "decision_artifacts/_counterfactual/{agent_id}/runs/{run_id}.json", schema="counterfactual.schema.json",
    package=_PACKAGE,
    description="Counterfactual: how well a depth-3 decision tree reproduces one agent's decisions (tree, importances)",
)
COUNTERFACTUAL_LATEST: Artifact = Artifact(
    "decision_artifacts/_counterfactual/{agent_id}/latest.json", schema="counterfactual.schema.json",
    package=_PACKAGE,
    description="Counterfactual: a copy of the agent's latest rule fit",
)
COST_TABLE: Artifact = Artifact(
    "decision_artifacts/_cost/{date}/cost.parquet", schema="cost_table_row.schema.json", package=_PACKAGE,
    description="AggregateCosts: the run date's LLM calls, one row each, dollars recomputed from the dated price table. Parquet: the schema is each row's",
)
