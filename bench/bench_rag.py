"""RAG index benchmark: ingestion throughput, hybrid query latency at 100k chunks, recall@k.

    .venv/bin/python bench/bench_rag.py                 # 100,000 synthetic chunks
    .venv/bin/python bench/bench_rag.py --chunks 20000  # quicker
    .venv/bin/python bench/bench_rag.py --embedder hashing  # the lexical embedder

1. **Ingestion**: synthetic documents (words drawn with a fixed seed from a 5,000-word vocabulary
   of made-up words, Zipf-distributed) ingested into a fresh index with the stage's defaults
   (1,200/200 characters, the stage's default WordLlamaEmbedder 256 d, or ``--embedder``): chunks/s end to end (chunking, embedding, SQLite
   + FTS5 writes, one transaction). The texts are synthetic: throughput and latency only.
2. **Query latency**: 2 x 200 hybrid queries (3-6 words; 'common': among the 2,000 most frequent
   words, 'mixed': any word) against that index, after one warm-up query that loads the embedding
   matrix (timed separately): p50/p95/max.
3. **Recall**: Article I of the US Constitution (public domain, ``bench/data/rag``) in 400/50
   character chunks, 22 labelled questions: recall@1/5/10 and MRR for hybrid, vector only and
   BM25 only, for both embedders (the lexical baseline measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alpha_engine.rag import EMBEDDERS, Document, Embedder, RagIndex, make_embedder

DATA = Path(__file__).resolve().parent / "data" / "rag"


@dataclass(frozen=True)
class Synthetic:
    """Deterministic made-up documents of about ``chunks_per_doc`` default-size chunks each."""

    n_docs: int
    chunks_per_doc: int = 5
    seed: int = 7
    name: str = "synthetic"

    def vocabulary(self) -> list[str]:
        rng = np.random.default_rng(self.seed)
        letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
        return ["".join(rng.choice(letters, size=int(rng.integers(3, 11)))) for _ in range(5000)]

    def check(self) -> None:
        pass

    def documents(self) -> Iterator[Document]:
        vocab = np.array(self.vocabulary())
        rng = np.random.default_rng(self.seed + 1)
        weights = 1.0 / np.arange(1, len(vocab) + 1)
        weights /= weights.sum()
        words_per_doc = self.chunks_per_doc * 150
        for i in range(self.n_docs):
            text = " ".join(rng.choice(vocab, size=words_per_doc, p=weights))
            yield Document(f"synthetic:{i:07d}", f"{i:064x}", lambda text=text: text)


def ingestion_and_latency(n_chunks: int, workdir: Path, embedder: Embedder) -> dict[str, float]:
    source = Synthetic(n_docs=max(1, n_chunks // 6))  # about 6 chunks of 1,200/200 per document
    embedder.embed(["warm up the import"])
    with RagIndex(workdir / "bench.sqlite") as index:
        started = time.perf_counter()
        stats = index.ingest([source], embedder)
        seconds = time.perf_counter() - started
        vocab = source.vocabulary()
        rng = np.random.default_rng(11)
        # 'common': words among the 2,000 most frequent (each in thousands of chunks: the slow case
        # for BM25); 'mixed': words drawn uniformly from the whole vocabulary.
        sets = {"common": vocab[:2000], "mixed": vocab}
        queries = {name: [" ".join(rng.choice(words, size=int(rng.integers(3, 7)))) for _ in range(200)]
                   for name, words in sets.items()}
        started = time.perf_counter()
        index.search(queries["common"][0], embedder, k=10)
        first = time.perf_counter() - started
        latency: dict[str, float] = {}
        for name, batch in queries.items():
            times = []
            for query in batch:
                started = time.perf_counter()
                index.search(query, embedder, k=10)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            latency |= {f"{name}_p50_ms": round(statistics.median(times), 1),
                        f"{name}_p95_ms": round(times[int(0.95 * len(times)) - 1], 1),
                        f"{name}_max_ms": round(times[-1], 1)}
        for part, run in (("vector_only", lambda q: index.vector_search(q, embedder, 50)),
                          ("bm25_only", lambda q: index.lexical_search(q, 50))):
            times = []
            for query in queries["common"]:
                started = time.perf_counter()
                run(query)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            latency[f"common_{part}_p95_ms"] = round(times[int(0.95 * len(times)) - 1], 1)
    return {"chunks": stats.chunks_total, "documents": stats.documents_seen, "ingest_seconds": round(seconds, 1),
            "chunks_per_second": round(stats.chunks_total / seconds, 1),
            "index_mib": round((workdir / "bench.sqlite").stat().st_size / 2**20, 1),
            "first_query_ms": round(first * 1000, 1), **latency}


def recall(workdir: Path, embedder: Embedder) -> dict[str, dict[str, float]]:
    from alpha_engine.rag import FolderSource

    labelled = json.loads((DATA / "queries.json").read_text(encoding="utf-8"))
    folder = workdir / "recall_docs"
    folder.mkdir(exist_ok=True)
    (folder / labelled["corpus"]).write_text((DATA / labelled["corpus"]).read_text(encoding="utf-8"),
                                             encoding="utf-8")
    out: dict[str, dict[str, float]] = {}
    (workdir / "recall.sqlite").unlink(missing_ok=True)
    with RagIndex(workdir / "recall.sqlite") as index:
        index.ingest([FolderSource(folder)], embedder, chunk_size=400, chunk_overlap=50)
        texts = {cid: text for cid, text in index._db.execute(
            "SELECT c.content_id, t.text FROM chunks c JOIN contents t ON t.id = c.content_id")}
        n_chunks = index.count("chunks")
        for mode in ("hybrid", "vector", "bm25"):
            ranks = []
            for item in labelled["queries"]:
                if mode == "hybrid":
                    found = [h.text for h in index.search(item["query"], embedder, k=10)]
                elif mode == "vector":
                    found = [texts[c] for c in index.vector_search(item["query"], embedder, 10)]
                else:
                    found = [texts[c] for c in index.lexical_search(item["query"], 10)]
                rank = next((i for i, text in enumerate(found, 1) if item["answer"] in text), None)
                ranks.append(rank)
            n = len(ranks)
            out[mode] = {f"recall@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 3)
                         for k in (1, 5, 10)}
            out[mode]["mrr@10"] = round(sum(1 / r for r in ranks if r is not None) / n, 3)
        out["corpus"] = {"chunks": n_chunks, "queries": len(labelled["queries"])}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--embedder", choices=EMBEDDERS, default=EMBEDDERS[0])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        embedder = make_embedder(args.embedder, 256)
        speed = ingestion_and_latency(args.chunks, Path(tmp), embedder)
        quality = {kind: recall(Path(tmp), make_embedder(kind, 256)) for kind in EMBEDDERS}
    print(json.dumps({"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(), "embedder": embedder.name,
                      "ingestion_and_query": speed, "recall": quality}, indent=2))


if __name__ == "__main__":
    main()
