"""The embedded RAG index: one SQLite file holding documents, chunks, embeddings and a BM25 index.

Layout (``SCHEMA_VERSION``):

* ``meta``: the embedder's name and dimension and the chunk size/overlap the index was built with;
* ``documents``: one row per document (source id, sha256 of its raw bytes, chunk count);
* ``chunks``: one row per chunk (stable id, document, position, span, content hash);
* ``contents``: one row per *distinct* chunk text (content-hash deduplication): the text and its
  embedding (float32, little-endian blob); identical chunks share one row and one embedding;
* ``contents_fts``: an FTS5 index over the distinct texts (porter stemming over unicode61,
  diacritics folded), external-content: the text is stored once, in ``contents``, and this code
  keeps the two in step (an insert into both; a ``'delete'`` command before a row goes).

**Ingestion** (:meth:`RagIndex.ingest`) is incremental and atomic: in one transaction, a document
whose content hash is unchanged is skipped (not extracted, not embedded), a changed one has its
chunks replaced, a document no source yields any more is removed, and a content no chunk uses
any more is dropped; only texts not already in ``contents`` are embedded. A different embedder
or chunking than the index was built with re-processes every document (the plan is shared with
the Postgres backend: ``_backend.plan_ingestion``). A write fence, if given, is asked right
before the commit. Nothing changed: nothing is written, and the file's bytes stay as they were.

**Retrieval** (:meth:`RagIndex.search`) is hybrid: the ``candidates`` nearest contents by cosine
similarity (brute force over an in-memory float32 matrix, loaded once per opened index) and the
``candidates`` best by FTS5 BM25 (over the query words :meth:`RagIndex.lexical_terms` keeps: words
too frequent in the index are left out, see there), fused by reciprocal rank fusion, score = sum of 1 / (k + rank)
with k = :data:`RRF_K` (60, as in Cormack et al. 2009), ties broken by content id. sqlite-vec is not
used: the interpreter's sqlite3 module here cannot load extensions.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from ._backend import (
    FENCED_KEY,
    RRF_K,
    Hit,
    IngestionStats,
    distinct_texts,
    embedded_batches,
    fuse,
    plan_ingestion,
)
from ._embedding import STOP_WORDS
from ._errors import RagIndexError

if TYPE_CHECKING:
    import numpy.typing as npt

    from alpha_engine.store import WriteFence

    from ._chunking import Chunk
    from ._embedding import Embedder
    from ._sources import Source

__all__ = ["FREQUENT_MIN_DOCS", "FREQUENT_TERM_FRACTION", "SCHEMA_VERSION", "RagIndex", "fts_query",
           "select_by_frequency"]

SCHEMA_VERSION = "1"
# BM25 query terms: a term in more than FREQUENT_TERM_FRACTION of the texts (and in more than
# FREQUENT_MIN_DOCS of them) is "frequent"; one in more than half of them (and FREQUENT_MIN_DOCS)
# has no weight (FTS5's bm25() clamps its idf to 1e-6). See RagIndex.lexical_terms.
FREQUENT_TERM_FRACTION = 0.05
FREQUENT_MIN_DOCS = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, n_chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS contents (
    id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL UNIQUE, text TEXT NOT NULL, embedding BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, source_id TEXT NOT NULL REFERENCES documents(source_id),
    position INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    content_id INTEGER NOT NULL REFERENCES contents(id));
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks(source_id, position);
CREATE INDEX IF NOT EXISTS chunks_by_content ON chunks(content_id);
CREATE VIRTUAL TABLE IF NOT EXISTS contents_fts USING fts5(
    text, content = 'contents', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
"""
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # as FTS5's unicode61 splits words


def select_by_frequency(words: list[str], docs: list[int], total: int) -> list[str]:
    """Rules 2 and 3 of :meth:`RagIndex.lexical_terms`: of ``words`` (in ``docs[i]`` of ``total``
    texts each), those a lexical search matches. Shared with the Postgres backend."""
    if total <= FREQUENT_MIN_DOCS:
        return words
    weighted = [(w, d) for w, d in zip(words, docs, strict=True) if d <= max(total / 2, FREQUENT_MIN_DOCS)]
    frequent = max(FREQUENT_TERM_FRACTION * total, FREQUENT_MIN_DOCS)
    rare = [w for w, d in weighted if d <= frequent]
    if rare or not weighted:
        return rare
    return [min(weighted, key=lambda item: item[1])[0]]


