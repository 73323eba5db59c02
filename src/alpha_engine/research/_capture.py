"""Decision capture: every agent decision of a research run as one JSON artifact.

``decision_artifacts/{YYYY}/{MM}/{DD}/{agent_id}/{run_id}.json`` (:data:`DECISION_ARTIFACT`). The
date is the run date (the run's logical capture date: a rerun overwrites its own artifacts, and
two runs of the same inputs write the same bytes); ``timestamp`` is the run date at 00:00 UTC for
the same reason (the stage's wall-clock time is in its health marker).

``model_metadata`` and ``full_prompt_context`` are both set (an LLM decision) or both absent (a
deterministic one). The deterministic backend leaves both absent and names its rule set in
``input_data_summary`` and ``rule_set``. The input snapshot is capped at
:data:`SNAPSHOT_CAP_BYTES` of canonical JSON by :func:`truncate_snapshot`. A write that fails
raises :class:`DecisionCaptureWriteError`: a decision is never silently lost.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ._artifacts import DECISION_ARTIFACT
from ._errors import DecisionCaptureWriteError

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore

__all__ = ["SNAPSHOT_CAP_BYTES", "DecisionArtifact", "DecisionRecorder", "truncate_snapshot"]

SNAPSHOT_CAP_BYTES = 1_048_576  # 1 MiB of canonical JSON


def _size(value: Any) -> int:
    return len(json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def truncate_snapshot(snapshot: dict[str, Any], cap: int = SNAPSHOT_CAP_BYTES) -> tuple[dict[str, Any], list[str]]:
    """``snapshot`` within ``cap`` bytes: the largest top-level field is replaced, again and again,
    by ``{"_truncated": true, "original_field": name, "original_size_bytes": n}``. Returns the
    snapshot and the fields truncated (in order)."""
    out = dict(snapshot)
    truncated: list[str] = []
    while _size(out) > cap:
        candidates = [k for k in sorted(out) if k not in truncated]
        if not candidates:
            raise DecisionCaptureWriteError(f"input snapshot: {len(out)} truncation markers alone exceed {cap} bytes")
        largest = max(candidates, key=lambda k: (_size(out[k]), k))
        out[largest] = {"_truncated": True, "original_field": largest, "original_size_bytes": _size(out[largest])}
        truncated.append(largest)
    return out, truncated


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelMetadata(_Closed):
    model_name: str
    model_version: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_create_tokens: int = 0
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    cost_usd: float
    run_type: Literal["weekly_research", "morning", "EOD"]
    node_name: str
    sector_team_id: str | None = None
    prompt_id: str
    prompt_version: str


class FullPromptContext(_Closed):
    system_prompt: str
    user_prompt: str
    tool_definitions: list[dict[str, Any]]
    prompt_version_hash: str


class DecisionArtifact(_Closed):
    """One captured decision (see module docstring)."""

    schema_version: Literal[2] = 2
    run_id: str
    timestamp: str
    agent_id: str
    node_name: str
    backend: str
    rule_set: str | None
    model_metadata: ModelMetadata | None = None
    full_prompt_context: FullPromptContext | None = None
    input_data_snapshot: dict[str, Any]
    input_data_summary: str
    input_data_truncated_at: int | None
    truncated_fields: list[str]
    agent_output: dict[str, Any]
    code_sha: str | None = None
    data_snapshot_id: str

    @model_validator(mode="after")
    def _both_or_neither(self) -> DecisionArtifact:
        if (self.model_metadata is None) != (self.full_prompt_context is None):
            raise ValueError(f"decision {self.agent_id}/{self.run_id}: model_metadata and full_prompt_context "
                             "must both be set (an LLM decision) or both be absent (a deterministic one)")
        return self

    def is_llm_decision(self) -> bool:
        return self.model_metadata is not None


class DecisionRecorder:
    """Writes one run's decisions. ``enabled=False`` (a dry run) writes nothing and keeps nothing."""

    def __init__(self, store: ArtifactStore, run_date: date, run_id: str, *, backend: str,
                 rule_set: str | None, data_snapshot_id: str, enabled: bool = True) -> None:
        self.store = store
        self.run_date = run_date
        self.run_id = run_id
        self.backend = backend
        self.rule_set = rule_set
        self.data_snapshot_id = data_snapshot_id
        self.enabled = enabled
        self.keys_: list[str] = []

    def key(self, agent_id: str) -> str:
        d = self.run_date
        return DECISION_ARTIFACT.format(yyyy=f"{d.year:04d}", mm=f"{d.month:02d}", dd=f"{d.day:02d}",
                                        agent_id=agent_id, run_id=self.run_id)

    def capture(self, agent_id: str, node_name: str, snapshot: dict[str, Any], output: BaseModel | dict[str, Any],
                *, model_metadata: dict[str, Any] | None = None,
                prompt_context: dict[str, Any] | None = None) -> DecisionArtifact | None:
        """Build, validate and write one decision; DecisionCaptureWriteError if it cannot be written."""
        if not self.enabled:
            return None
        capped, truncated = truncate_snapshot(snapshot)
        inputs = ", ".join(sorted(snapshot))
        if model_metadata is not None:
            summary = f"{self.backend}; inputs: {inputs}"
        elif self.rule_set is not None:
            summary = f"deterministic rules {self.rule_set} (docs/research.md); inputs: {inputs}"
        else:  # a deterministic node (score aggregator, population handler, signal builder) of an LLM run
            summary = f"deterministic node of a {self.backend} run (docs/research.md); inputs: {inputs}"
        artifact = DecisionArtifact(
            run_id=self.run_id, timestamp=f"{self.run_date.isoformat()}T00:00:00Z", agent_id=agent_id,
            node_name=node_name, backend=self.backend, rule_set=self.rule_set,
            model_metadata=None if model_metadata is None else ModelMetadata(**model_metadata),
            full_prompt_context=None if prompt_context is None else FullPromptContext(**prompt_context),
            input_data_snapshot=capped, input_data_summary=summary,
            input_data_truncated_at=SNAPSHOT_CAP_BYTES if truncated else None, truncated_fields=truncated,
            agent_output=output.model_dump(mode="json") if isinstance(output, BaseModel) else output,
            data_snapshot_id=self.data_snapshot_id)
        key = self.key(agent_id)
        try:
            self.store.write_json(key, artifact.model_dump(mode="json"))
        except Exception as exc:
            raise DecisionCaptureWriteError(f"decision capture: cannot write {key} for {agent_id}: "
                                            f"{type(exc).__name__}: {exc}") from exc
        self.keys_.append(key)
        return artifact
