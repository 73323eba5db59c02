"""AggregateCosts' logic: the run date's per-call cost telemetry as one table, dollars recomputed.

Research's LLM backend writes one JSON line per model call to
``decision_artifacts/_cost_raw/{date}/{run_id}/{agent_id}.jsonl``
(:data:`alpha_engine.research.COST_RAW`). :func:`read_cost_calls` lists only that date's prefix,
one level at a time (runs, then their agent files), and validates every line; a malformed line
is an :class:`EvalInputError` naming the file and the line, before anything is written.

Tokens are canonical (upstream's rule): :func:`price_calls` recomputes each call's dollars from the
dated price table (``research/data/llm_prices.json``) with the card in effect on the call's date,
and reports every call whose recorded ``cost_usd`` differs. :func:`cost_table_bytes` writes the
rows as Parquet with a fixed schema and row order, so the same rows give the same bytes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import EvalInputError
from ._namespaces import COST_NAMESPACE

if TYPE_CHECKING:
    from alpha_engine.research import PriceTable
    from alpha_engine.store import ArtifactStore, Datapoint

__all__ = ["CostCall", "PricedCalls", "cost_datapoints", "cost_table_bytes", "price_calls",
           "raw_prefix", "read_cost_calls"]

RAW_ROOT = "decision_artifacts/_cost_raw/"
MISMATCH_TOLERANCE_USD = 1e-8  # the recorded cost is rounded to 8 decimals
MAX_EXAMPLES = 5


class CostCall(BaseModel):
    """One line of the cost telemetry (research._cost_telemetry.COST_COLUMNS). ``provider`` is our
    column (upstream priced Anthropic only): a line without it is an Anthropic call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    timestamp: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T")
    run_id: str
    agent_id: str
    sector_team_id: str | None
    node_name: str
    run_type: str
    prompt_id: str
    prompt_version: str
    prompt_version_hash: str
    provider: str = "anthropic"
    model_name: str
    call_seq: int = Field(ge=1)
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_read_tokens: int = Field(ge=0)
    cache_create_tokens: int = Field(ge=0)
    web_search_requests: int = Field(ge=0)
    web_fetch_requests: int = Field(ge=0)
    cost_usd: float

    @property
    def call_date(self) -> date:
        return date.fromisoformat(self.timestamp[:10])


def raw_prefix(run_date: date) -> str:
    """``decision_artifacts/_cost_raw/{YYYY-MM-DD}/``: one date's telemetry."""
    return f"{RAW_ROOT}{run_date.isoformat()}/"


def read_cost_calls(store: ArtifactStore, run_date: date) -> tuple[list[tuple[str, CostCall]], list[str]]:
    """Every call of ``run_date``'s telemetry as (file key, call), and the files read, both sorted.
    Lists only the date's prefix (runs, then each run's ``.jsonl`` files). EvalInputError naming
    the file and line of the first malformed line."""
    prefix = raw_prefix(run_date)
    files = [f"{prefix}{run}/{name}" for run in store.children(prefix)
             for name in store.children(f"{prefix}{run}/") if name.endswith(".jsonl")]
    calls: list[tuple[str, CostCall]] = []
    for key in sorted(files):
        text = store.read_bytes(key).decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                calls.append((key, CostCall.model_validate(json.loads(line))))
            except (ValueError, ValidationError) as exc:
                why = _why(exc)
                raise EvalInputError(
                    f"AggregateCosts: {key} line {number} is not a valid cost record: {why}; {len(calls)} "
                    f"call(s) read before it, nothing written. Fix or remove the line (the writer is Research's "
                    f"LLM backend, research/_cost_telemetry.py), then rerun aggregate-costs") from None
    return calls, sorted(files)


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(line)"
        return f"{where}: {first['msg']}"
    return f"not JSON ({exc})"


@dataclass
class PricedCalls:
    """The calls with their recomputed dollars, and the recorded costs that disagree."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    mismatches: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_usd(self) -> float:
        return round(float(sum(r["cost_usd"] for r in self.rows)), 8)


def price_calls(calls: Sequence[tuple[str, CostCall]], prices: PriceTable) -> PricedCalls:
    """Recompute each call's dollars (tokens at the card in effect on the call's date). EvalInputError
    naming the model and the price file when a model has no price then."""
    from alpha_engine.research import LlmConfigError

    out = PricedCalls()
    for key, call in sorted(calls, key=lambda kc: (kc[1].run_id, kc[1].agent_id, kc[1].call_seq, kc[0])):
        try:
            card = prices.price(call.provider, call.model_name, call.call_date)
            cost = prices.cost(call.provider, call.model_name, call, call.call_date)
        except LlmConfigError as exc:
            raise EvalInputError(f"AggregateCosts: {key} call_seq {call.call_seq}: {exc}; nothing written") from None
        row = {**call.model_dump(), "recorded_cost_usd": call.cost_usd, "cost_usd": cost,
               "price_effective_from": str(card["effective_from"]), "source_key": key}
        if abs(cost - call.cost_usd) > MISMATCH_TOLERANCE_USD:
            out.mismatches += 1
            if len(out.examples) < MAX_EXAMPLES:
                out.examples.append({"key": key, "call_seq": call.call_seq, "model_name": call.model_name,
                                     "recorded_cost_usd": call.cost_usd, "recomputed_cost_usd": cost})
        out.rows.append(row)
    return out


_STRING = ("timestamp", "run_id", "agent_id", "sector_team_id", "node_name", "run_type", "prompt_id",
           "prompt_version", "prompt_version_hash", "provider", "model_name")
_INT = ("schema_version", "call_seq", "input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens",
        "web_search_requests", "web_fetch_requests")
_FLOAT = ("cost_usd", "recorded_cost_usd")
_TAIL = ("price_effective_from", "source_key")


def cost_table_bytes(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as Parquet: fixed column order and types, rows in the given order, no pandas
    metadata, no statistics timestamps; the same rows always give the same bytes (for one pyarrow
    version, whose name the file's ``created_by`` records)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([*(pa.field(c, pa.string()) for c in _STRING), *(pa.field(c, pa.int64()) for c in _INT),
                        *(pa.field(c, pa.float64()) for c in _FLOAT), *(pa.field(c, pa.string()) for c in _TAIL)])
    table = pa.Table.from_pylist([{c: r[c] for c in schema.names} for r in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=False)
    return sink.getvalue()


def cost_datapoints(rows: Sequence[dict[str, Any]], timestamp: Any) -> list[Datapoint]:
    """``AlphaEngine/Cost`` per agent (dimension ``agent_id``): ``llm_cost_usd`` (recomputed),
    ``llm_calls`` and the four token counts."""
    from alpha_engine.store import Datapoint

    sums: dict[str, dict[str, float]] = {}
    for r in rows:
        s = sums.setdefault(r["agent_id"], dict.fromkeys(
            ("llm_cost_usd", "llm_calls", "input_tokens", "output_tokens", "cache_read_tokens",
             "cache_create_tokens"), 0.0))
        s["llm_cost_usd"] += r["cost_usd"]
        s["llm_calls"] += 1
        for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens"):
            s[k] += r[k]
    units = {"llm_cost_usd": "None", "llm_calls": "Count"}
    return [Datapoint.of(COST_NAMESPACE, name, round(value, 8), {"agent_id": agent}, timestamp,
                         unit=units.get(name, "Count"))
            for agent, s in sorted(sums.items()) for name, value in s.items()]
