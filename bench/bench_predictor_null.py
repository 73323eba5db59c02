"""Benchmark: how often the promotion gate promotes a model without skill, and how often it finds a real one.

Each draw builds a seeded synthetic panel (default 100 tickers x 1,500 days, the 56 features,
horizon 21, execution lag 1), alters its ``label`` or ``momentum_score`` column, trains the whole
``train_predictor`` on it and asks ``skill_gate(manifest["validation"])`` whether the model may be a
full champion (a first model, so no prior trials: the DSR is the PSR).

Nulls (no model can have real skill; each draw its own panel and its own randomness):

* ticker permutation: one random permutation pi of the tickers per draw; ticker pi(i) gets the
  labels of ticker i on every date. Keeps each label series' persistence, breaks the link between a
  ticker's features and its own future return.
* time shift: each ticker's labelled series (its 1,458 labelled dates) is shifted circularly by its
  own random offset, uniform in [2 x horizon, n - 2 x horizon], so no label sits within 2 x horizon
  dates of its own date in either direction. Keeps each ticker's label distribution and persistence,
  breaks the timing and the cross-section of each date.

Power (a real, learnable signal): ``momentum_score``, an L2 input, is replaced on every labelled
row by ``a = rho * z + sqrt(1 - rho^2) * e``, where z is the normal score of the label's rank
among that date's tickers (Phi^-1((rank - 0.5) / n)) and e is i.i.d. N(0, 1). rho =
2 sin(pi x IC / 6), the Gaussian-copula Spearman-to-Pearson map, so the mean over dates of the
Spearman correlation of a with the label (the oracle IC, reported as realised) is the target
(0.13). a at date t uses only the label at date t: it is an oracle, and the question is whether the
pipeline detects a predictor that has it. Unlabelled rows get pure noise.

Figures: the false-promotion rate of the gate (and of its two arms alone: the Newey-West HAC 95%
CI's lower bound > 0; DSR >= 0.95), with a Wilson 95% interval, against the goal <= 5%; the old
rule (CPCV mean IC > 0) on the same draws as the baseline; the power (goal >= 80%); seconds per
draw. The training config keeps draws fast and changes nothing the gate reads: 20 volatility
trees (the L1 volatility model is one L2 input), n_boot 1 and randomization_draws 1 (the gate reads
neither), the default walk-forward sizes (504 / 126 / 252 dates).

    .venv/bin/python bench/bench_predictor_null.py [--null-draws 100] [--power-draws 20] [--quick]
    .venv/bin/python bench/bench_predictor_null.py --report bench/results/predictor_null.json  # tables again
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from alpha_engine.data import compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, train_predictor
from alpha_engine.predictor._promotion import skill_gate
from alpha_engine.store import panel_from_frames

HORIZON = 21
GOAL_FALSE_PROMOTION = 0.05
GOAL_POWER = 0.80


@dataclass(frozen=True)
class Draw:
    """One trained draw: which experiment, the gate's verdicts and the figures they read."""

    experiment: str
    draw: int
    passes: bool
    by_ci: bool
    by_dsr: bool
    old_rule: bool  # CPCV mean IC > 0, the promotion rule before the skill gate
    ic_mean: float | None
    ci_low: float | None
    dsr: float | None
    cpcv_mean_ic: float | None
    oracle_ic: float | None
    seconds: float


def synthetic_dataset(n_tickers: int, n_days: int, seed: int) -> pd.DataFrame:
    """The (date, ticker) training rows of a seeded synthetic panel, as the predictor tests build them."""
    bars, macro = synthetic_bars(n_tickers, n_days, seed=seed)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    dataset, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=HORIZON, label_clip=0.15)
    return dataset


