"""Per-call cost telemetry: every model call of a research run as one JSON line.

``decision_artifacts/_cost_raw/{run_date}/{run_id}/{agent_id}.jsonl`` (:data:`COST_RAW`), one file
per agent, one line per call in call order, with upstream's columns (reference modules.md §3.6)
plus ``provider`` (our price table is keyed by provider; upstream priced Anthropic only). Written
only by a run with an LLM backend: the deterministic backend makes no calls and a dry run writes
nothing. The bytes are deterministic: ``timestamp`` is the run date at 00:00 UTC (as decision
capture's is), the lines are canonical JSON, and ``call_seq`` numbers the run's calls from 1.
AggregateCosts reads these files and recomputes the dollars from the tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from ._artifacts import COST_RAW

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore

__all__ = ["COST_COLUMNS", "COST_SCHEMA_VERSION", "cost_telemetry_files", "write_cost_telemetry"]

COST_SCHEMA_VERSION = 1
COST_COLUMNS = ("schema_version", "timestamp", "run_id", "agent_id", "sector_team_id", "node_name", "run_type",
                "prompt_id", "prompt_version", "prompt_version_hash", "provider", "model_name", "call_seq",
                "input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens", "web_search_requests",
                "web_fetch_requests", "cost_usd")


def cost_telemetry_files(calls: Sequence[Mapping[str, Any]], run_date: date, run_id: str) -> dict[str, bytes]:
    """Key -> JSONL bytes of each agent's calls (an agent with no call has no file)."""
    stamp = f"{run_date.isoformat()}T00:00:00Z"
    by_agent: dict[str, list[str]] = {}
    for call in calls:
        row = {"schema_version": COST_SCHEMA_VERSION, "timestamp": stamp, "run_id": run_id, **call}
        missing = sorted(set(COST_COLUMNS) - set(row))
        extra = sorted(set(row) - set(COST_COLUMNS))
        if missing or extra:
            raise ValueError(f"cost telemetry row of {call.get('agent_id')}: missing {missing}, unexpected {extra}")
        key = COST_RAW.format(run_date, run_id=run_id, agent_id=str(call["agent_id"]))
        COST_RAW.validate(row, key=key)  # each line's contract (cost_raw_line.schema.json)
        line = json.dumps({c: row[c] for c in COST_COLUMNS}, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False)
        by_agent.setdefault(key, []).append(line)
    return {key: ("\n".join(lines) + "\n").encode("utf-8") for key, lines in sorted(by_agent.items())}


def write_cost_telemetry(store: ArtifactStore, calls: Sequence[Mapping[str, Any]], run_date: date,
                         run_id: str) -> list[str]:
    """Write the run's telemetry files (each temp-then-rename by the store); the keys written."""
    files = cost_telemetry_files(calls, run_date, run_id)
    for key, data in files.items():
        store.write_bytes(key, data)
    return list(files)
