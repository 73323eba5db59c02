"""AggregateCosts' work on a large day: 10,000 calls (5 runs x 2,000 calls over 40 agents) read from
the local store, priced from the dated price table and written as Parquet, twice (the bytes must
match). Prints one line: calls, files, seconds, Parquet size, byte-stable.

    PYTHONPATH=src .venv/bin/python bench/bench_aggregate_costs.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import date

from alpha_engine.evals import cost_table_bytes, price_calls, read_cost_calls
from alpha_engine.research import PriceTable, write_cost_telemetry
from alpha_engine.store import ArtifactStore

DAY = date(2026, 11, 21)


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        store = ArtifactStore(root)
        for run in range(5):
            calls = [{"agent_id": f"sector_quant:t{i % 40}", "sector_team_id": None, "node_name": "n",
                      "run_type": "weekly_research", "prompt_id": "p", "prompt_version": "1",
                      "prompt_version_hash": "h", "provider": "anthropic", "model_name": "claude-haiku-4-5",
                      "call_seq": i + 1, "input_tokens": 1000, "output_tokens": 200, "cache_read_tokens": 0,
                      "cache_create_tokens": 0, "web_search_requests": 0, "web_fetch_requests": 0,
                      "cost_usd": 0.002} for i in range(2000)]
            write_cost_telemetry(store, calls, DAY, f"run{run}")
        started = time.perf_counter()
        got, files = read_cost_calls(store, DAY)
        priced = price_calls(got, PriceTable.load())
        data = cost_table_bytes(priced.rows)
        elapsed = time.perf_counter() - started
        print(f"{len(got)} calls in {len(files)} files: {elapsed:.2f} s, {len(data)} bytes of Parquet, "
              f"{priced.mismatches} cost mismatches, byte-stable: {data == cost_table_bytes(priced.rows)}")


if __name__ == "__main__":
    main()
