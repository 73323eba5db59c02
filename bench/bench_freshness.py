"""Benchmark: one freshness-monitor cycle over 1,000 registry entries (issue 15, "Measured").

A local workspace artifact store with 100 folders of 10 artifacts each (1,000 registry entries:
saturday, weekday and eod cadences), 12 dated keys per artifact except the planted problems (5%
never written: missing; 5% written only long ago: stale). Every store call goes through a counting
wrapper. Measured: the checks alone (``write=False``), the first cycle (it publishes one alert per problem to the outbox) and the
steady-state rerun of the same cycle (the dedup sends nothing), each writing check_results.json,
the heartbeat and the metrics. The trading calendar is loaded before timing (once per process).
Goal: < 2 s for the cycle (the issue's budget also holds a 50-row substrate check, measured apart).

    PYTHONPATH=src .venv/bin/python bench/bench_freshness.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

from alpha_engine.health import ArtifactSpec, run_freshness_cycle
from alpha_engine.pipeline import Notifier
from alpha_engine.store import ArtifactStore, SqliteMetrics, TradingCalendar

NOW = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
FOLDERS, PER_FOLDER, DATES = 100, 10, 12
CADENCES = ("saturday", "weekday", "eod")


class CountingStore(ArtifactStore):
    """An ArtifactStore that counts each public call by name."""

    calls: Counter[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = Counter()

    def exists(self, key: str) -> bool:
        self.calls["exists"] += 1
        return super().exists(key)

    def list(self, prefix: str = "") -> list[str]:
        self.calls["list"] += 1
        return super().list(prefix)

    def read_bytes(self, key: str) -> bytes:
        self.calls["read"] += 1
        return super().read_bytes(key)

    def _write(self, key: str, data: bytes) -> None:
        self.calls["write"] += 1
        super()._write(key, data)


def _dates(cadence: str, calendar: TradingCalendar, back: int) -> list[date]:
    if cadence == "saturday":
        last = date(2026, 11, 28)
        return [last - timedelta(days=7 * (back + i)) for i in range(DATES)]
    sessions = calendar.sessions(date(2025, 1, 1), date(2026, 11, 30))
    return sessions[len(sessions) - 1 - back - DATES + 1:len(sessions) - back]


def build(root: Path, calendar: TradingCalendar) -> tuple[CountingStore, list[ArtifactSpec]]:
    store = CountingStore(root)
    specs = []
    for f in range(FOLDERS):
        for a in range(PER_FOLDER):
            n = f * PER_FOLDER + a
            cadence = CADENCES[n % 3]
            spec = ArtifactSpec(f"bench-{n:04d}", f"bench/f{f:03d}/{{date}}/a{a:02d}.json", cadence,
                                5 if cadence == "saturday" else 1, ("warning", "critical")[n % 2], "bench")
            specs.append(spec)
            if n % 20 == 7:
                continue  # missing
            back = 30 if n % 20 == 13 else 0  # stale: the newest is 30 cycles old
            for day in _dates(cadence, calendar, back):
                path = root / spec.format(day)  # planted directly: the store's fsync per write is not measured
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"{}\n")
    store.calls.clear()
    return store, specs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    calendar = TradingCalendar()
    calendar.last_closed_session(NOW)  # load the sessions before timing
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        store, specs = build(workspace / "artifacts", calendar)
        ids = count()
        notifier = Notifier(workspace, "bench-topic", now=lambda: NOW, new_id=lambda: f"m{next(ids)}")
        metrics = SqliteMetrics(workspace / "metrics.db")
        start = time.perf_counter()
        first = run_freshness_cycle(specs, store, now=NOW, calendar=calendar, metrics=metrics, notifier=notifier)
        first_s = time.perf_counter() - start
        first_calls = dict(store.calls)
        rerun_t, rerun_calls = [], {}
        for _ in range(args.repeats):
            store.calls.clear()
            start = time.perf_counter()
            again = run_freshness_cycle(specs, store, now=NOW, calendar=calendar, metrics=metrics, notifier=notifier)
            rerun_t.append(time.perf_counter() - start)
            rerun_calls = dict(store.calls)
        check_t = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run_freshness_cycle(specs, store, now=NOW, calendar=calendar, write=False)
            check_t.append(time.perf_counter() - start)
        outbox = len((workspace / "notifications" / "outbox.jsonl").read_text(encoding="utf-8").splitlines())
    result = {"entries": len(specs), "folders": FOLDERS, "keys_per_artifact": DATES, "counts": first.counts,
              "first_cycle_s": round(first_s, 4), "first_cycle_store_calls": first_calls,
              "alerts_sent": len(first.alerted), "rerun_median_s": round(statistics.median(rerun_t), 4),
              "rerun_max_s": round(max(rerun_t), 4), "rerun_store_calls": rerun_calls,
              "rerun_alerts_sent": len(again.alerted), "outbox_lines": outbox,
              "check_only_median_s": round(statistics.median(check_t), 4),
              "goal_under_2s": max(first_s, *rerun_t) < 2.0}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>24}: {value}")
    return 0 if result["goal_under_2s"] else 1


if __name__ == "__main__":
    sys.exit(main())
