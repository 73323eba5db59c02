"""Benchmark: RationaleClustering at 500 rationales x 8 agents (issue 16, "Performance").

Each of 8 agents gets 500 synthetic rationales (seeded): a share from a few templates with numbers
and tickers filled in (``--templated``, default 0.5) and the rest random 12-word sentences over a
400-word vocabulary. Measured, median of ``--repeats`` (5) after an untimed warm-up:

* **cluster**: :func:`cluster_rationales` on the 8 agents (digit normalisation, char_wb 3-5 TF-IDF,
  cosine, connected components at >= 0.75): the issue's figure, goal at most 5 s;
* **linkage only**, ours (``scipy.sparse.csgraph.connected_components`` on the thresholded
  matrix) against a baseline in the same run: a greedy pure-Python single linkage (union-find over
  every pair at or above the threshold), on the same similarity matrices;
* **end to end**: :func:`run_rationale_clustering` on a local store holding one decision per
  rationale for the 6 families that write prose (500 each: scan, load, extract, cluster).

    PYTHONPATH=src .venv/bin/python bench/bench_rationale_clustering.py [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from alpha_engine.evals import (
    cluster_rationales,
    day_prefix,
    link_components,
    normalise_digits,
    run_rationale_clustering,
)
from alpha_engine.research import DecisionArtifact
from alpha_engine.store import ArtifactStore

END = date(2026, 11, 21)
N = 500
AGENTS = 8
TEMPLATES = (
    "Advanced {t}: final score {a}.{b} at or above the entry bar of {c}; rank {d} of {e}",
    "Rejected {t}: final score {a}.{b} below the entry bar of {c}",
    "{t} rated BUY on quant {a} and qual {c}; momentum {b}% over {d} days",
)
FAMILIES = {  # family -> (agent id, how one rationale sits in its output)
    "ic_cio": ("ic_cio", lambda r: {"decisions": [], "rationale": r}),
    "macro_economist": ("macro_economist", lambda r: {"market_regime": "bull", "sector_modifiers": {},
                                                      "sector_ratings": {}, "rationale": r}),
    "sector_peer_review": ("sector_peer_review:tech", lambda r: {"team": "tech", "picks": [], "rationale": r}),
    "sector_qual": ("sector_qual:tech", lambda r: {"team": "tech", "assessments": [], "extra_candidates": [],
                                                   "note": r}),
    "sector_quant": ("sector_quant:tech", lambda r: {"team": "tech", "top": [{"ticker": "T", "quant_score": 1.0,
                                                                             "factors": {}, "rationale": r}]}),
    "thesis_update": ("thesis_update:tech:T", lambda r: {"ticker": "T", "team": "tech", "triggers": [],
                                                         "thesis_summary": r, "conviction": "stable"}),
}


def rationales(rng: random.Random, templated: float) -> list[str]:
    words = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}"
             f"{rng.choice('aeiouy')}{rng.choice('dgkmnpst')}" for _ in range(400)]
    out = []
    for _ in range(N):
        if rng.random() < templated:
            out.append(rng.choice(TEMPLATES).format(t=f"T{rng.randrange(500)}", a=rng.randrange(100),
                                                    b=rng.randrange(100), c=rng.randrange(100),
                                                    d=rng.randrange(40), e=rng.randrange(40, 80)))
        else:
            out.append(" ".join(rng.choice(words) for _ in range(12)).capitalize() + ".")
    return out


def naive_linkage(similarity: np.ndarray[Any, Any], threshold: float) -> int:
    """Greedy single linkage in pure Python (union-find over every pair); returns the cluster count."""
    n = similarity.shape[0]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows = similarity.tolist()
    for i in range(n):
        row = rows[i]
        for j in range(i):
            if row[j] >= threshold - 1e-9:
                parent[find(i)] = find(j)
    return len({find(i) for i in range(n)})


def _median(fn: Any, repeats: int) -> tuple[float, Any]:
    fn()
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--templated", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(0)
    corpus = [rationales(rng, args.templated) for _ in range(AGENTS)]
    cluster_s, reports = _median(lambda: [cluster_rationales(t) for t in corpus], args.repeats)
    sims = []
    for texts in corpus:
        vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(
            [normalise_digits(t) for t in texts])
        sims.append((vectors @ vectors.T).toarray())
    ours_s, ours = _median(lambda: [len(link_components(s, 0.75)) for s in sims], args.repeats)
    naive_s, naive = _median(lambda: [naive_linkage(s, 0.75) for s in sims], args.repeats)
    assert ours == naive, (ours, naive)
    with tempfile.TemporaryDirectory(prefix="bench-rationale-") as tmp:
        store = ArtifactStore(str(Path(tmp) / "artifacts"))
        for f, (family, (agent_id, shape)) in enumerate(sorted(FAMILIES.items())):
            for i, text in enumerate(corpus[f]):
                day = END - timedelta(days=i % 56)
                run_id = f"{day.isoformat()}-r{i:04d}"
                store.write_json(f"{day_prefix(day)}{agent_id}/{run_id}.json", DecisionArtifact(
                    run_id=run_id, timestamp="2026-11-21T00:00:00Z", agent_id=agent_id, node_name="n",
                    backend="deterministic", rule_set="r1", input_data_snapshot={}, input_data_summary="s",
                    input_data_truncated_at=None, truncated_fields=[], agent_output=shape(text),
                    data_snapshot_id="d").model_dump(mode="json"))
            del family
        e2e_s, run = _median(lambda: run_rationale_clustering(store, end=END), args.repeats)
    out = {"agents": AGENTS, "rationales_per_agent": N, "templated_share": args.templated,
           "cluster_seconds": round(cluster_s, 3),
           "concentrations": [r.concentration for r in reports], "flags": [r.flag for r in reports],
           "linkage_seconds": {"ours": round(ours_s, 4), "naive_python": round(naive_s, 4),
                               "ratio": round(ours_s / naive_s, 3) if naive_s else None},
           "clusters_per_agent": ours,
           "end_to_end_seconds_6_families": round(e2e_s, 3), "end_to_end_decisions_loaded": run.decisions_loaded}
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(json.dumps(out), file=sys.stderr)
    print(f"cluster 500 x {AGENTS}: {out['cluster_seconds']} s (goal <= 5 s); linkage ours "
          f"{out['linkage_seconds']['ours']} s vs naive pure-Python {out['linkage_seconds']['naive_python']} s "
          f"({out['linkage_seconds']['ratio']}x); end to end 6 families x 500: {out['end_to_end_seconds_6_families']} s "
          f"({run.decisions_loaded} decisions loaded); concentrations {out['concentrations']}")


if __name__ == "__main__":
    main()
