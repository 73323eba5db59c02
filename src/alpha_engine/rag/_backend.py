"""What every RAG index backend shares: the interface, the ingestion plan, rank fusion.

Two backends implement :class:`RagBackend`: :class:`~alpha_engine.rag.RagIndex` (one SQLite file,
the default) and :class:`~alpha_engine.rag.PostgresRagIndex` (Postgres + pgvector). They differ
in storage and in the two retrievers' scoring; these parts are the same by construction:

* **which documents an ingestion touches** (:func:`plan_ingestion`): a document whose raw-byte
  hash is unchanged is skipped (not extracted, not embedded); a changed or new one is chunked; one
  no source yields any more is removed; another embedder (name or dimension) re-embeds every
  content, another chunking re-chunks every document;
* **which texts are embedded** (:func:`distinct_texts`): only content hashes not already stored;
* **the fence** (:class:`~alpha_engine.store.WriteFence`): asked right before the ingestion's
  transaction commits (:data:`FENCED_KEY`); a refusal rolls the transaction back;
* **fusion** (:func:`fuse`): reciprocal rank fusion of the vector and the lexical candidates,
  score = sum of 1 / (k + rank), k = :data:`RRF_K` (60, as in Cormack et al. 2009), ties by
  content id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._chunking import Chunk, chunk_text
from ._errors import RagIndexError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from alpha_engine.store import WriteFence

    from ._embedding import Embedder
    from ._sources import Document, Source

__all__ = ["FENCED_KEY", "RRF_K", "Hit", "IngestionPlan", "IngestionStats", "RagBackend", "fuse",
           "distinct_texts", "embedded_batches", "plan_ingestion"]

RRF_K = 60
# What an ingestion names when it asks the write fence (the store is the index's location).
FENCED_KEY = "RAG ingestion"
EMBED_BATCH = 256


@dataclass(frozen=True)
class IngestionStats:
    """What one ingestion did (``seconds`` is wall time, the only field that is not deterministic)."""

    documents_seen: int = 0
    documents_added: int = 0
    documents_changed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_total: int = 0
    chunks_written: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0  # distinct texts embedded this time (others reuse a stored embedding)
    contents_total: int = 0
    rebuilt: bool = False  # the embedder or the chunking differed from the index's
    seconds: float = 0.0


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk: its text, where it comes from, its fused score and its two ranks
    (1-based; None when the chunk is not among that retriever's candidates)."""

    chunk_id: str
    source_id: str
    position: int
    text: str
    score: float
    vector_rank: int | None
    lexical_rank: int | None
    also_in: tuple[str, ...] = ()  # other chunk ids with the same text (deduplicated)


class RagBackend(Protocol):
    """A RAG index: incremental ingestion, hybrid search, checks (both backends implement it)."""

    @property
    def location(self) -> str:
        """Where the index is, for messages (a path, or a DSN without its password and a schema)."""
        ...

    def meta(self) -> dict[str, str]:
        ...

    def document_hashes(self) -> dict[str, str]:
        ...

    def chunk_ids(self, source_id: str | None = None) -> list[str]:
        ...

    def count(self, table: str) -> int:
        """Rows of ``documents``, ``chunks`` or ``contents``."""
        ...

    def check_integrity(self) -> None:
        ...

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise RagIndexError if the index was built with another embedder than ``embedder``."""
        ...

    def ingest(self, sources: Iterable[Source], embedder: Embedder, *, chunk_size: int = 1200,
               chunk_overlap: int = 200, fence: WriteFence | None = None) -> IngestionStats:
        ...

    def vector_search(self, query: str, embedder: Embedder, limit: int) -> list[int]:
        ...

    def lexical_search(self, query: str, limit: int) -> list[int]:
        ...

    def search(self, query: str, embedder: Embedder, k: int = 10, *, candidates: int = 50,
               rrf_k: int = RRF_K) -> list[Hit]:
        ...

    def close(self) -> None:
        ...


@dataclass(frozen=True)
class IngestionPlan:
    """What an ingestion must do, decided from the index's meta and document hashes alone."""

    wanted_meta: dict[str, str]
    seen: list[Document]
    todo: list[tuple[Document, list[Chunk]]]  # new or changed documents, chunked
    removed: list[str]  # source ids no source yields any more
    replaced: list[str]  # stored source ids re-chunked (changed, or everything on a rebuild)
    added: int
    rebuild: bool  # another embedder or chunking than the index's
    reembed: bool  # another embedder: every content goes
    needs_write: bool  # False: the index already matches, nothing is written


