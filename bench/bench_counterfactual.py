"""Benchmark: the Counterfactual scan + fit over a synthetic decision corpus (issue 16, "Performance").

A local artifact store holds ``--artifacts`` decision artifacts (default 100,000, and a second
corpus of ``--big`` = 1,000,000) across 90 capture days ending at the run date and 8 agents
(``ic_cio``, ``macro_economist`` and 6 unsupported ``sector_quant:*``/``sector_qual:*``/... ids),
spread evenly (100,000: about 139 per agent and day). To keep disk use and build time sane, each
agent has a pool of 64 distinct decision files (valid :class:`DecisionArtifact` JSON, random CIO
scores and a planted ADVANCE rule, random macro indicators); every corpus key is a hard link to a
pool file, so the key's run_id and the run_id inside the file differ (the scan and the fit never
compare them). Files are linked, not written through the store: building 1,000,000 keys takes
about a minute.

Measured on each corpus, every store call counted through a wrapper:

* **ours**: :func:`run_counterfactual` (28-day window, cap 500 per agent applied while listing:
  one ``children`` listing per day, then one per agent folder until the agent's cap is full), its
  loads and its two fits;
* **naive baseline** (same run, same corpus): list the window's whole prefix (``store.list`` of
  each of the 28 day prefixes, recursive), keep the supported agents' keys, sort newest first, cap
  at 500 per agent, then load and fit the same way;
* **caps** 250/500/1000 with ours: listings, names listed, decisions loaded, seconds.

One untimed warm-up of each first (imports, page cache); then the median of ``--repeats`` (3).

    PYTHONPATH=src .venv/bin/python bench/bench_counterfactual.py [--artifacts 100000] [--big 1000000] [--repeats 3] [--json]

``--big 0`` skips the million. Goal: ours at most 10 s on 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alpha_engine.evals import day_prefix, load_decision, parse_captured_key, run_counterfactual
from alpha_engine.evals._counterfactual import SUPPORTED_AGENTS, fit_rule
from alpha_engine.research import DecisionArtifact
from alpha_engine.store import ArtifactStore

END = date(2026, 11, 21)
DAYS = 90
AGENTS = ("ic_cio", "macro_economist", "sector_quant:technology", "sector_quant:energy", "sector_qual:technology",
          "sector_peer_review:technology", "score_aggregator", "signal_builder")
POOL = 64


class CountingStore(ArtifactStore):
    """The artifact store, counting listing calls, names listed and reads."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.calls: Counter[str] = Counter()

    def children(self, prefix: str = "") -> list[str]:
        names = super().children(prefix)
        self.calls["listings"] += 1
        self.calls["names_listed"] += len(names)
        return names

    def list(self, prefix: str = "") -> list[str]:
        names = super().list(prefix)
        self.calls["listings"] += 1
        self.calls["names_listed"] += len(names)
        return names

    def read_bytes(self, key: str) -> bytes:
        self.calls["reads"] += 1
        return super().read_bytes(key)


def _doc(agent_id: str, rng: random.Random) -> dict[str, Any]:
    snapshot: dict[str, Any] = {}
    output: dict[str, Any] = {}
    if agent_id == "ic_cio":
        scores = [round(rng.uniform(0, 100), 2) for _ in range(8)]
        snapshot = {"picks": [{"ticker": f"T{i}", "team": "t", "sector": "s", "quant": s, "qual": rng.uniform(0, 100),
                               "macro_shift": rng.choice([-3.3, 0.0, 3.3]), "final_score": s, "rating": "BUY",
                               "factors": {}} for i, s in enumerate(scores)], "population": []}
        output = {"decisions": [{"ticker": f"T{i}", "decision": "ADVANCE" if s > 62 else "REJECT", "rank": i + 1,
                                 "conviction": round(s * 0.9, 2), "rationale": "r", "rule_tags": []}
                                for i, s in enumerate(scores)], "rationale": "r"}
    elif agent_id == "macro_economist":
        trend = {f"T{i}": rng.gauss(0, 0.1) for i in range(50)}
        label = rng.choice(["bull", "neutral", "bear"])
        snapshot = {"regime_substrate": {"label": label, "probabilities": {"bull": 0.4, "neutral": 0.4, "bear": 0.2},
                                         "source": "x"},
                    "price_vs_ma200": trend, "momentum_20d": {t: rng.gauss(0, 0.05) for t in trend}, "sector_of": {}}
        output = {"market_regime": label if rng.random() < 0.8 else "neutral", "sector_modifiers": {},
                  "sector_ratings": {}, "rationale": "m"}
    else:
        snapshot = {"tickers": [f"T{i}" for i in range(20)]}
        output = {"team": "t", "top": [{"ticker": f"T{i}", "quant_score": 50.0, "factors": {}, "rationale": "q"}
                                       for i in range(10)]}
    return DecisionArtifact(run_id="pool", timestamp="2026-11-21T00:00:00Z", agent_id=agent_id, node_name="n",
                            backend="deterministic", rule_set="r1", input_data_snapshot=snapshot,
                            input_data_summary="synthetic", input_data_truncated_at=None, truncated_fields=[],
                            agent_output=output, data_snapshot_id="bench").model_dump(mode="json")


