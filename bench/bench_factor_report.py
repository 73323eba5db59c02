"""Factor-report benchmark: the evaluator's factor_report on a synthetic 500 x 2,520 panel (and
900 x 2,520) with a weak genuine signal, at horizons 1, 5, 10, 21, 5 quantiles, 11 groups.

In the same run it times a per-date numpy/scipy reference (rank IC, ICIR and hit rate at the four
horizons, one date at a time) and, when alphalens-reloaded is installed (a dev-only dependency),
alphalens' factor data and its tear-sheet numbers without plots; it prints the ratios and how far
the mean ICs agree.

    .venv/bin/python bench/bench_factor_report.py [--assets 500 900] [--alphalens-assets 500] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from alpha_engine.evaluator import factor_report, forward_returns

N_DATES, HORIZONS, QUANTILES, GROUPS, SEED = 2520, (1, 5, 10, 21), 5, 11, 0


def synthetic(n_assets: int, n_dates: int = N_DATES, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closes, a factor that leans weakly on the next 5 sessions' return (1% gaps), and 11 groups."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, size=(n_dates, 1))
    returns = market * rng.uniform(0.5, 1.5, n_assets) + rng.normal(0, 0.02, size=(n_dates, n_assets))
    prices = 100 * np.cumprod(1 + returns, axis=0)
    ahead = np.nan_to_num(forward_returns(prices, 5))
    factor = 0.02 * ahead / ahead.std() + rng.normal(0, 1, size=(n_dates, n_assets))
    factor[rng.random(factor.shape) < 0.01] = np.nan
    return factor, prices, rng.integers(0, GROUPS, n_assets)


def reference_ic(factor: np.ndarray, prices: np.ndarray, min_names: int) -> dict[int, tuple[float, float, float]]:
    """Per horizon (mean rank IC, ICIR, hit rate), one date at a time with scipy's rankdata."""
    out = {}
    for h in HORIZONS:
        labels = forward_returns(prices, h)
        ics = []
        for t in range(len(factor)):
            both = np.isfinite(factor[t]) & np.isfinite(labels[t])
            if both.sum() >= min_names:
                ics.append(np.corrcoef(stats.rankdata(factor[t][both]), stats.rankdata(labels[t][both]))[0, 1])
        ic = np.asarray(ics)
        out[h] = (float(ic.mean()), float(ic.mean() / ic.std(ddof=1)), float((ic > 0).mean()))
    return out


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(first call, median of the warm calls after it, the last result)."""
    start = time.perf_counter()
    result = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times) if times else first, result


def alphalens_numbers(factor: np.ndarray, prices: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    import pandas as pd
    from alphalens import performance, utils

    dates = pd.bdate_range("2010-01-04", periods=len(prices), freq="B")
    assets = [f"S{i:04d}" for i in range(prices.shape[1])]
    series = pd.DataFrame(factor, index=dates, columns=assets).stack()
    series.index.names = ["date", "asset"]
    start = time.perf_counter()
    data = utils.get_clean_factor_and_forward_returns(
        series, pd.DataFrame(prices, index=dates, columns=assets), groupby=dict(zip(assets, groups, strict=True)),
        quantiles=QUANTILES, periods=HORIZONS, max_loss=1.0)
    clean = time.perf_counter() - start
    start = time.perf_counter()
    ic = performance.factor_information_coefficient(data)
    ic_only = time.perf_counter() - start
    start = time.perf_counter()
    factor_returns = performance.factor_returns(data)
    performance.factor_alpha_beta(data, factor_returns)
    performance.mean_return_by_quantile(data)
    by_date, _ = performance.mean_return_by_quantile(data, by_date=True)
    performance.compute_mean_returns_spread(by_date, QUANTILES, 1)
    performance.factor_information_coefficient(data)
    performance.mean_information_coefficient(data, by_group=True)
    for h in HORIZONS:
        for q in range(1, QUANTILES + 1):
            performance.quantile_turnover(data["factor_quantile"], q, period=h)
        performance.factor_rank_autocorrelation(data, period=h)
    tear = time.perf_counter() - start
    return {"clean_s": clean, "ic_s": ic_only, "tear_s": tear, "rows": len(data),
            "mean_ic": {h: float(ic[f"{h}D"].mean()) for h in HORIZONS}}


def run(n_assets: int, runs: int, with_alphalens: bool) -> None:
    factor, prices, groups = synthetic(n_assets)
    load = os.getloadavg()[0]
    full_first, full, report = timed(lambda: factor_report(factor, prices, horizons=HORIZONS, quantiles=QUANTILES,
                                                           groups=groups, min_names=10), runs)
    ic_first, ic_only, _ = timed(lambda: factor_report(factor, prices, horizons=HORIZONS, quantiles=None,
                                                       min_names=10), runs)
    start = time.perf_counter()
    reference = reference_ic(factor, prices, 10)
    ref_s = time.perf_counter() - start
    print(f"\n## {n_assets} assets x {N_DATES} dates, horizons {HORIZONS}, {QUANTILES} quantiles, {GROUPS} groups "
          f"(load average {load:.1f})\n")
    print("| measure | seconds | vs the per-date reference |")
    print("|---|---:|---:|")
    print(f"| ours, IC, ICIR, hit rate at 4 horizons (warm median of {runs}) | {ic_only:.3f} | {ref_s / ic_only:.1f}x |")
    print(f"| ours, full report (+ quantile returns, spread, turnover, rank autocorrelation, per-group IC; warm) | "
          f"{full:.3f} | {ref_s / full:.1f}x |")
    print(f"| ours, full report, first call in the process | {full_first:.3f} | |")
    print(f"| per-date reference (scipy rankdata + corrcoef, one date at a time) | {ref_s:.3f} | 1x |")
    numbers = alphalens_numbers(factor, prices, groups) if with_alphalens else None
    if numbers:
        print(f"| alphalens `get_clean_factor_and_forward_returns` ({numbers['rows']:,} rows) | {numbers['clean_s']:.2f} | |")
        print(f"| alphalens `factor_information_coefficient` | {numbers['ic_s']:.2f} | "
              f"ours IC: {numbers['ic_s'] / ic_only:.0f}x faster |")
        print(f"| alphalens tear-sheet numbers, no plots (after the factor data) | {numbers['tear_s']:.2f} | "
              f"ours full: {(numbers['clean_s'] + numbers['tear_s']) / full:.0f}x faster incl. factor data |")
    print("\n| horizon | ours mean rank IC | ICIR | hit rate | reference IC | |ours - reference| |"
          + (" alphalens IC | |ours - alphalens| |" if numbers else ""))
    print("|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if numbers else ""))
    for h in HORIZONS:
        r = report.horizon(h)
        line = (f"| {h} | {r.ic_mean:.5f} | {r.icir:.3f} | {r.hit_rate:.3f} | {reference[h][0]:.5f} | "
                f"{abs(r.ic_mean - reference[h][0]):.1e} |")
        if numbers:
            theirs = numbers["mean_ic"][h]
            line += f" {theirs:.5f} | {abs(r.ic_mean - theirs):.1e} |"
        print(line)
    print("\n(alphalens drops the last 21 dates for every horizon and ours keeps each horizon's own dates, "
          "so their mean ICs differ by that; the tests compare on the same dates, per date, to 1e-9.)" if numbers else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, nargs="+", default=[500, 900])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--alphalens-assets", type=int, nargs="*", default=[500],
                        help="sizes at which alphalens runs too (none: never; it takes minutes)")
    args = parser.parse_args()
    with_alphalens = bool(args.alphalens_assets)
    if with_alphalens:
        try:
            import alphalens  # noqa: F401
        except ImportError:
            print("alphalens-reloaded is not installed (pip install alphalens-reloaded): ours and the reference only")
            with_alphalens = False
    warnings.filterwarnings("ignore")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, numpy {np.__version__}")
    for n in args.assets:
        run(n, args.runs, with_alphalens and n in args.alphalens_assets)


if __name__ == "__main__":
    main()
