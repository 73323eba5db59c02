"""Benchmark: the freshness cycle over 1,000 registry entries and the substrate check over 50 rows,
together on one local workspace (issue 15, "Measured": under 2 s, with the number of store calls).

The workspace holds bench_freshness.py's 1,000 artifacts (100 folders, 12 dated keys each, 5%
missing, 5% stale) and bench_substrate.py's 50 rows of every source kind. Measured, median of
``--repeats``: a steady-state freshness cycle (it writes its results, heartbeat and metrics; the
alerts of the cycle were sent by a first, untimed cycle) followed by the substrate check: the
issue's figure. Then the freshness probe alone as shipped (one ``list`` per folder, no writes)
against the baseline in the same run, the naive probe: one ``exists`` per registry entry and
walked-back cycle date, newest first, up to the entry's maximum age. On a local disk an
``exists`` costs microseconds, so the probes' times are close; on S3 every call is a request,
and the call counts are what differ.

    PYTHONPATH=src .venv/bin/python bench/bench_monitors.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from itertools import count
from pathlib import Path

import bench_freshness
import bench_substrate

from alpha_engine.health import ArtifactSpec, check_substrate, cycle_date, load_inventory, run_freshness_cycle
from alpha_engine.pipeline import Notifier
from alpha_engine.store import ArtifactStore, TradingCalendar

NOW = bench_freshness.NOW


def naive_probe(specs: list[ArtifactSpec], store: ArtifactStore, calendar: TradingCalendar) -> int:
    """The baseline freshness probe: ``exists`` per entry and cycle date; returns how many are fresh."""
    fresh = 0
    for spec in specs:
        day = cycle_date(spec.cadence, NOW, calendar)
        for _ in range(spec.max_age_trading_days + 1):
            if store.exists(spec.format(day)):
                fresh += 1
                break
            day = calendar.previous_session(day) if spec.cadence != "saturday" else day.fromordinal(day.toordinal() - 7)
    return fresh


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    calendar = TradingCalendar()
    calendar.last_closed_session(NOW)  # load the sessions before timing
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store, specs = bench_freshness.build(root / "artifacts", calendar)
        inventory_path, _, _ = bench_substrate.build(root)
        inventory = load_inventory(inventory_path)
        ids = count()
        notifier = Notifier(root, "bench-topic", now=lambda: NOW, new_id=lambda: f"m{next(ids)}")
        metrics = bench_substrate.CountingMetrics(root / "metrics.db")
        metrics.calls = Counter()  # bench_substrate's class declares the counter; the instance needs one
        run_freshness_cycle(specs, store, now=NOW, calendar=calendar, metrics=metrics, notifier=notifier)
        substrate_store = bench_substrate.CountingStore(root / "artifacts", read_only=True)
        runs: dict[str, list[float]] = {"monitors": [], "check_only": [], "naive_probe": []}
        calls: dict[str, Counter[str]] = {}
        report = None
        for _ in range(args.repeats):
            for name in runs:
                store.calls.clear()
                substrate_store.calls, metrics.calls = Counter(), Counter()
                start = time.perf_counter()
                if name == "monitors":  # the figure: the whole cycle, then the substrate check
                    cycle = run_freshness_cycle(specs, store, now=NOW, calendar=calendar, metrics=metrics,
                                                notifier=notifier)
                    assert not cycle.alerted  # steady state: the first cycle sent them
                    report = check_substrate(inventory, "weekly", run_date=bench_substrate.DAY,
                                             artifacts=substrate_store, metrics=metrics, workspace=root,
                                             now=bench_substrate.NOW)
                elif name == "check_only":  # the freshness probe as shipped: one list per folder
                    run_freshness_cycle(specs, store, now=NOW, calendar=calendar, write=False)
                else:  # the baseline probe: one exists per entry and walked-back date
                    naive_probe(specs, store, calendar)
                runs[name].append(time.perf_counter() - start)
                calls[name] = Counter({f"freshness.{k}": v for k, v in store.calls.items()}) + Counter(
                    {f"substrate.{k}": v for k, v in substrate_store.calls.items()}) + Counter(
                    {f"substrate.{k}": v for k, v in metrics.calls.items()})
        assert report is not None and report.counts["ok"] == len(report.rows)
        median = {name: statistics.median(seconds) for name, seconds in runs.items()}
        out = {"registry_entries": len(specs), "substrate_rows": len(report.rows),
               "median_seconds": {k: round(v, 4) for k, v in median.items()},
               "ratio_naive_over_check_seconds": round(median["naive_probe"] / median["check_only"], 2),
               "store_calls": {k: dict(sorted(v.items())) for k, v in calls.items()},
               "store_calls_total": {k: sum(v.values()) for k, v in calls.items()},
               "goal_under_2s": median["monitors"] < 2.0, "repeats": args.repeats}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        totals, secs = out["store_calls_total"], out["median_seconds"]
        print(f"freshness cycle ({len(specs)} entries, with its writes) + substrate check ({len(report.rows)} rows): "
              f"median {secs['monitors']} s (goal < 2 s), {totals['monitors']} store calls {out['store_calls']['monitors']}")
        print(f"freshness probe alone: one list per folder {secs['check_only']} s, {totals['check_only']} calls; "
              f"naive exists probe (baseline) {secs['naive_probe']} s, {totals['naive_probe']} calls; "
              f"naive/shipped time = {out['ratio_naive_over_check_seconds']}x, calls = "
              f"{round(totals['naive_probe'] / totals['check_only'], 1)}x")
    return 0 if out["goal_under_2s"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
