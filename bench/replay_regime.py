"""Replay the weekly regime call on the bundled sample and score it in hindsight.

For each week ending Friday from ``--start`` to ``--end`` the substrate is computed as RegimeSubstrate
would have computed it that Saturday (HMM fitted on data up to that week only; default options), then
RegimeRetrospectiveEval's scoring runs as of ``--as-of`` (8-week lag, bear misses 2x). Prints the
figures quoted in docs/regime.md.

    PYTHONPATH=src python bench/replay_regime.py --workspace /tmp/ws   # a workspace after data-phase1
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from alpha_engine.app import SATURDAY
from alpha_engine.config import load_settings
from alpha_engine.pipeline import MARKET
from alpha_engine.regime import (
    RegimeCall,
    RegimeRetrospectiveOptions,
    RegimeSubstrateOptions,
    build_retrospective,
    build_substrate,
    load_regime_inputs,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--start", default="2021-11-05")
    parser.add_argument("--end", default="2022-11-04")
    parser.add_argument("--as-of", default="2022-12-30")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    settings = load_settings(workspace=args.workspace, env={})
    seed = settings.seed if args.seed is None else args.seed
    resources = SATURDAY.open_resources(settings, read_only=True, stage=SATURDAY.graph.stage("regime-substrate"),
                                        fence=None)
    store = resources.get(MARKET)
    calls, started = [], time.monotonic()
    for friday in pd.date_range(args.start, args.end, freq="W-FRI"):
        week = friday.date()
        document = build_substrate(load_regime_inputs(store, "SP500", week), RegimeSubstrateOptions(), seed=seed,
                                   run_date=week + timedelta(days=1))
        calls.append(RegimeCall(date=document["date"], week=document["week"], label=document["label"],
                                probabilities=document["probabilities"]))
    per_call = (time.monotonic() - started) / len(calls)
    as_of = date.fromisoformat(args.as_of)
    report = build_retrospective(calls, load_regime_inputs(store, "SP500", as_of), RegimeRetrospectiveOptions(),
                                 seed=seed, run_date=as_of + timedelta(days=1))
    print(json.dumps({"calls": len(calls), "seconds_per_call": round(per_call, 2),
                      "call_labels": dict(Counter(c.label for c in calls)), "status": report["status"],
                      "n_scorable": report["n_scorable"], "metrics": report["metrics"], "bear": report["bear"],
                      "confusion": report["confusion"]}, indent=1))


if __name__ == "__main__":
    main()
