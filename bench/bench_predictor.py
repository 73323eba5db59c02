"""Benchmark: the whole honest training pipeline vs one plain LightGBM fit, same rows, same run.

Synthetic panel (default 900 tickers x 2,520 days) with the 56 features; ours = labels,
walk-forward L1 (momentum + LightGBM volatility per fold), leak-free L2 walk-forward, CPCV (45
splits) and the final fits (`train_predictor`); baseline = `lightgbm.train` for the same number
of rounds on every labelled row with all feature columns. Goal (issue 5): ours <= 5x the baseline
on 2 cores.

    .venv/bin/python bench/bench_predictor.py [--tickers 900] [--days 2520] [--rounds 100]
"""

from __future__ import annotations

import argparse
import logging
import time

import lightgbm as lgb
import numpy as np
import pandas as pd

from alpha_engine.data import FEATURE_ORDER, compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, train_predictor
from alpha_engine.store import panel_from_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=900)
    parser.add_argument("--days", type=int, default=2520)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="  %(message)s")

    t0 = time.perf_counter()
    bars, macro = synthetic_bars(args.tickers, args.days, seed=1)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    dataset, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=21, label_clip=0.15)
    print(f"panel and dataset: {time.perf_counter() - t0:.1f} s, {len(dataset):,} rows", flush=True)

    labelled = dataset[dataset["label"].notna()]
    columns = [c for c in FEATURE_ORDER if c in labelled]
    t0 = time.perf_counter()
    booster = lgb.train({"objective": "regression", "verbose": -1, "num_threads": args.threads, "seed": 0},
                        lgb.Dataset(labelled[columns].to_numpy(np.float32), labelled["label"].to_numpy()),
                        num_boost_round=args.rounds)
    baseline = time.perf_counter() - t0
    print(f"baseline lightgbm.train, {args.rounds} rounds, {len(columns)} features: {baseline:.1f} s", flush=True)
    del booster

    t0 = time.perf_counter()
    result = train_predictor(dataset, TrainingConfig(vol_estimators=args.rounds, threads=args.threads),
                             data_vintage={"as_of": "bench"})
    ours = time.perf_counter() - t0
    validation = result.manifest["validation"]
    print(f"ours, whole honest pipeline: {ours:.1f} s "
          f"({len(result.manifest['walk_forward']['folds'])} walk-forward folds, {validation['cpcv']['n_splits']} CPCV splits)")
    print()
    print("| | seconds | / baseline |")
    print("|---|---:|---:|")
    print(f"| lightgbm.train ({args.rounds} rounds, all rows, {len(columns)} features) | {baseline:.1f} | 1.0x |")
    print(f"| train_predictor (labels, walk-forward L1, leak-free L2, CPCV, final fits) | {ours:.1f} | "
          f"{ours / baseline:.1f}x |")
    print(f"\ngoal <= 5x: {'met' if ours <= 5 * baseline else 'NOT met'}; "
          f"synthetic meta OOS IC {validation['meta_oos_ic']['mean']}, CPCV {validation['cpcv']['mean_ic']}")


if __name__ == "__main__":
    main()
