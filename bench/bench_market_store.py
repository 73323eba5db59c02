"""Market store throughput: ArcticDB (LMDB) through ``MarketStore`` vs one parquet file per ticker.

The panel is the production shape: ``--tickers`` (900) x ``--days`` (2,520, ten years of weekdays),
columns Open..VWAP (float64), ``source`` (str) and ``--features`` (55) float32 feature columns.
Prices come from ``alpha_engine.data._synthetic.synthetic_bars`` (seeded random walks if that module
is missing); features are seeded standard normals. Same seed, same data.

Operations, each timed on both back ends in this one run:

* full write        ``upsert_many`` into an empty store | ``pyarrow.parquet.write_table`` per ticker
* full read         ``read_many()``                     | ``read_table(...).to_pandas()`` per ticker
* range+cols read   last 60 days, Close + 5 features    | same, ``columns=`` + a date filter
* unchanged upsert  ``upsert_many`` of the same panel   | read every file and compare (the same check)
* one-day append    one new row for every ticker        | read, concat, rewrite every file

Reads are repeated ``--runs`` times (median reported); writes run once (each needs a fresh state).
Prints a markdown table; ``--json`` also writes every number. Parquet runs in one thread; ArcticDB
uses its own I/O and CPU thread pools.

    .venv/bin/python bench/bench_market_store.py                # 900 x 2520 x 55
    .venv/bin/python bench/bench_market_store.py --tickers 150  # quick
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from alpha_engine.store import PRICE_COLUMNS, SOURCE_COLUMN, MarketStore

RANGE_DAYS = 60


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_panel(n_tickers: int, n_days: int, n_features: int, seed: int
                ) -> tuple[dict[str, pd.DataFrame], list[str], str]:
    features = [f"feature_{i:02d}" for i in range(n_features)]
    try:
        from alpha_engine.data._synthetic import synthetic_bars
    except ImportError:
        bars, origin = random_walk_bars(n_tickers, n_days, seed), "seeded random walks"
    else:
        bars, origin = synthetic_bars(n_tickers, n_days, seed=seed)[0], "synthetic_bars"
    rng = np.random.default_rng(seed + 1)
    frames = {}
    for ticker, frame in bars.items():
        values = rng.standard_normal((n_days, n_features), dtype=np.float32)
        frames[ticker] = pd.concat([frame, pd.DataFrame(values, index=frame.index, columns=features)], axis=1)
    return frames, features, origin


def random_walk_bars(n_tickers: int, n_days: int, seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-02", periods=n_days, name="date")
    closes = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, (n_days, n_tickers)), axis=0))
    out = {}
    for i in range(n_tickers):
        frame = pd.DataFrame({c: np.nan for c in PRICE_COLUMNS}, index=dates)
        frame["Close"] = closes[:, i]
        frame["Volume"] = rng.lognormal(14.0, 0.5, n_days).round()
        frame[SOURCE_COLUMN] = "synthetic"
        out[f"SYN{i:04d}"] = frame[[*PRICE_COLUMNS, SOURCE_COLUMN]]
    return out


def next_day_rows(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One new bar per ticker, the next weekday after its last row (values: its last row)."""
    out = {}
    for ticker, frame in frames.items():
        row = frame.iloc[-1:].copy()
        row.index = pd.DatetimeIndex([frame.index[-1] + pd.offsets.BDay()], name="date")
        out[ticker] = row
    return out


def timed(fn: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        result = None  # drop the previous run's frames before timing the next one
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- parquet baseline -------------------------------------------------------------------------------

def parquet_write(root: Path, frames: dict[str, pd.DataFrame]) -> None:
    for ticker, frame in frames.items():
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), root / f"{ticker}.parquet")


def parquet_read(root: Path, tickers: list[str], columns: list[str] | None = None,
                 start: pd.Timestamp | None = None) -> dict[str, pd.DataFrame]:
    filters = None if start is None else [("date", ">=", start)]
    wanted = None if columns is None else [*columns, "date"]
    out = {}
    for ticker in tickers:
        frame = pq.read_table(root / f"{ticker}.parquet", columns=wanted, filters=filters).to_pandas()
        out[ticker] = frame
    return out


def parquet_unchanged(root: Path, frames: dict[str, pd.DataFrame]) -> int:
    """What a no-op check costs on parquet: read each file and compare (NaN == NaN)."""
    same = 0
    for ticker, frame in frames.items():
        stored = pq.read_table(root / f"{ticker}.parquet").to_pandas()
        same += bool(stored.equals(frame))
    return same


def parquet_append(root: Path, rows: dict[str, pd.DataFrame]) -> None:
    # parquet files are immutable: an append is read + concat + rewrite of the whole file
    for ticker, row in rows.items():
        path = root / f"{ticker}.parquet"
        frame = pd.concat([pq.read_table(path).to_pandas(), row])
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=True), path)


