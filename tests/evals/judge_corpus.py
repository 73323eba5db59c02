"""Planted decisions for the EvalJudge tests: one good decision per agent family (every rubric
check passes), built as research captures them (``research/_orchestrate.py``)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from alpha_engine.research import DecisionArtifact
from alpha_engine.store import ArtifactStore

FEATURES = {"AAA": {"momentum_20d_zscore": 1.0}, "BBB": {"momentum_20d_zscore": 0.5},
            "CCC": {"momentum_20d_zscore": -0.2}}


def good() -> dict[str, tuple[str, dict[str, Any], dict[str, Any]]]:
    """family -> (agent_id, snapshot, output)."""
    quant_top = [{"ticker": t, "quant_score": s, "factors": {"momentum": f}, "rationale": f"{t} momentum"}
                 for t, s, f in (("AAA", 70.0, 1.0), ("BBB", 60.0, 0.5), ("CCC", 45.0, -0.2))]
    return {
        "sector_quant": ("sector_quant:tech", {"tickers": ["AAA", "BBB", "CCC"], "held": [], "regime": "bull",
                                                "features": FEATURES},
                         {"team": "tech", "top": quant_top}),
        "sector_qual": ("sector_qual:tech", {"quant_top5": ["AAA", "BBB", "CCC"], "evidence_k": 3, "evidence": {
            "AAA": [{"chunk_id": "c1", "source_id": "s1", "score": 0.9, "excerpt": "x"}], "BBB": [], "CCC": []}},
                        {"team": "tech", "assessments": [
                            {"ticker": "AAA", "qual_score": 70.0, "conviction": 25.0, "evidence": ["c1 | s1 | 0.9 | x"],
                             "note": "one source"},
                            {"ticker": "BBB", "qual_score": None, "conviction": None, "evidence": [],
                             "note": "no evidence retrieved"}], "extra_candidates": [], "note": "evidence for 1 of 2"}),
        "sector_peer_review": ("sector_peer_review:tech", {"quant": {"team": "tech", "top": quant_top}, "qual": {}},
                               {"team": "tech", "picks": ["AAA", "BBB"], "rationale": "top 2"}),
        "macro_economist": ("macro_economist", {"regime_substrate": {"label": "bull"}, "sector_of": {
            "AAA": "Information Technology", "BBB": "Utilities"}},
                            {"market_regime": "bull", "sector_modifiers": {"Information Technology": 1.1,
                                                                           "Utilities": 0.95},
                             "sector_ratings": {
                                 "Information Technology": {"rating": "overweight", "modifier": 1.1, "rationale": "up"},
                                 "Utilities": {"rating": "market_weight", "modifier": 0.95, "rationale": "flat"}},
                             "rationale": "bull"}),
        "ic_cio": ("ic_cio", {"picks": [{"ticker": "AAA", "final_score": 72.0}, {"ticker": "BBB", "final_score": 61.0}],
                              "population": []},
                   {"decisions": [{"ticker": "AAA", "decision": "ADVANCE", "rank": 1, "conviction": 72.0,
                                   "rationale": "BUY", "rule_tags": []},
                                  {"ticker": "BBB", "decision": "REJECT", "rank": 2, "conviction": 61.0,
                                   "rationale": "HOLD", "rule_tags": []}], "rationale": "1 new entrant"}),
        "thesis_update": ("thesis_update:tech:AAA", {"prior": None, "score": 72.0, "sector_rating": "overweight",
                                                     "features": {}},
                          {"ticker": "AAA", "team": "tech", "triggers": ["no prior thesis"],
                           "thesis_summary": "held; final score 72.0", "conviction": "stable"}),
    }


LLM_META = {"model_name": "claude-haiku-4-5", "model_version": "claude-haiku-4-5-20251001", "input_tokens": 10,
            "output_tokens": 5, "cost_usd": 0.0, "run_type": "weekly_research", "node_name": "n",
            "prompt_id": "p", "prompt_version": "1"}
LLM_PROMPT = {"system_prompt": "s", "user_prompt": "u", "tool_definitions": [], "prompt_version_hash": "h"}


def decision(agent_id: str, snapshot: dict[str, Any], output: dict[str, Any], *, day: date, run_id: str,
             llm: bool) -> DecisionArtifact:
    return DecisionArtifact(run_id=run_id, timestamp=f"{day.isoformat()}T00:00:00Z", agent_id=agent_id,
                            node_name="n", backend="llm" if llm else "deterministic",
                            rule_set=None if llm else "rules/2", model_metadata=LLM_META if llm else None,
                            full_prompt_context=LLM_PROMPT if llm else None, input_data_snapshot=copy.deepcopy(snapshot),
                            input_data_summary="planted", input_data_truncated_at=None, truncated_fields=[],
                            agent_output=copy.deepcopy(output), data_snapshot_id="snap")


def key_of(d: DecisionArtifact, day: date) -> str:
    return f"decision_artifacts/{day.year:04d}/{day.month:02d}/{day.day:02d}/{d.agent_id}/{d.run_id}.json"


def plant(store: ArtifactStore, day: date, *, llm: bool, families: tuple[str, ...] | None = None,
          run_id: str | None = None) -> list[str]:
    """One good decision per family (or ``families``) captured on ``day``; returns their keys."""
    keys = []
    for family, (agent_id, snapshot, output) in sorted(good().items()):
        if families is not None and family not in families:
            continue
        d = decision(agent_id, snapshot, output, day=day, run_id=run_id or f"{day.isoformat()}-r", llm=llm)
        keys.append(key_of(d, day))
        store.write_json(keys[-1], d.model_dump(mode="json"))
    return keys
