"""Backtest benchmark: one simulation over 900 tickers x 2,520 days (ATR trailing stops, time
exits, the whole executor rule set), warm and from a cold process, and a 100-config sweep on the
same panel, with its peak memory. Baselines: the scalar reference simulator (measured here) and
vectorbt's figures in shared/reference/quant-anchors.md (vectorbt is not installed: see README).

    .venv/bin/python bench/bench_backtest.py [--runs 5] [--skip-scalar] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_TICKERS, N_DAYS, SEED = 900, 2520, 0
VECTORBT = {"single": 0.153, "single_shared_cash": 0.218, "sweep100": 90.2, "cold_empty_cache": 22.0}  # anchors §3

_COLD = r"""
import json, sys, time
start = time.perf_counter()
from alpha_engine.backtest import ExecutorConfig, backtest_statistics, simulate_vectorized, synthetic_inputs
imported = time.perf_counter()
inputs = synthetic_inputs(int(sys.argv[1]), int(sys.argv[2]), seed=int(sys.argv[3]))
built = time.perf_counter()
(result,) = simulate_vectorized(inputs, [ExecutorConfig()])
simulated = time.perf_counter()
stats = backtest_statistics(result, inputs.index_close)
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "panel_s": built - imported, "first_run_s": simulated - built,
                  "stats_s": done - simulated, "cold_s": (imported - start) + (done - built),
                  "orders": len(result.orders)}))
"""

_SWEEP = r"""
import json, resource, sys, time
import numpy as np
from alpha_engine.backtest import ExecutorConfig, market_features, nav_statistics, simulate_vectorized, synthetic_inputs
inputs = synthetic_inputs(int(sys.argv[1]), int(sys.argv[2]), seed=int(sys.argv[3]))
grid = [ExecutorConfig(atr_multiplier=float(k), time_decay_exit_days=int(h), time_decay_reduce_days=min(7, int(h)))
        for k in np.linspace(1.5, 6.0, 10) for h in np.linspace(5, 50, 10).round()]
simulate_vectorized(inputs, grid[:2])  # load the compiled kernel
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(int(sys.argv[4])):
    start = time.perf_counter()
    features = market_features(inputs, grid[0])
    results = simulate_vectorized(inputs, grid, features)
    table = nav_statistics(np.stack([r.nav for r in results]), grid[0].initial_cash, inputs.index_close)
    times.append(time.perf_counter() - start)
print(json.dumps({"times_s": times, "combos": len(grid), "orders": sum(len(r.orders) for r in results),
                  "best_sharpe": float(np.max(table["sharpe"])),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_sweep_mb": rss_before / 1024}))
"""


def _child(code: str, *args: object, env: dict[str, str] | None = None) -> dict[str, object]:
    argv = [str(a) for a in (N_TICKERS, N_DAYS, SEED, *args)]
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sweep-runs", type=int, default=2)
    parser.add_argument("--skip-scalar", action="store_true")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "backtest.json")
    args = parser.parse_args()

    from alpha_engine.backtest import (
        ExecutorConfig,
        assert_parity,
        backtest_statistics,
        market_features,
        simulate_scalar,
        simulate_vectorized,
        synthetic_inputs,
    )

    report: dict[str, object] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                             "load": os.getloadavg()}, "panel": [N_TICKERS, N_DAYS, SEED]}
    print(f"panel: {N_TICKERS} tickers x {N_DAYS} days (seed {SEED}); load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as empty_cache:
        report["cold_empty_numba_cache"] = _child(_COLD, env={"NUMBA_CACHE_DIR": empty_cache})
    report["cold_warm_numba_cache"] = _child(_COLD)
    inputs = synthetic_inputs(N_TICKERS, N_DAYS, seed=SEED)
    config = ExecutorConfig()
    features = market_features(inputs, config)
    simulate_vectorized(inputs, [config], features)
    kernel, total, stats_times = [], [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        f = market_features(inputs, config)
        mid = time.perf_counter()
        (result,) = simulate_vectorized(inputs, [config], f)
        end = time.perf_counter()
        backtest_statistics(result, inputs.index_close)
        stats_times.append(time.perf_counter() - end)
        kernel.append(end - mid)
        total.append(end - start)
    reasons = result.trades_frame().reason.value_counts().to_dict()
    report["single"] = {"kernel_s": kernel, "features_plus_kernel_s": total, "stats_s": stats_times,
                        "orders": len(result.orders), "sell_reasons": reasons}
    if not args.skip_scalar:
        start = time.perf_counter()
        scalar = simulate_scalar(inputs, config, features)
        report["scalar_s"] = time.perf_counter() - start
        assert_parity(scalar, result)
        report["parity"] = "scalar == vectorized (orders, NAV to 1e-9)"
    report["sweep"] = _child(_SWEEP, args.sweep_runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, default=str))
    _print(report)


def _print(r: dict[str, object]) -> None:
    single = r["single"]
    sweep = r["sweep"]
    assert isinstance(single, dict) and isinstance(sweep, dict)
    kernel = statistics.median(single["kernel_s"])
    whole = statistics.median(single["features_plus_kernel_s"])
    sweep_s = statistics.median(sweep["times_s"])
    cold_empty, cold_warm = r["cold_empty_numba_cache"], r["cold_warm_numba_cache"]
    assert isinstance(cold_empty, dict) and isinstance(cold_warm, dict)
    rows = [
        ("single run, kernel (warm median)", f"{kernel:.3f} s", f"vectorbt a2 {VECTORBT['single']} s "
         f"({VECTORBT['single'] / kernel:.1f}x)"),
        ("single run, features + kernel", f"{whole:.3f} s", f"vectorbt a3 shared cash {VECTORBT['single_shared_cash']} s"),
        ("statistics with bootstrap CIs", f"{statistics.median(single['stats_s']):.3f} s", ""),
        ("cold process, numba cache warm", f"{cold_warm['cold_s']:.2f} s", "goal <= 2 s"),
        ("cold process, empty numba cache (JIT)", f"{cold_empty['cold_s']:.2f} s",
         f"vectorbt-numba {VECTORBT['cold_empty_cache']} s"),
        ("100-config sweep (features + kernel + stats)", f"{sweep_s:.2f} s",
         f"vectorbt b' {VECTORBT['sweep100']} s ({VECTORBT['sweep100'] / sweep_s:.0f}x)"),
        ("sweep peak RSS", f"{sweep['peak_rss_mb']:.0f} MB", "upstream ran in 4 GB"),
    ]
    if "scalar_s" in r:
        rows.append(("scalar reference, single run", f"{r['scalar_s']:.1f} s", f"kernel {r['scalar_s'] / kernel:.0f}x faster"))
    print("| measure | ours | baseline |\n|---|---:|---|")
    for name, ours, base in rows:
        print(f"| {name} | {ours} | {base} |")
    print(f"\norders: single {single['orders']} ({single['sell_reasons']}); sweep {sweep['orders']} over "
          f"{sweep['combos']} configs; {r.get('parity', 'parity not checked')}")


if __name__ == "__main__":
    main()