def build(root: Path, total: int) -> float:
    """``total`` decision keys under ``root`` (hard links to a pool); returns the build seconds."""
    started = time.perf_counter()
    rng = random.Random(0)
    pool = root / "_pool"
    pool.mkdir(parents=True)
    sources: dict[str, list[Path]] = {}
    for agent in AGENTS:
        sources[agent] = []
        for i in range(POOL):
            path = pool / f"{agent.replace(':', '_')}-{i}.json"
            path.write_text(json.dumps(_doc(agent, rng), sort_keys=True), encoding="utf-8")
            sources[agent].append(path)
    per_cell, extra = divmod(total, DAYS * len(AGENTS))
    cell = 0
    for back in range(DAYS):
        day = END - timedelta(days=back)
        for agent in AGENTS:
            folder = root / day_prefix(day) / agent
            folder.mkdir(parents=True)
            count = per_cell + (1 if cell < extra else 0)
            cell += 1
            for i in range(count):
                os.link(sources[agent][i % POOL], folder / f"{day.isoformat()}-r{i:06d}.json")
    return time.perf_counter() - started


def naive(store: ArtifactStore, *, window_days: int, cap: int) -> int:
    """The baseline: list the window's whole prefix, then cap, then load and fit."""
    keys: dict[str, list[Any]] = {}
    for back in range(window_days):
        for key in store.list(day_prefix(END - timedelta(days=back))):
            parsed = parse_captured_key(key)
            if parsed is not None and parsed.agent_id in SUPPORTED_AGENTS:
                keys.setdefault(parsed.agent_id, []).append(parsed)
    loaded = 0
    for agent_id, items in sorted(keys.items()):
        items.sort(key=lambda k: (k.capture_date, k.run_id), reverse=True)
        rows = []
        for item in items[:cap]:
            rows.extend(SUPPORTED_AGENTS[agent_id](load_decision(store, item.key)))
            loaded += 1
        fit_rule(agent_id, rows)
    return loaded


def measure(root: Path, label: str, caps: tuple[int, ...], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {"corpus": label, "runs": []}
    run_counterfactual(ArtifactStore(str(root)), end=END, window_days=28)  # warm-up: imports, page cache
    naive(ArtifactStore(str(root)), window_days=28, cap=500)
    for name, cap in [("ours", 500), ("naive", 500)] + [(f"ours cap {c}", c) for c in caps]:
        times = []
        for _ in range(repeats):
            store = CountingStore(str(root))
            started = time.perf_counter()
            if name == "naive":
                loaded = naive(store, window_days=28, cap=cap)
                match: dict[str, Any] = {}
            else:
                result = run_counterfactual(store, end=END, window_days=28, per_agent_cap=cap)
                loaded = result.decisions_loaded
                match = {a: f.match_rate for a, f in result.fits.items() if f.status == "FIT"}
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        run = {"name": name, "cap": cap, "seconds": round(seconds, 3), "listings": store.calls["listings"],
               "names_listed": store.calls["names_listed"], "decisions_loaded": loaded, "match_rate": match}
        out["runs"].append(run)
        print(f"  {label} {name}: {run}", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-counterfactual-") as tmp:
        for total in (args.artifacts, args.big):
            if not total:
                continue
            root = Path(tmp) / f"corpus{total}"
            built = build(root, total)
            print(f"built {total:,} keys in {built:.1f} s", file=sys.stderr)
            results.append({"artifacts": total, "build_seconds": round(built, 1),
                            **measure(root, f"{total:,}", (250, 500, 1000), args.repeats)})
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("| corpus | run | cap | seconds | listings | names listed | decisions loaded | vs naive |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for corpus in results:
        naive_seconds = next(r["seconds"] for r in corpus["runs"] if r["name"] == "naive")
        for r in corpus["runs"]:
            ratio = f"{r['seconds'] / naive_seconds:.2f}x" if naive_seconds else "-"
            print(f"| {corpus['artifacts']:,} | {r['name']} | {r['cap']} | {r['seconds']} | {r['listings']:,} | "
                  f"{r['names_listed']:,} | {r['decisions_loaded']:,} | {ratio} |")


if __name__ == "__main__":
    main()