def _grid(dataset: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Each row's date and ticker position on the (date x ticker) grid, and the grid's shape."""
    dates, tickers = (dataset.index.get_level_values(level) for level in ("date", "ticker"))
    date_codes, date_values = pd.factorize(dates, sort=True)
    ticker_codes, ticker_values = pd.factorize(tickers, sort=True)
    return date_codes, ticker_codes, len(date_values), len(ticker_values)


def _wide(dataset: pd.DataFrame, column: str) -> np.ndarray:
    date_codes, ticker_codes, n_dates, n_tickers = _grid(dataset)
    wide = np.full((n_dates, n_tickers), np.nan)
    wide[date_codes, ticker_codes] = dataset[column].to_numpy(dtype=np.float64)
    return wide


def _with_column(dataset: pd.DataFrame, column: str, wide: np.ndarray) -> pd.DataFrame:
    date_codes, ticker_codes, _, _ = _grid(dataset)
    altered = dataset.copy()
    altered[column] = wide[date_codes, ticker_codes]
    return altered


def permute_tickers(dataset: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The ticker-permutation null: ticker pi(i) gets ticker i's labels on every date."""
    label = _wide(dataset, "label")
    permuted = np.empty_like(label)
    permuted[:, rng.permutation(label.shape[1])] = label
    return _with_column(dataset, "label", permuted)


def shift_in_time(dataset: pd.DataFrame, rng: np.random.Generator, *, min_shift: int) -> pd.DataFrame:
    """The time-shift null: each ticker's labelled series shifted circularly by its own offset in
    [min_shift, n - min_shift] (n its labelled dates; the synthetic panel labels the same dates for
    every ticker)."""
    label = _wide(dataset, "label")
    labelled = np.flatnonzero(np.isfinite(label).all(axis=1))
    n, n_tickers = len(labelled), label.shape[1]
    if n < 2 * min_shift + 1:
        raise ValueError(f"shift_in_time: {n} labelled dates cannot be shifted by at least {min_shift}")
    offsets = rng.integers(min_shift, n - min_shift + 1, size=n_tickers)
    source = (np.arange(n)[:, None] - offsets) % n
    shifted = label.copy()
    shifted[labelled] = label[labelled][source, np.arange(n_tickers)]
    return _with_column(dataset, "label", shifted)


def plant_signal(dataset: pd.DataFrame, target_ic: float, rng: np.random.Generator) -> pd.DataFrame:
    """``momentum_score`` replaced by rho x (normal score of the label's rank on its date) + noise,
    rho = 2 sin(pi x target_ic / 6); pure noise where the label is unknown."""
    label = _wide(dataset, "label")
    rho = 2.0 * math.sin(math.pi * target_ic / 6.0)
    known = np.isfinite(label)
    ranks = rankdata(np.where(known, label, np.inf), axis=1)
    scores = norm.ppf((ranks - 0.5) / np.maximum(known.sum(axis=1, keepdims=True), 1))
    planted = rho * np.where(known, scores, 0.0) + math.sqrt(1.0 - rho * rho) * rng.standard_normal(label.shape)
    planted = np.where(known, planted, rng.standard_normal(label.shape))
    return _with_column(dataset, "momentum_score", planted)


def oracle_ic(dataset: pd.DataFrame, column: str = "momentum_score") -> float:
    """Mean over dates of the Spearman correlation of ``column`` with the label (dates with every
    ticker labelled)."""
    x, y = _wide(dataset, column), _wide(dataset, "label")
    dates = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    rx, ry = (rankdata(v[dates], axis=1) for v in (x, y))
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    return float(np.mean((rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def run_draw(experiment: str, draw: int, dataset: pd.DataFrame, config: TrainingConfig) -> Draw:
    planted = experiment.startswith("planted")
    started = time.perf_counter()
    result = train_predictor(dataset, config, data_vintage={"as_of": f"bench-null {experiment} {draw}"})
    seconds = time.perf_counter() - started
    validation = result.manifest["validation"]
    gate = skill_gate(validation)
    cpcv = validation["cpcv"]["mean_ic"]
    return Draw(experiment=experiment, draw=draw, passes=gate["passes"], by_ci=gate["by_ci"], by_dsr=gate["by_dsr"],
                old_rule=cpcv is not None and cpcv > 0, ic_mean=gate["ic_mean"], ci_low=gate["ci_low"],
                dsr=gate["dsr"], cpcv_mean_ic=cpcv, oracle_ic=oracle_ic(dataset) if planted else None,
                seconds=seconds)


def _rate(draws: list[Draw], field: str) -> str:
    hits = sum(bool(getattr(d, field)) for d in draws)
    low, high = wilson_interval(hits, len(draws))
    return f"{hits}/{len(draws)} = {hits / len(draws):.1%} [{low:.1%}, {high:.1%}]"


def _calibration(draws: list[Draw]) -> str:
    """How well the interval's standard error describes the null draws: z = mean IC / se (se read
    back from the CI); its spread across draws is 1 when the standard error is right."""
    z_crit = float(norm.ppf(0.975))
    rows = [(d.ic_mean, (d.ic_mean - d.ci_low) / z_crit) for d in draws if d.ic_mean is not None and d.ci_low is not None]
    means, ses = (np.array(v, dtype=float) for v in zip(*rows, strict=True))
    z = means / ses
    return (f"sd of z = IC/se {z.std(ddof=1):.2f} (1.00 if the se is right), mean z {z.mean():+.2f}; "
            f"sd of the mean IC across draws {means.std(ddof=1):.4f} vs median se {np.median(ses):.4f}")


def _altered(experiment: str, dataset: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    if experiment == "ticker permutation":
        return permute_tickers(dataset, rng)
    if experiment == "time shift":
        return shift_in_time(dataset, rng, min_shift=2 * HORIZON)
    return plant_signal(dataset, float(experiment.removeprefix("planted ")), rng)


def run_draws(args: argparse.Namespace, oracle_ics: list[float], config: TrainingConfig,
              previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train every draw not already in ``previous`` (a saved report, for ``--resume``); the report
    (args, config, timings, each draw) is written to ``args.json`` after every draw, so a crash
    loses at most one."""
    draws = [Draw(**d) for d in previous["draws"]] if previous else []
    build_seconds: list[float] = list(previous["build_seconds"]) if previous else []
    done = {(d.experiment, d.draw) for d in draws}
    elapsed = float(previous["total_seconds"]) if previous else 0.0
    started = time.perf_counter()

    def report() -> dict[str, Any]:
        return {"args": {k: str(v) for k, v in vars(args).items()}, "config": config.model_dump(),
                "machine": platform.platform(), "total_seconds": elapsed + time.perf_counter() - started,
                "build_seconds": build_seconds, "draws": [asdict(d) for d in draws]}

    args.json.parent.mkdir(parents=True, exist_ok=True)
    for d in range(max(args.null_draws, args.power_draws)):
        names = [*(["ticker permutation", "time shift"] if d < args.null_draws else []),
                 *([f"planted {ic}" for ic in oracle_ics] if d < args.power_draws else [])]
        if all((name, d) in done for name in names):
            continue
        t0 = time.perf_counter()
        dataset = synthetic_dataset(args.tickers, args.days, seed=args.seed + d)
        build_seconds.append(time.perf_counter() - t0)
        experiments = ["ticker permutation", "time shift", *(f"planted {ic}" for ic in oracle_ics)]
        rngs = dict(zip(experiments, (np.random.default_rng(s) for s in np.random.SeedSequence([args.seed, d]).spawn(
            len(experiments))), strict=True))
        for name in names:
            if (name, d) in done:
                continue
            draw = run_draw(name, d, _altered(name, dataset, rngs[name]), config)
            draws.append(draw)
            print(f"  draw {d:3d} {name:19s} gate {'PASS' if draw.passes else 'fail'} "
                  f"(ci {draw.by_ci}, dsr {draw.by_dsr}, old {draw.old_rule}) IC {draw.ic_mean} "
                  f"CI low {draw.ci_low} DSR {draw.dsr} oracle IC {draw.oracle_ic} {draw.seconds:.1f} s", flush=True)
        args.json.write_text(json.dumps(report(), indent=2))
    return report()


def print_report(report: dict[str, Any]) -> None:
    args = report["args"]
    draws = [Draw(**d) for d in report["draws"]]
    oracle_ics = [float(v) for v in args["oracle_ic"].split(",")]
    nulls = ["ticker permutation", "time shift"]
    print(f"\n{args['tickers']} tickers x {args['days']} days per draw, horizon {HORIZON}, execution lag 1, "
          f"seed {args['seed']}; rates with Wilson 95% intervals\n")
    print("| null | draws | gate passes (goal <= 5%) | CI lower bound > 0 alone | DSR >= 0.95 alone | "
          "old rule: CPCV mean IC > 0 |")
    print("|---|---:|---|---|---|---|")
    groups = {name: [d for d in draws if d.experiment == name] for name in nulls}
    groups["both nulls"] = [d for d in draws if d.experiment in nulls]
    for name, group in groups.items():
        if group:
            print(f"| {name} | {len(group)} | {_rate(group, 'passes')} | {_rate(group, 'by_ci')} | "
                  f"{_rate(group, 'by_dsr')} | {_rate(group, 'old_rule')} |")
    for name, group in groups.items():
        if len(group) > 1:
            print(f"{name}: {_calibration(group)}")

    planted_groups = {ic: [d for d in draws if d.experiment == f"planted {ic}"] for ic in oracle_ics}
    if any(planted_groups.values()):
        print("\n| planted signal | draws | gate passes (power) | CI lower bound > 0 alone | DSR >= 0.95 alone | "
              "realised oracle IC, mean (min, max) | model OOS IC, mean (min) |")
        print("|---|---:|---|---|---|---|---|")
        for ic, planted in planted_groups.items():
            realised = np.array([d.oracle_ic for d in planted], dtype=float)
            model_ic = np.array([d.ic_mean for d in planted], dtype=float)
            goal = f" (goal >= {GOAL_POWER:.0%})" if ic == oracle_ics[0] else ""
            print(f"| oracle IC {ic}{goal} | {len(planted)} | {_rate(planted, 'passes')} | {_rate(planted, 'by_ci')} | "
                  f"{_rate(planted, 'by_dsr')} | {realised.mean():.4f} ({realised.min():.4f}, {realised.max():.4f}) | "
                  f"{np.nanmean(model_ic):.4f} ({np.nanmin(model_ic):.4f}) |")

    seconds = np.array([d.seconds for d in draws])
    print(f"\ntrain_predictor per draw: median {np.median(seconds):.1f} s (min {seconds.min():.1f}, max "
          f"{seconds.max():.1f}); panel build per draw median {np.median(report['build_seconds']):.1f} s; "
          f"total {report['total_seconds'] / 60:.1f} min for {len(draws)} trainings")
    verdicts = []
    for name in nulls:
        if groups[name]:
            rate = sum(d.passes for d in groups[name]) / len(groups[name])
            verdicts.append(f"{name} {rate:.1%} ({'met' if rate <= GOAL_FALSE_PROMOTION else 'NOT met'})")
    if planted_groups[oracle_ics[0]]:
        power = sum(d.passes for d in planted_groups[oracle_ics[0]]) / len(planted_groups[oracle_ics[0]])
        verdicts.append(f"power at oracle IC {oracle_ics[0]} {power:.1%} ({'met' if power >= GOAL_POWER else 'NOT met'})")
    print("goals (point estimates): " + "; ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--null-draws", type=int, default=100, help="draws of each null (default 100)")
    parser.add_argument("--power-draws", type=int, default=20, help="planted-signal draws (default 20)")
    parser.add_argument("--tickers", type=int, default=100)
    parser.add_argument("--days", type=int, default=1500)
    parser.add_argument("--oracle-ic", default="0.13,0.02,0.01",
                        help="planted signals' mean daily Spearman ICs, comma-separated; the first is the goal's (0.13)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="draw d uses panel seed + d and its own null/noise seeds")
    parser.add_argument("--quick", action="store_true", help="5 draws of each null, 3 planted")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "predictor_null.json")
    parser.add_argument("--resume", action="store_true", help="keep the draws already in --json, train the rest")
    parser.add_argument("--report", type=Path, help="print the tables of a saved JSON again, without training")
    args = parser.parse_args()
    if args.report is not None:
        print_report(json.loads(args.report.read_text()))
        return
    if args.quick:
        args.null_draws, args.power_draws = 5, 3
    oracle_ics = [float(v) for v in str(args.oracle_ic).split(",")]
    config = TrainingConfig(horizon=HORIZON, execution_lag=1, vol_estimators=20, n_boot=1, randomization_draws=1,
                            threads=args.threads, seed=args.seed)
    previous = json.loads(args.json.read_text()) if args.resume and args.json.exists() else None
    report = run_draws(args, oracle_ics, config, previous)
    print_report(report)
    print(f"every draw: {args.json}")


if __name__ == "__main__":
    main()