def fts_query(text: str) -> str:
    """An FTS5 query matching any word of ``text`` (each quoted, so no query syntax leaks in)."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
    return " OR ".join(f'"{w}"' for w in words)


class RagIndex:
    """The index file at ``path``; ``read_only`` opens it without any chance of writing (a missing
    file is then an error). Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._matrix: tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None
        self._doc_freq: tuple[int, dict[str, int]] | None = None  # texts, and texts per FTS5 term
        try:
            if read_only:
                if not self.path.is_file():
                    raise RagIndexError(f"RAG index {self.path} does not exist")
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                           isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, isolation_level=None)
            self._prepare()
        except sqlite3.Error as exc:
            raise RagIndexError(f"cannot open RAG index {self.path}: {exc}") from exc

    def _prepare(self) -> None:
        names = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not names and not self.read_only:
            # one script, one transaction (executescript commits whatever is pending before it runs)
            self._db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} INSERT INTO meta VALUES "
                                   f"('schema_version', '{SCHEMA_VERSION}'); COMMIT;")
            return
        if "meta" not in names:
            raise RagIndexError(f"{self.path} is not a RAG index (no meta table)")
        version = self.meta().get("schema_version")
        if version != SCHEMA_VERSION:
            raise RagIndexError(f"RAG index {self.path} has layout version {version!r}, this code reads "
                                f"{SCHEMA_VERSION!r}: delete the file and ingest again")

    @property
    def location(self) -> str:
        return str(self.path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RagIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def document_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT source_id, content_hash FROM documents").fetchall())

    def chunk_ids(self, source_id: str | None = None) -> list[str]:
        """Chunk ids in (document, position) order, of one document or all."""
        if source_id is None:
            rows = self._db.execute("SELECT chunk_id FROM chunks ORDER BY source_id, position")
        else:
            rows = self._db.execute("SELECT chunk_id FROM chunks WHERE source_id = ? ORDER BY position",
                                    (source_id,))
        return [row[0] for row in rows]

    def count(self, table: str) -> int:
        if table not in ("documents", "chunks", "contents"):
            raise ValueError(f"unknown table {table!r}")
        return int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def check_integrity(self) -> None:
        """Raise :class:`RagIndexError` if the FTS5 index disagrees with the stored texts, or the
        SQLite file is damaged."""
        try:
            self._db.execute("INSERT INTO contents_fts (contents_fts, rank) VALUES ('integrity-check', 1)")
            (verdict,) = self._db.execute("PRAGMA integrity_check").fetchone()
        except sqlite3.Error as exc:
            raise RagIndexError(f"RAG index {self.path}: integrity check failed: {exc}") from exc
        if verdict != "ok":
            raise RagIndexError(f"RAG index {self.path}: integrity check failed: {verdict}")

    # ----------------------------------------------------------------------------- ingestion

    def ingest(self, sources: Iterable[Source], embedder: Embedder, *, chunk_size: int = 1200,
               chunk_overlap: int = 200, fence: WriteFence | None = None) -> IngestionStats:
        """Bring the index in line with ``sources`` (see the module docstring), in one transaction;
        ``fence`` is asked right before it commits (a refusal rolls it back)."""
        if self.read_only:
            raise RagIndexError(f"RAG index {self.path} is open read-only: cannot ingest")
        started = time.perf_counter()
        stored = self.document_hashes()
        plan = plan_ingestion(sources, embedder, self.meta(), stored, chunk_size, chunk_overlap)
        chunks_removed = chunks_written = embedded = 0
        if plan.needs_write:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                if plan.reembed:
                    self._db.execute("DELETE FROM chunks")
                    self._db.execute("INSERT INTO contents_fts (contents_fts) VALUES ('delete-all')")
                    self._db.execute("DELETE FROM contents")
                for key, value in plan.wanted_meta.items():
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                for source_id in plan.removed + plan.replaced:
                    chunks_removed += self._db.execute("DELETE FROM chunks WHERE source_id = ?",
                                                       (source_id,)).rowcount
                    self._db.execute("DELETE FROM documents WHERE source_id = ?", (source_id,))
                embedded = self._store_contents([c for _, chunks in plan.todo for c in chunks], embedder)
                for document, chunks in plan.todo:
                    self._db.execute("INSERT INTO documents VALUES (?, ?, ?)",
                                     (document.source_id, document.content_hash, len(chunks)))
                    self._db.executemany(
                        "INSERT INTO chunks SELECT ?, ?, ?, ?, ?, id FROM contents WHERE content_hash = ?",
                        [(c.chunk_id, c.source_id, c.position, c.start, c.end, c.content_hash) for c in chunks])
                    chunks_written += len(chunks)
                self._drop_unused_contents()
                if fence is not None:
                    fence.check(str(self.path), FENCED_KEY)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._matrix = None
            self._doc_freq = None
        return IngestionStats(
            documents_seen=len(plan.seen), documents_added=plan.added, documents_changed=len(plan.replaced),
            documents_unchanged=len(plan.seen) - len(plan.todo), documents_removed=len(plan.removed),
            chunks_total=self.count("chunks"), chunks_written=chunks_written, chunks_removed=chunks_removed,
            chunks_embedded=embedded, contents_total=self.count("contents"), rebuilt=plan.rebuild,
            seconds=round(time.perf_counter() - started, 3))

    def _store_contents(self, chunks: list[Chunk], embedder: Embedder) -> int:
        fresh = distinct_texts(chunks)
        present: set[str] = set()
        hashes = list(fresh)
        for i in range(0, len(hashes), 500):
            batch = hashes[i:i + 500]
            marks = ",".join("?" * len(batch))
            present.update(r[0] for r in self._db.execute(
                f"SELECT content_hash FROM contents WHERE content_hash IN ({marks})", batch))
        missing = {h: fresh[h] for h in hashes if h not in present}
        for batch, vectors in embedded_batches(embedder, missing):
            for h, vector in zip(batch, vectors, strict=True):
                cursor = self._db.execute("INSERT INTO contents (content_hash, text, embedding) VALUES (?, ?, ?)",
                                          (h, fresh[h], vector.astype("<f4").tobytes()))
                self._db.execute("INSERT INTO contents_fts (rowid, text) VALUES (?, ?)",
                                 (cursor.lastrowid, fresh[h]))
        return len(missing)

    def _drop_unused_contents(self) -> None:
        unused = "SELECT id FROM contents WHERE id NOT IN (SELECT content_id FROM chunks)"
        self._db.execute(f"INSERT INTO contents_fts (contents_fts, rowid, text) "
                         f"SELECT 'delete', id, text FROM contents WHERE id IN ({unused})")
        self._db.execute(f"DELETE FROM contents WHERE id IN ({unused})")

    # ----------------------------------------------------------------------------- retrieval

    def _vectors(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if self._matrix is None:
            rows = self._db.execute("SELECT id, embedding FROM contents ORDER BY id").fetchall()
            dim = int(self.meta().get("dim", "0") or 0)
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
            # a copy: an aligned, owned array (a frombuffer view may be unaligned, and BLAS skips those)
            self._matrix = (ids, np.ascontiguousarray(matrix, dtype=np.float32).copy())
        return self._matrix

    def vector_search(self, query: str, embedder: Embedder, limit: int) -> list[int]:
        """Content ids of the ``limit`` nearest texts by cosine similarity, best first."""
        self.check_embedder(embedder)
        ids, matrix = self._vectors()
        if not len(ids):
            return []
        scores = np.einsum("ij,j->i", matrix, embedder.embed([query])[0])  # faster than @ here (one thread)
        if limit < len(scores):
            top = np.argpartition(-scores, limit)[:limit]
        else:
            top = np.arange(len(scores))
        order = top[np.lexsort((ids[top], -scores[top]))]
        return [int(ids[j]) for j in order if scores[j] > 0]

    def _document_frequencies(self) -> tuple[int, dict[str, int]]:
        """The number of texts and, per FTS5 term, the number of texts holding it (FTS5's own
        ``fts5vocab`` table, read once per opened index like the embedding matrix)."""
        if self._doc_freq is None:
            self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.rag_vocab "
                             "USING fts5vocab(main, contents_fts, row)")
            frequencies = {str(term): int(docs) for term, docs in self._db.execute("SELECT term, doc FROM temp.rag_vocab")}
            self._doc_freq = (self.count("contents"), frequencies)
        return self._doc_freq

    def _terms(self, words: list[str]) -> list[str | None]:
        """Each word's FTS5 term (porter stem, diacritics folded) as the index's tokenizer makes it;
        None for a word the tokenizer drops."""
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.rag_query USING fts5("
                         "text, tokenize = 'porter unicode61 remove_diacritics 2')")
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.rag_query_terms "
                         "USING fts5vocab(temp, rag_query, instance)")
        self._db.execute("DELETE FROM temp.rag_query")
        self._db.executemany("INSERT INTO temp.rag_query (rowid, text) VALUES (?, ?)", enumerate(words))
        terms: list[str | None] = [None] * len(words)
        for row, term in self._db.execute("SELECT doc, term FROM temp.rag_query_terms ORDER BY doc, offset"):
            if terms[row] is None:
                terms[row] = str(term)
        self._db.execute("DELETE FROM temp.rag_query")
        return terms

    def lexical_terms(self, query: str) -> list[str]:
        """The words of ``query`` that :meth:`lexical_search` matches, in query order.

        1. English function words (:data:`STOP_WORDS`) are left out when another word remains.
        2. With ``N`` texts in the index, a word whose term is in more than
           ``max(N / 2, FREQUENT_MIN_DOCS)`` texts is left out: FTS5's ``bm25()`` gives it no
           weight (its idf is clamped to 1e-6) but would score every text holding it. A query of
           only such words matches nothing lexically (the vector leg still answers).
        3. A word in more than ``max(FREQUENT_TERM_FRACTION * N, FREQUENT_MIN_DOCS)`` texts is
           *frequent*: frequent words are left out when a word that is not frequent remains;
           otherwise only the rarest frequent word is kept (ties: the first in the query). A
           frequent word's weight is small (idf < log 19 ~ 2.9 at 5%), and scoring the thousands
           of texts that hold it is what makes a query slow on a large index.

        ``FREQUENT_MIN_DOCS`` keeps small indexes as they were: scoring under a thousand texts is
        cheap, so nothing is gained by dropping a word there.
        """
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        content = [w for w in words if w not in STOP_WORDS] or words
        if not content:
            return []
        total, frequencies = self._document_frequencies()
        if total <= FREQUENT_MIN_DOCS:
            return content
        docs = [frequencies.get(term, 0) if term is not None else 0 for term in self._terms(content)]
        return select_by_frequency(content, docs, total)

    def lexical_search(self, query: str, limit: int) -> list[int]:
        """Content ids of the ``limit`` best texts by FTS5 BM25 over :meth:`lexical_terms`, best first."""
        words = self.lexical_terms(query)
        if not words:
            return []
        rows = self._db.execute(
            "SELECT rowid FROM contents_fts WHERE contents_fts MATCH ? ORDER BY bm25(contents_fts), rowid LIMIT ?",
            (fts_query(" ".join(words)), limit))
        return [int(r[0]) for r in rows]

    def search(self, query: str, embedder: Embedder, k: int = 10, *, candidates: int = 50,
               rrf_k: int = RRF_K) -> list[Hit]:
        """The ``k`` best chunks for ``query`` by hybrid retrieval (see the module docstring)."""
        vector = self.vector_search(query, embedder, candidates)
        lexical = self.lexical_search(query, candidates)
        hits = []
        for score, content, vector_rank, lexical_rank in fuse(vector, lexical, k, rrf_k):
            rows = self._db.execute(
                "SELECT c.chunk_id, c.source_id, c.position, t.text FROM chunks c JOIN contents t "
                "ON t.id = c.content_id WHERE c.content_id = ? ORDER BY c.source_id, c.position",
                (content,)).fetchall()
            if not rows:
                continue
            chunk, source, position, text = rows[0]
            hits.append(Hit(chunk, source, position, text, score, vector_rank, lexical_rank,
                            tuple(r[0] for r in rows[1:])))
        return hits

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise :class:`RagIndexError` if the index was built with another embedder than ``embedder``."""
        built = self.meta().get("embedder")
        if built is not None and built != embedder.name:
            raise RagIndexError(f"RAG index {self.path} was built with embedder {built!r}, "
                                f"queried with {embedder.name!r}: ingest again with that embedder")
