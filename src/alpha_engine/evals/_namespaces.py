"""The metric namespaces the eval chain emits to (upstream's names; the alarms watch them)."""

from __future__ import annotations

__all__ = ["COST_NAMESPACE", "EVAL_NAMESPACE"]

# Judge scores, their 4-week means, template concentration, cheap-model concordance, rule fit.
EVAL_NAMESPACE = "AlphaEngine/Eval"
# LLM spend and tokens per agent (AggregateCosts).
COST_NAMESPACE = "AlphaEngine/Cost"
