"""Benchmark: PortfolioOptimizerBacktest's computation (run_portfolio_backtest) on the bundled sample.

The skfolio S&P 500 sample (20 stocks, adjusted closes) over the last --years years up to
2022-12-30, the stage's default options unless overridden: every walk-forward (the baseline, the
covariance sweep, the risk-aversion sweep), the look-ahead check and the bootstrap intervals. Prints
the wall time and the sweep sizes (configurations, folds, optimizer fits). --synthetic N replaces
the sample with N synthetic one-factor assets over the same days, to see how the fits scale;
--max-assets sets the optimizers' pre-selection (default: the stage's, 100; 0: none).

    .venv/bin/python bench/bench_portfolio.py [--years 10] [--test-days 21] [--synthetic 900] [--max-assets 100]
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd

from alpha_engine.backtest import ClosePanel, PortfolioOptimizerOptions, run_portfolio_backtest


def _sample(years: int) -> pd.DataFrame:
    from skfolio.datasets import load_sp500_dataset

    closes = load_sp500_dataset().loc[:"2022-12-30"]
    return closes.iloc[-(252 * years + 1):]


def _synthetic(n_assets: int, index: pd.DatetimeIndex) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    market = rng.normal(0.0003, 0.01, size=(len(index), 1))
    returns = market * rng.uniform(0.5, 1.5, n_assets) + rng.normal(0, 0.015, size=(len(index), n_assets))
    return pd.DataFrame(100 * np.cumprod(1 + returns, axis=0), index=index, columns=[f"S{i:04d}" for i in range(n_assets)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--test-days", type=int, default=21)
    parser.add_argument("--synthetic", type=int, default=0, help="N synthetic assets instead of the sample")
    parser.add_argument("--max-assets", type=int, default=None,
                        help="names each optimizer fits on per fold (default: the stage's; 0: every name)")
    parser.add_argument("--verbose", action="store_true", help="log each walk-forward")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="  %(message)s")

    closes = _sample(args.years)
    if args.synthetic:
        closes = _synthetic(args.synthetic, pd.DatetimeIndex(closes.index))
    overrides = {} if args.max_assets is None else {"max_assets": args.max_assets or None}
    options = PortfolioOptimizerOptions(test_days=args.test_days, **overrides)
    panel = ClosePanel(closes, (), "bench")
    load = os.getloadavg()
    started = time.perf_counter()
    result = run_portfolio_backtest(panel, options, seed=0, context={"run_date": "2022-12-31"})
    wall = time.perf_counter() - started

    folds = result.summary["n_folds"]
    configurations = result.summary["configurations"]
    check_folds = result.gate["causality"]["look_ahead"]["folds_compared"]
    optimizer_fits = (configurations - 1) * folds + check_folds  # the baseline fits nothing
    print("| data | assets x returns | optimizer universe | configurations | folds | optimizer fits | bootstrap | wall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {'synthetic' if args.synthetic else 'sample'} | {closes.shape[1]} x {len(closes) - 1} | "
          f"{result.summary['optimizer_universe']} | "
          f"{configurations} (1 baseline + {len(options.covariance_estimators)} covariance + "
          f"{len(options.risk_aversions)} gamma) | {folds} | {optimizer_fits} (incl. {check_folds} look-ahead re-fits) | "
          f"{options.n_bootstrap} x {folds * options.test_days} | {wall:.1f} s ({wall / optimizer_fits:.2f} s a fit) |")
    print(f"load average before/after: {load[0]:.1f} / {os.getloadavg()[0]:.1f}")
    gate = result.gate
    for who in ("baseline", "optimizer"):
        m = gate[who]
        print(f"{who} {m['name']}: Sharpe {m['sharpe']['estimate']:.3f} [{m['sharpe']['ci_low']:.3f}, "
              f"{m['sharpe']['ci_high']:.3f}], vol {m['annual_volatility']['estimate']:.3f}, "
              f"MDD {m['max_drawdown']['estimate']:.3f}, return {m['annual_return']['estimate']:.3f}")
    print(f"gate: {result.summary['gate']}, Sharpe difference [low, estimate, high] "
          f"{result.summary['sharpe_difference']}; best covariance {result.summary['best_covariance']} "
          f"{result.summary['best_covariance_sharpe_difference_bonferroni']}, best gamma "
          f"{result.summary['best_risk_aversion']} {result.summary['best_risk_aversion_sharpe_difference_bonferroni']}"
          " (Bonferroni)")


if __name__ == "__main__":
    main()
