"""AggregateCosts: the run date's telemetry -> cost.parquet with recomputed dollars and per-agent
metrics; SKIPPED without telemetry; a malformed line or an unpriced model fails naming it and
writes nothing; only the date's prefix is read; the dry path touches nothing."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import (
    COST_TABLE,
    AggregateCosts,
    AggregateCostsOptions,
    cost_table_bytes,
    price_calls,
)
from alpha_engine.evals._costs import COST_NAMESPACE, read_cost_calls
from alpha_engine.pipeline import PipelineApp, StageContext, StageGraph, run_stage
from alpha_engine.research import PriceTable, write_cost_telemetry
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (AggregateCosts,)), resources=RESOURCES)


def _call(agent: str, seq: int, *, model: str = "claude-haiku-4-5", tokens: int = 1000, cost: float = 0.002,
          provider: str = "anthropic") -> dict[str, Any]:
    return {"agent_id": agent, "sector_team_id": None, "node_name": "n", "run_type": "weekly_research",
            "prompt_id": agent.split(":")[0], "prompt_version": "1.0.0", "prompt_version_hash": "h",
            "provider": provider, "model_name": model, "call_seq": seq, "input_tokens": tokens,
            "output_tokens": tokens // 5, "cache_read_tokens": 0, "cache_create_tokens": 0,
            "web_search_requests": 0, "web_fetch_requests": 0, "cost_usd": cost}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(workspace=tmp_path / "ws", env={})


def _store(settings: Settings) -> ArtifactStore:
    return APP.open_artifacts(settings, read_only=False)


def _run(settings: Settings, **kwargs: Any) -> Any:
    return run_stage("aggregate-costs", DAY, settings=settings, app=APP, now=lambda: NOW, **kwargs)


def _plant(store: ArtifactStore) -> None:
    # haiku at $1/$5 per Mtok: 1000 in + 200 out = $0.002; sonnet at $3/$15: 2000 in + 400 out = $0.012
    write_cost_telemetry(store, [_call("sector_quant:technology", 1), _call("ic_cio", 2, model="claude-sonnet-4-6",
                                                                            tokens=2000, cost=0.012),
                                 _call("sector_quant:technology", 3, cost=0.5)], DAY, f"{DAY}-research")
    write_cost_telemetry(store, [_call("ic_cio", 1, model="claude-sonnet-4-6", tokens=2000, cost=0.012)], DAY,
                         f"{DAY}-rerun")


def test_the_table_has_one_row_per_call_with_recomputed_dollars_and_metrics(settings: Settings) -> None:
    store = _store(settings)
    _plant(store)
    report = _run(settings)
    assert report.status == "ok", report.error
    summary = report.summary
    assert summary["status"] == "OK" and summary["calls"] == 4 and summary["runs"] == 2 and summary["agents"] == 2
    assert summary["cost_usd"] == pytest.approx(0.002 * 2 + 0.012 * 2)
    assert summary["cost_mismatches"]["count"] == 1  # the planted $0.50 for a $0.002 call
    example = summary["cost_mismatches"]["examples"][0]
    assert example["recorded_cost_usd"] == 0.5 and example["recomputed_cost_usd"] == pytest.approx(0.002)
    assert any("differs from the price table" in w for w in report.warnings)
    data = store.read_bytes(COST_TABLE.format(DAY))
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    assert [(r["run_id"], r["agent_id"], r["call_seq"]) for r in rows] == [
        ("2026-11-21-rerun", "ic_cio", 1), ("2026-11-21-research", "ic_cio", 2),
        ("2026-11-21-research", "sector_quant:technology", 1), ("2026-11-21-research", "sector_quant:technology", 3)]
    assert rows[3]["cost_usd"] == pytest.approx(0.002) and rows[3]["recorded_cost_usd"] == 0.5
    assert rows[0]["price_effective_from"] == "2020-01-01"
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    cost = metrics.datapoints(COST_NAMESPACE, "llm_cost_usd", {"agent_id": "sector_quant:technology"})
    assert [p.value for p in cost] == [pytest.approx(0.004)]
    assert [p.value for p in metrics.datapoints(COST_NAMESPACE, "input_tokens", {"agent_id": "ic_cio"})] == [4000.0]
    # a rerun over the same telemetry writes the same bytes
    assert _run(settings).status == "ok" and store.read_bytes(COST_TABLE.format(DAY)) == data


def test_parquet_bytes_are_stable_and_prices_follow_the_call_date() -> None:
    table = PriceTable.load(json.dumps({"as_of": "x", "source": "test", "models": {"anthropic": {"m": [
        {"effective_from": "2026-01-01", "input": 1.0, "output": 0.0},
        {"effective_from": "2026-11-21", "input": 2.0, "output": 0.0}]}}}))
    from alpha_engine.evals._costs import CostCall

    def call(day: str) -> tuple[str, CostCall]:
        return "k", CostCall.model_validate({"schema_version": 1, "timestamp": f"{day}T00:00:00Z", "run_id": day,
                                             **_call("a", 1, model="m", tokens=1_000_000, cost=1.0)})

    priced = price_calls([call("2026-11-20"), call("2026-11-21")], table)
    assert [r["cost_usd"] for r in priced.rows] == [1.0, 2.0] and priced.mismatches == 1
    assert cost_table_bytes(priced.rows) == cost_table_bytes(price_calls([call("2026-11-21"), call("2026-11-20")],
                                                                         table).rows)


def test_no_telemetry_is_skipped_and_writes_nothing(settings: Settings) -> None:
    store = _store(settings)
    write_cost_telemetry(store, [_call("ic_cio", 1)], date(2026, 11, 20), "other-day")  # another date: not read
    report = _run(settings)
    assert report.status == "ok" and report.summary["status"] == "SKIPPED"
    assert "no cost telemetry under decision_artifacts/_cost_raw/2026-11-21/" in report.summary["reason"]
    assert store.list("decision_artifacts/_cost/") == []


def test_a_malformed_line_fails_naming_file_and_line_and_writes_nothing(settings: Settings) -> None:
    store = _store(settings)
    _plant(store)
    key = "decision_artifacts/_cost_raw/2026-11-21/2026-11-21-research/ic_cio.jsonl"
    store.write_bytes(key, store.read_bytes(key) + b'{"schema_version": 1, "input_tokens": -3}\n')
    report = _run(settings)
    assert report.status != "ok"
    assert f"{key} line 2 is not a valid cost record" in (report.error or "")
    assert store.list("decision_artifacts/_cost/") == []
    store.write_bytes(key, b"not json\n")
    assert "line 1 is not a valid cost record: not JSON" in (_run(settings).error or "")


def test_an_unpriced_model_fails_naming_it_and_the_price_file(settings: Settings) -> None:
    store = _store(settings)
    write_cost_telemetry(store, [_call("ic_cio", 1, model="claude-mystery-9")], DAY, "r")
    report = _run(settings)
    assert report.status != "ok"
    assert "'claude-mystery-9'" in (report.error or "") and "research/data/llm_prices.json" in (report.error or "")
    assert store.list("decision_artifacts/_cost/") == []


def test_only_the_run_dates_prefix_is_listed(settings: Settings) -> None:
    store = _store(settings)
    _plant(store)
    store.write_bytes("decision_artifacts/_cost_raw/2026-11-20/r/ic_cio.jsonl", b"broken\n")  # never read
    listed: list[str] = []
    original = store.children

    def children(prefix: str = "") -> list[str]:
        listed.append(prefix)
        return original(prefix)

    store.children = children  # type: ignore[method-assign]
    calls, files = read_cost_calls(store, DAY)
    assert len(calls) == 4 and len(files) == 3
    assert all(p.startswith("decision_artifacts/_cost_raw/2026-11-21/") for p in listed)


class _Untouchable:
    """Stands in for the stage's resources and the network: any use is counted."""

    def __init__(self) -> None:
        self.uses: list[str] = []

    def get(self, resource: Any) -> Any:
        self.uses.append(f"get {resource.name}")
        raise AssertionError("a dry run opened a resource")

    def wired(self, resource: Any) -> bool:
        self.uses.append(f"wired {resource.name}")
        return False


def test_the_dry_path_lists_reads_writes_emits_and_calls_nothing(settings: Settings,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    resources = _Untouchable()
    sent: list[Any] = []
    monkeypatch.setattr(httpx.Client, "send", lambda self, *a, **k: sent.append(a))
    for options, execution_input in ((AggregateCostsOptions(), {"research_dry": True}),
                                     (AggregateCostsOptions(dry_run_llm=True), {})):
        ctx = StageContext(run_date=DAY, options=options, settings=settings, resources=resources,  # type: ignore[arg-type]
                           graph=APP.graph, now=lambda: NOW, seed=0,
                           logger=logging.LoggerAdapter(logging.getLogger("t")), preflight_only=False,
                           execution_input=execution_input)
        outcome = AggregateCosts().run(ctx)
        assert outcome.summary["status"] == "SKIPPED" and outcome.summary["reason"] == "dry_run_llm"
        assert "pyarrow" in outcome.summary["imported"]
    assert resources.uses == [] and sent == []