def plan_ingestion(sources: Iterable[Source], embedder: Embedder, current_meta: dict[str, str],
                   stored: dict[str, str], chunk_size: int, chunk_overlap: int) -> IngestionPlan:
    """The plan of bringing an index (``current_meta``, ``stored`` source id -> hash) in line with
    ``sources`` (see the module docstring); chunks the documents it must (re)write."""
    wanted = {"embedder": embedder.name, "dim": str(embedder.dim), "chunk_size": str(chunk_size),
              "chunk_overlap": str(chunk_overlap)}
    rebuild = any(current_meta.get(k) not in (None, v) for k, v in wanted.items())
    reembed = (current_meta.get("embedder") not in (None, embedder.name)
               or current_meta.get("dim") not in (None, wanted["dim"]))
    known = {} if rebuild else stored
    seen: list[Document] = []
    ids: set[str] = set()
    for source in sources:
        for document in source.documents():
            if document.source_id in ids:
                raise RagIndexError(f"two documents share the source id {document.source_id!r}")
            ids.add(document.source_id)
            seen.append(document)
    todo = [d for d in seen if known.get(d.source_id) != d.content_hash]
    removed = sorted(set(stored) - ids)
    chunked = [(d, chunk_text(d.source_id, d.load(), chunk_size, chunk_overlap)) for d in todo]
    needs_write = bool(todo or removed or reembed or any(current_meta.get(k) != v for k, v in wanted.items()))
    return IngestionPlan(wanted_meta=wanted, seen=seen, todo=chunked, removed=removed,
                         replaced=[d.source_id for d in todo if d.source_id in stored],
                         added=sum(1 for d in todo if d.source_id not in stored), rebuild=rebuild,
                         reembed=reembed, needs_write=needs_write)


def distinct_texts(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Content hash -> text of the distinct chunk texts, in first-seen order (a backend embeds
    those it does not store yet)."""
    fresh: dict[str, str] = {}
    for chunk in chunks:
        fresh.setdefault(chunk.content_hash, chunk.text)
    return fresh


def embedded_batches(embedder: Embedder, texts: dict[str, str],
                     batch: int = EMBED_BATCH) -> Iterator[tuple[list[str], npt.NDArray[np.float32]]]:
    """``texts`` (content hash -> text) embedded ``batch`` at a time: (hashes, vectors) per batch;
    a vector array of another shape than (len(hashes), embedder.dim) is a RagIndexError."""
    hashes = list(texts)
    for i in range(0, len(hashes), batch):
        part = hashes[i:i + batch]
        vectors = embedder.embed([texts[h] for h in part])
        if vectors.shape != (len(part), embedder.dim):
            raise RagIndexError(f"embedder {embedder.name} returned shape {vectors.shape}, "
                                f"expected {(len(part), embedder.dim)}")
        yield part, vectors


def fuse(vector: list[int], lexical: list[int], k: int, rrf_k: int = RRF_K) -> list[tuple[float, int, int | None,
                                                                                         int | None]]:
    """Reciprocal rank fusion of two best-first lists of content ids: the ``k`` best as (score,
    content id, vector rank, lexical rank), by score then content id."""
    ranks: dict[int, list[int | None]] = {}
    for which, found in enumerate((vector, lexical)):
        for rank, content in enumerate(found, start=1):
            ranks.setdefault(content, [None, None])[which] = rank
    scored = sorted(((sum(1.0 / (rrf_k + r) for r in pair if r is not None), content)
                     for content, pair in ranks.items()), key=lambda item: (-item[0], item[1]))[:k]
    return [(score, content, ranks[content][0], ranks[content][1]) for score, content in scored]