# -- main -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickers", type=int, default=900)
    parser.add_argument("--days", type=int, default=2520)
    parser.add_argument("--features", type=int, default=55)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each read (median reported)")
    parser.add_argument("--workdir", type=Path, default=None, help="where the stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--json", type=Path, default=None, help="also write every number here")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-market-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    arctic_dir, parquet_dir = workdir / "arcticdb", workdir / "parquet"
    for path in (arctic_dir, parquet_dir):
        shutil.rmtree(path, ignore_errors=True)
    parquet_dir.mkdir()
    try:
        report = run(args, arctic_dir, parquet_dir)
    finally:
        if not args.keep:
            shutil.rmtree(arctic_dir, ignore_errors=True)
            shutil.rmtree(parquet_dir, ignore_errors=True)
            if args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)
    print(render(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


def run(args: argparse.Namespace, arctic_dir: Path, parquet_dir: Path) -> dict[str, Any]:
    log(f"building the panel: {args.tickers} tickers x {args.days} days x {args.features} features ...")
    start = time.perf_counter()
    frames, features, origin = build_panel(args.tickers, args.days, args.features, args.seed)
    log(f"  {time.perf_counter() - start:.1f} s ({origin})")
    tickers = list(frames)
    n_rows = args.tickers * args.days
    dates = next(iter(frames.values())).index
    range_start = dates[-RANGE_DAYS]
    range_columns = ["Close", *features[:5]]
    appended = next_day_rows(frames)

    store = MarketStore(f"lmdb://{arctic_dir}", feature_columns=features)
    ops: list[dict[str, Any]] = []

    def record(name: str, rows: int, arctic: list[float], parquet: list[float]) -> None:
        ops.append({"operation": name, "rows": rows, "arcticdb_s": arctic, "parquet_s": parquet})
        log(f"  {name}: arcticdb {statistics.median(arctic):.2f} s, parquet {statistics.median(parquet):.2f} s")

    with store.writer():
        store.ensure_libraries()
        log("full write ...")
        arctic, results = timed(lambda: store.upsert_many(frames), 1)
        assert {r.mode for r in results} == {"created"}, "full write did not create every symbol"
        parquet, _ = timed(lambda: parquet_write(parquet_dir, frames), 1)
        record("full write", n_rows, arctic, parquet)

        log("full read ...")
        arctic, read_back = timed(store.read_many, args.runs)
        assert len(read_back) == len(tickers)
        del read_back
        parquet, _ = timed(lambda: parquet_read(parquet_dir, tickers), args.runs)
        record("full read", n_rows, arctic, parquet)

        log("range + column read ...")
        arctic, subset = timed(lambda: store.read_many(start=range_start.date(), columns=range_columns), args.runs)
        assert all(len(f) == RANGE_DAYS and list(f.columns) == range_columns for f in subset.values())
        parquet, _ = timed(lambda: parquet_read(parquet_dir, tickers, range_columns, range_start), args.runs)
        record(f"read last {RANGE_DAYS} days, Close + 5 features", args.tickers * RANGE_DAYS, arctic, parquet)

        log("unchanged re-upsert ...")
        arctic, results = timed(lambda: store.upsert_many(frames), 1)
        assert {r.mode for r in results} == {"unchanged"}, "re-upsert of the same panel wrote something"
        parquet, same = timed(lambda: parquet_unchanged(parquet_dir, frames), 1)
        assert same == len(tickers)
        record("unchanged re-upsert (no-op)", n_rows, arctic, parquet)

        log("one-day append ...")
        arctic, results = timed(lambda: store.upsert_many(appended), 1)
        assert {r.mode for r in results} == {"appended"}
        parquet, _ = timed(lambda: parquet_append(parquet_dir, appended), 1)
        record("one-day append", args.tickers, arctic, parquet)

        log("full read after the append ...")
        arctic, _ = timed(store.read_many, args.runs)
        parquet, _ = timed(lambda: parquet_read(parquet_dir, tickers), args.runs)
        record("full read after the append", n_rows + args.tickers, arctic, parquet)

    return {
        "panel": {"tickers": args.tickers, "days": args.days, "features": args.features,
                  "columns": len(PRICE_COLUMNS) + 1 + args.features, "rows": n_rows, "prices": origin,
                  "seed": args.seed, "first_date": str(dates[0].date()), "last_date": str(dates[-1].date())},
        "runs": args.runs,
        "operations": ops,
        "disk_bytes": {"arcticdb": dir_size(arctic_dir), "parquet": dir_size(parquet_dir)},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "arcticdb": _version("arcticdb"), "pyarrow": pa.__version__,
                    "pandas": pd.__version__},
        "date": str(date.today()),
    }


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def render(report: dict[str, Any]) -> str:
    panel = report["panel"]
    lines = [
        f"Market store: {panel['tickers']} tickers x {panel['days']} days x {panel['columns']} columns "
        f"({panel['features']} float32 features), {panel['rows']:,} rows; prices from {panel['prices']}; "
        f"reads: median of {report['runs']}",
        "",
        "| operation | rows | ArcticDB s | ArcticDB rows/s | parquet s | parquet rows/s | parquet / ArcticDB time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op in report["operations"]:
        arctic, parquet = statistics.median(op["arcticdb_s"]), statistics.median(op["parquet_s"])
        lines.append(f"| {op['operation']} | {op['rows']:,} | {arctic:.2f} | {op['rows'] / arctic:,.0f} | "
                     f"{parquet:.2f} | {op['rows'] / parquet:,.0f} | {parquet / arctic:.2f}x |")
    disk = report["disk_bytes"]
    lines += ["", f"On disk: ArcticDB {disk['arcticdb'] / 1e6:,.0f} MB (LMDB, sparse map), "
                  f"parquet {disk['parquet'] / 1e6:,.0f} MB (snappy); machine: {report['machine']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
