"""Benchmark: alarm evaluation over the metrics store (issue 15, "Measured").

10 metrics x 10,000 datapoints each in a SQLite metrics store, 100 alarms (10 per metric: five
statistics x two periods, M of N over up to 24 periods). Measured in the same run, interleaved:

* ``evaluate_many``: reads each series once and buckets it once per (period, statistic, range);
* the naive baseline: ``evaluate`` per alarm (one store read and one bucketing per alarm).

Both must give the same states. Goal: all 100 alarms in < 1 s.

    .venv/bin/python bench/bench_alarms.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alpha_engine.monitor import Alarm, evaluate
from alpha_engine.monitor._alarms import evaluate_many
from alpha_engine.store import Datapoint, SqliteMetrics

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
METRICS, POINTS = 10, 10_000


def build(path: Path) -> tuple[SqliteMetrics, list[Alarm]]:
    store = SqliteMetrics(path)
    for m in range(METRICS):
        store.emit_many(Datapoint.of("Bench", f"m{m}", (i * 7919 + m) % 100, {"Process": f"p{m}"},
                                     AT - timedelta(seconds=60 * i)) for i in range(POINTS))
    alarms = []
    for m in range(METRICS):
        for k, statistic in enumerate(("Maximum", "Minimum", "Average", "Sum", "SampleCount")):
            for period, n in ((3600, 24), (86400, 6)):
                alarms.append(Alarm(name=f"m{m}-{statistic}-{period}", namespace="Bench", metric=f"m{m}",
                                    dimensions=(("Process", f"p{m}"),), statistic=statistic, period=period,
                                    evaluation_periods=n, datapoints_to_alarm=max(1, n // 2),
                                    comparison="GreaterThanThreshold", threshold=40 + k,
                                    treat_missing_data=("missing", "breaching")[m % 2]))
    return store, alarms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store, alarms = build(Path(tmp) / "metrics.db")
        fast_t, naive_t = [], []
        for r in range(args.repeats):
            order = ("fast", "naive") if r % 2 == 0 else ("naive", "fast")
            for which in order:
                start = time.perf_counter()
                if which == "fast":
                    fast = evaluate_many(alarms, store, AT, {})
                    fast_t.append(time.perf_counter() - start)
                else:
                    naive = [evaluate(a, store, AT) for a in alarms]
                    naive_t.append(time.perf_counter() - start)
        same = [(e.alarm, e.state, e.values) for e in fast] == [(e.alarm, e.state, e.values) for e in naive]
    result = {"alarms": len(alarms), "metrics": METRICS, "datapoints_per_metric": POINTS,
              "fast_median_s": round(statistics.median(fast_t), 4), "fast_min_s": round(min(fast_t), 4),
              "naive_median_s": round(statistics.median(naive_t), 4), "naive_min_s": round(min(naive_t), 4),
              "speedup_median": round(statistics.median(naive_t) / statistics.median(fast_t), 2),
              "same_states": same, "goal_under_1s": statistics.median(fast_t) < 1.0}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 0 if same and result["goal_under_1s"] else 1


if __name__ == "__main__":
    sys.exit(main())
