"""Benchmark: the substrate check over 50 rows against a local workspace (issue 15, "Measured").

A temporary workspace with an on-disk artifact store and a SQLite metrics store, and an inventory
of 50 weekly rows: 25 JSON rows with ``{date}`` patterns whose artifact is 0 to 7 days back (so the
check walks back), 5 fixed JSON keys aged by their date field, 5 CSV, 5 parquet, 5 SQLite tables (as
artifacts) and 5 metric rows (success rate over a week of datapoints). Every store call the check
makes is counted through a wrapper. Goal (with the freshness monitor, measured by its own bench):
< 2 s; this reports the substrate check alone.

    .venv/bin/python bench/bench_substrate.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from alpha_engine.health import check_substrate, load_inventory
from alpha_engine.store import ArtifactStore, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class CountingStore(ArtifactStore):
    """The artifact store, counting each call the check makes."""

    calls: Counter[str]

    def exists(self, key: str) -> bool:
        self.calls["exists"] += 1
        return super().exists(key)

    def read_bytes(self, key: str) -> bytes:
        self.calls["read_bytes"] += 1
        return super().read_bytes(key)

    def local_path(self, key: str) -> Path | None:
        self.calls["local_path"] += 1
        return super().local_path(key)


class CountingMetrics(SqliteMetrics):
    calls: Counter[str]

    def statistics(self, *args: Any, **kwargs: Any) -> list[tuple[datetime, float]]:
        self.calls["metrics.statistics"] += 1
        return super().statistics(*args, **kwargs)


def build(root: Path) -> tuple[Path, ArtifactStore, SqliteMetrics]:
    store = ArtifactStore(root / "artifacts")
    metrics = SqliteMetrics(root / "metrics.db")
    rows: list[dict[str, Any]] = []

    def row(rid: str, source: dict[str, Any]) -> None:
        rows.append({"id": rid, "cadence": "weekly", "effective_date": "2020-01-01", "description": rid,
                     "sources": [source]})

    frame = pd.DataFrame({"day": [f"2026-11-{d:02d}" for d in range(1, 21)], "pnl": range(20),
                          "residual": [0.1] * 20})
    for i in range(25):
        back = (DAY - timedelta(days=i % 8)).isoformat()
        store.write_json(f"json{i}/{back}.json", {"status": "ok", "stats": {"n": 100 + i}, "model": "m"})
        row(f"json_{i}", {"kind": "json", "key_pattern": f"json{i}/{{date}}.json",
                          "assert_keys_present": ["model", "stats.n"],
                          "assert": [{"path": "stats.n", "op": "gte", "value": 10}]})
    for i in range(5):
        store.write_json(f"fixed{i}.json", {"date": "2026-11-20", "version_id": "v"})
        row(f"fixed_{i}", {"kind": "json", "key": f"fixed{i}.json", "assert_keys_present": ["version_id"]})
        store.write_bytes(f"tables/t{i}.csv", frame.to_csv(index=False).encode())
        store.write_bytes(f"tables/t{i}.parquet", frame.to_parquet(index=False))
        for kind in ("csv", "parquet"):
            row(f"{kind}_{i}", {"kind": kind, "key": f"tables/t{i}.{kind}", "assert_columns_present": ["day", "pnl"],
                                "assert_column_non_null": ["pnl"],
                                "assert_value_on_latest_row": {"column": "residual", "op": "lte", "value": 1.0}})
        db = root / "artifacts" / "dbs" / f"d{i}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE risk_events (rule TEXT, reason TEXT, value REAL, threshold REAL)")
        conn.close()
        row(f"sqlite_{i}", {"kind": "sqlite", "key": f"dbs/d{i}.db", "table": "risk_events",
                            "assert_columns_present": ["rule", "reason", "value", "threshold"]})
        for h in range(0, 7 * 24, 6):
            metrics.emit("Bench/Pipeline", "Succeeded", 1, {"StateMachine": f"sm{i}"}, NOW - timedelta(hours=h))
        row(f"metric_{i}", {"kind": "metric", "namespace": "Bench/Pipeline", "succeeded_metric": "Succeeded",
                            "failed_metric": "Failed", "dimensions": {"StateMachine": f"sm{i}"},
                            "assert": {"op": "success_rate_pct_gte", "value": 99}})
    path = root / "inventory.yaml"
    path.write_text(yaml.safe_dump({"rows": rows}), encoding="utf-8")
    return path, store, metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path, _, _ = build(root)
        inventory = load_inventory(path)
        seconds, calls = [], Counter[str]()
        report = None
        for _ in range(args.repeats):
            store = CountingStore(root / "artifacts", read_only=True)
            metrics = CountingMetrics(root / "metrics.db", read_only=True)
            store.calls = metrics.calls = calls = Counter()
            started = time.perf_counter()
            report = check_substrate(inventory, "weekly", run_date=DAY, artifacts=store, metrics=metrics,
                                     workspace=root, now=NOW)
            seconds.append(time.perf_counter() - started)
        assert report is not None
        out = {"rows": len(report.rows), "counts": report.counts, "median_seconds": round(statistics.median(seconds), 3),
               "min_seconds": round(min(seconds), 3), "store_calls": dict(sorted(calls.items())),
               "store_calls_total": sum(calls.values()), "repeats": args.repeats}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['rows']} substrate rows {out['counts']}: median {out['median_seconds']} s "
              f"(min {out['min_seconds']} s, {args.repeats} runs); store calls per check: "
              f"{out['store_calls_total']} {out['store_calls']}")
    return 0 if report.counts["ok"] == len(report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
