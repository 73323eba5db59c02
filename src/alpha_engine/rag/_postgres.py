"""The RAG index in Postgres + pgvector: the same interface as the SQLite :class:`RagIndex`.

Layout (``SCHEMA_VERSION``), in one Postgres schema (``rag`` by default), created idempotently by
the first writer (under an advisory lock, in one transaction):

* the ``vector`` extension (``CREATE EXTENSION IF NOT EXISTS vector``; pgvector must be installed
  on the server, see :func:`_missing_pgvector`);
* ``meta``, ``documents``, ``chunks``: as in the SQLite index;
* ``contents``: one row per distinct chunk text: the text, its embedding (``vector(dim)``; the
  dimension is set when the first embedder is known, and again when another replaces it), and a
  stored ``tsvector`` (``to_tsvector('english', text)``: Snowball English stemming, stop words
  dropped);
* indexes: HNSW over the embeddings (``vector_cosine_ops``), GIN over the ``tsvector``.

**Ingestion**: the plan is the SQLite index's (``_backend.plan_ingestion``: unchanged documents
are not extracted or embedded, only new content hashes are embedded); the writes are one
transaction (COPY in binary for the bulk rows), the write fence is asked right before it commits,
and any failure rolls it back.

**Retrieval**: hybrid, fused exactly as in SQLite (``_backend.fuse``, RRF k = 60, ties by content
id). The two legs differ from SQLite's:

* vector: the HNSW index's nearest neighbours by cosine distance (``hnsw.ef_search`` raised to the
  number of candidates). HNSW is *approximate*: on a large index a true neighbour can be missed,
  where the SQLite backend's brute force is exact. Texts with cosine similarity <= 0 are left out,
  as in SQLite;
* lexical: Postgres full-text search, the query's words OR-ed in a ``tsquery`` and ranked by
  ``ts_rank_cd`` (cover density). **This is not BM25**: ``ts_rank_cd`` has no inverse document
  frequency and no length saturation, so on the same texts the lexical order can differ from the
  SQLite backend's FTS5 ``bm25()``. Which words are matched follows the SQLite index's rules
  (document frequencies from ``ts_stat``), then a budget of texts to rank
  (:meth:`PostgresRagIndex.lexical_terms`): ``ts_rank_cd`` costs more per text than BM25 in FTS5.

Ingestion of many new texts (a first load) drops the HNSW and GIN indexes and builds them once
at the end, in the same transaction.

A read-only open (the preflight, retrievers) sets ``default_transaction_read_only``: the server
refuses any write. It creates nothing; an index not created yet opens as an empty one
(:attr:`PostgresRagIndex.exists` is False).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _index
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

    from alpha_engine.store import WriteFence

    from ._chunking import Chunk
    from ._embedding import Embedder
    from ._sources import Source

__all__ = ["LEXICAL_MATCH_BUDGET", "SCHEMA_VERSION", "PostgresRagIndex", "redacted_dsn", "within_match_budget"]

SCHEMA_VERSION = "1"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits only: nothing tsquery reads as an operator
_TS_CONFIG = "english"
_HNSW = "CREATE INDEX contents_hnsw ON {s}.contents USING hnsw (embedding vector_cosine_ops)"
_GIN = "CREATE INDEX contents_tsv ON {s}.contents USING gin (tsv)"
_BULK = 1000
# At most this many texts (summed document frequencies of the query words kept) are ranked by the
# lexical leg of an index over FREQUENT_MIN_DOCS texts (PostgresRagIndex.lexical_terms).
LEXICAL_MATCH_BUDGET = 2000  # new texts from which an ingestion rebuilds the HNSW index rather than inserting into it

_TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.documents (
    source_id text PRIMARY KEY, content_hash text NOT NULL, n_chunks integer NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.contents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, content_hash text NOT NULL UNIQUE, text text NOT NULL,
    embedding vector NOT NULL, tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED);
CREATE TABLE IF NOT EXISTS {s}.chunks (
    chunk_id text PRIMARY KEY, source_id text NOT NULL REFERENCES {s}.documents (source_id),
    position integer NOT NULL, start integer NOT NULL, "end" integer NOT NULL,
    content_id bigint NOT NULL REFERENCES {s}.contents (id));
CREATE INDEX IF NOT EXISTS chunks_by_source ON {s}.chunks (source_id, position);
CREATE INDEX IF NOT EXISTS chunks_by_content ON {s}.chunks (content_id);
CREATE INDEX IF NOT EXISTS contents_tsv ON {s}.contents USING gin (tsv);
INSERT INTO {s}.meta VALUES ('schema_version', '{version}') ON CONFLICT (key) DO NOTHING;
"""


def redacted_dsn(dsn: str) -> str:
    """``dsn`` with its password left out (for messages); an unparsable DSN shows as ``<invalid DSN>``."""
    from psycopg import conninfo

    try:
        parts = conninfo.conninfo_to_dict(dsn)
    except Exception:
        return "<invalid DSN>"
    parts.pop("password", None)
    return conninfo.make_conninfo("", **{k: v for k, v in parts.items() if v is not None}) or "<default server>"


def _missing_pgvector(location: str) -> str:
    return (f"RAG index {location}: the Postgres server has no pgvector extension (vector.control not found): "
            "install it on the server (Debian/Ubuntu: apt-get install postgresql-<major>-pgvector, e.g. "
            "postgresql-17-pgvector; or build it from the pgvector sources), then run again")


class PostgresRagIndex:
    """The index in schema ``schema`` of the Postgres database ``dsn`` (see the module docstring).

    Parameters
    ----------
    dsn : str
        A libpq connection string or URL. It appears in messages without its password.
    schema : str
        The Postgres schema holding the index (lowercase letters, digits, ``_``).
    read_only : bool
        Open a read-only session: nothing is created, any write is refused by the server.
    connect_timeout : int
        Seconds to wait for the server.
    """

    def __init__(self, dsn: str, *, schema: str = "rag", read_only: bool = False, connect_timeout: int = 10) -> None:
        try:
            import pgvector.psycopg  # noqa: F401
            import psycopg
        except ImportError as exc:
            raise RagIndexError(f"the Postgres RAG backend needs psycopg and pgvector ({exc}): "
                                "pip install 'alpha-engine[postgres]'") from exc

        if not _SCHEMA_NAME.fullmatch(schema):
            raise RagIndexError(f"RAG Postgres schema {schema!r} is not a plain lowercase identifier "
                                "(letters, digits, _; at most 63)")
        self.schema = schema
        self.read_only = read_only
        self.location = f"{redacted_dsn(dsn)} schema {schema}"
        self.exists = False
        self._ef_search = 0
        self._doc_freq: tuple[int, dict[str, int]] | None = None
        options = "-c default_transaction_read_only=on" if read_only else ""
        try:
            self._db = psycopg.connect(dsn, autocommit=True, connect_timeout=connect_timeout, options=options)
        except psycopg.ProgrammingError as exc:
            raise RagIndexError(f"RAG index: the Postgres DSN is not valid ({_first_line(exc)}): give a libpq "
                                "connection string or a postgresql:// URL") from exc
        except psycopg.Error as exc:
            raise RagIndexError(f"cannot connect to the RAG Postgres server {redacted_dsn(dsn)}: {_first_line(exc)}; "
                                "check that the server is running and the DSN names it") from exc
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        import psycopg

        try:
            installed = self._db.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
            created = self._db.execute("SELECT to_regclass(%s)", (f"{self.schema}.meta",)).fetchone()
            if created is not None and created[0] is None:
                if installed is None and not self._db.execute(
                        "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone():
                    raise RagIndexError(_missing_pgvector(self.location))
                if self.read_only:
                    return  # not created yet: an empty index (``exists`` False)
                with self._db.transaction():
                    self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"alpha_engine.rag:{self.schema}",))
                    self._db.execute("CREATE EXTENSION IF NOT EXISTS vector")
                    self._db.execute(_TABLES.format(s=self.schema, version=SCHEMA_VERSION).encode())
            elif installed is None:
                raise RagIndexError(f"RAG index {self.location}: the tables exist but the vector extension is "
                                    "not created in this database: run CREATE EXTENSION vector as its owner")
            self.exists = True
            version = self.meta().get("schema_version")
            if version != SCHEMA_VERSION:
                raise RagIndexError(f"RAG index {self.location} has layout version {version!r}, this code reads "
                                    f"{SCHEMA_VERSION!r}: DROP SCHEMA {self.schema} CASCADE and ingest again")
            from pgvector.psycopg import register_vector

            register_vector(self._db)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise RagIndexError(f"RAG index {self.location}: {_first_line(exc)}: the role needs CREATE on the "
                                "database (and a superuser must CREATE EXTENSION vector once)") from exc
        except psycopg.Error as exc:
            raise RagIndexError(f"cannot open RAG index {self.location}: {_first_line(exc)}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> PostgresRagIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read (none while the index does not exist); psycopg errors named."""
        import psycopg

        if not self.exists:
            return []
        try:
            return self._db.execute(sql.format(s=self.schema).encode(), params).fetchall()
        except psycopg.Error as exc:
            raise RagIndexError(f"RAG index {self.location}: {_first_line(exc)}") from exc

    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._rows("SELECT key, value FROM {s}.meta")}

    def document_hashes(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._rows("SELECT source_id, content_hash FROM {s}.documents")}

    def chunk_ids(self, source_id: str | None = None) -> list[str]:
        """Chunk ids in (document, position) order, of one document or all."""
        if source_id is None:
            rows = self._rows("SELECT chunk_id FROM {s}.chunks ORDER BY source_id, position")
        else:
            rows = self._rows("SELECT chunk_id FROM {s}.chunks WHERE source_id = %s ORDER BY position", (source_id,))
        return [str(row[0]) for row in rows]

    def count(self, table: str) -> int:
        if table not in ("documents", "chunks", "contents"):
            raise ValueError(f"unknown table {table!r}")
        rows = self._rows(f"SELECT count(*) FROM {{s}}.{table}")
        return int(rows[0][0]) if rows else 0

    def check_integrity(self) -> None:
        """Raise :class:`RagIndexError` if the rows disagree: a document whose chunk count is not
        its chunks', a content no chunk uses, an embedding of another dimension than the meta's."""
        dim = int(self.meta().get("dim", "0") or 0)
        rows = self._rows("""
            SELECT (SELECT count(*) FROM {s}.documents d WHERE n_chunks <>
                       (SELECT count(*) FROM {s}.chunks c WHERE c.source_id = d.source_id)),
                   (SELECT count(*) FROM {s}.contents t WHERE NOT EXISTS
                       (SELECT 1 FROM {s}.chunks c WHERE c.content_id = t.id)),
                   (SELECT count(*) FROM {s}.contents WHERE vector_dims(embedding) <> %s)
        """, (dim,))
        counts = rows[0] if rows else (0, 0, 0)
        names = ("documents whose n_chunks differs from their chunks", "contents no chunk uses",
                 f"embeddings whose dimension is not {dim}")
        problems = [f"{n} {name}" for name, n in zip(names, counts, strict=True) if n]
        if problems:
            raise RagIndexError(f"RAG index {self.location}: integrity check failed: {'; '.join(problems)}")

    def check_embedder(self, embedder: Embedder) -> None:
        """Raise :class:`RagIndexError` if the index was built with another embedder than ``embedder``."""
        built = self.meta().get("embedder")
        if built is not None and built != embedder.name:
            raise RagIndexError(f"RAG index {self.location} was built with embedder {built!r}, "
                                f"queried with {embedder.name!r}: ingest again with that embedder")

    # ----------------------------------------------------------------------------- ingestion

    def ingest(self, sources: Iterable[Source], embedder: Embedder, *, chunk_size: int = 1200,
               chunk_overlap: int = 200, fence: WriteFence | None = None) -> IngestionStats:
        """Bring the index in line with ``sources``, in one transaction; ``fence`` is asked right
        before it commits (a refusal rolls it back)."""
        import psycopg

        if self.read_only:
            raise RagIndexError(f"RAG index {self.location} is open read-only: cannot ingest")
        started = time.perf_counter()
        current = self.meta()
        plan = plan_ingestion(sources, embedder, current, self.document_hashes(), chunk_size, chunk_overlap)
        chunks_removed = chunks_written = embedded = 0
        if plan.needs_write:
            s = self.schema
            try:
                with self._db.transaction():
                    self._db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"alpha_engine.rag:{s}",))
                    if plan.reembed or current.get("dim") is None:
                        self._retype_embeddings(embedder.dim)
                    with self._db.cursor() as cur:
                        cur.executemany(f"INSERT INTO {s}.meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                                        "SET value = EXCLUDED.value".encode(), list(plan.wanted_meta.items()))
                    gone = plan.removed + plan.replaced
                    if gone:
                        chunks_removed = self._db.execute(f"DELETE FROM {s}.chunks WHERE source_id = ANY(%s)".encode(),
                                                          (gone,)).rowcount
                        self._db.execute(f"DELETE FROM {s}.documents WHERE source_id = ANY(%s)".encode(), (gone,))
                    chunks = [c for _, cs in plan.todo for c in cs]
                    embedded = self._store_contents(chunks, embedder, current.get("dim") is None or plan.reembed)
                    self._store_chunks(plan.todo, chunks)
                    chunks_written = len(chunks)
                    self._db.execute(f"DELETE FROM {s}.contents t WHERE NOT EXISTS "
                                     f"(SELECT 1 FROM {s}.chunks c WHERE c.content_id = t.id)".encode())
                    if fence is not None:
                        fence.check(self.location, FENCED_KEY)
                self._doc_freq = None
            except psycopg.Error as exc:
                raise RagIndexError(f"RAG index {self.location}: ingestion failed and was rolled back: "
                                    f"{_first_line(exc)}") from exc
        return IngestionStats(
            documents_seen=len(plan.seen), documents_added=plan.added, documents_changed=len(plan.replaced),
            documents_unchanged=len(plan.seen) - len(plan.todo), documents_removed=len(plan.removed),
            chunks_total=self.count("chunks"), chunks_written=chunks_written, chunks_removed=chunks_removed,
            chunks_embedded=embedded, contents_total=self.count("contents"), rebuilt=plan.rebuild,
            seconds=round(time.perf_counter() - started, 3))

    def _retype_embeddings(self, dim: int) -> None:
        """Empty the index and give its embedding column (and HNSW index) dimension ``dim``."""
        s = self.schema
        for statement in (f"DELETE FROM {s}.chunks", f"DELETE FROM {s}.contents",
                          f"DROP INDEX IF EXISTS {s}.contents_hnsw",
                          f"ALTER TABLE {s}.contents ALTER COLUMN embedding TYPE vector({int(dim)})",
                          _HNSW.format(s=s)):
            self._db.execute(statement.encode())

    def _store_contents(self, chunks: list[Chunk], embedder: Embedder, empty: bool) -> int:
        """Embed and store the texts not stored yet. A bulk load (``_BULK`` texts or more, and at
        least as many as the index holds) drops the HNSW and GIN indexes and builds them again
        afterwards: building an index once is much faster than inserting into it row by row."""
        s = self.schema
        fresh = distinct_texts(chunks)
        present = {str(r[0]) for r in self._db.execute(
            f"SELECT content_hash FROM {s}.contents WHERE content_hash = ANY(%s)".encode(), (list(fresh),))}
        missing = {h: t for h, t in fresh.items() if h not in present}
        held = 0 if empty else self.count("contents")
        bulk = len(missing) >= max(_BULK, held)
        if bulk:
            for name in ("contents_hnsw", "contents_tsv"):
                self._db.execute(f"DROP INDEX IF EXISTS {s}.{name}".encode())
        with self._db.cursor() as cur, cur.copy(
                f"COPY {s}.contents (content_hash, text, embedding) FROM STDIN WITH (FORMAT BINARY)".encode()) as copy:
            copy.set_types(["text", "text", "vector"])
            for batch, vectors in embedded_batches(embedder, missing):
                for h, vector in zip(batch, vectors, strict=True):
                    copy.write_row((h, missing[h], vector))
        if bulk:
            self._db.execute("SET LOCAL maintenance_work_mem = '512MB'")
            self._db.execute(_HNSW.format(s=s).encode())
            self._db.execute(_GIN.format(s=s).encode())
        return len(missing)

    def _store_chunks(self, todo: list[tuple[Any, list[Chunk]]], chunks: list[Chunk]) -> None:
        s = self.schema
        with self._db.cursor() as cur:
            with cur.copy(f"COPY {s}.documents (source_id, content_hash, n_chunks) FROM STDIN".encode()) as copy:
                for document, its in todo:
                    copy.write_row((document.source_id, document.content_hash, len(its)))
            cur.execute("CREATE TEMP TABLE rag_chunks_in (chunk_id text, source_id text, position integer, "
                        'start integer, "end" integer, content_hash text) ON COMMIT DROP')
            with cur.copy("COPY rag_chunks_in FROM STDIN") as copy:
                for c in chunks:
                    copy.write_row((c.chunk_id, c.source_id, c.position, c.start, c.end, c.content_hash))
            cur.execute(f'INSERT INTO {s}.chunks SELECT i.chunk_id, i.source_id, i.position, i.start, i."end", t.id '
                        f"FROM rag_chunks_in i JOIN {s}.contents t USING (content_hash)".encode())

    # ----------------------------------------------------------------------------- retrieval

    def vector_search(self, query: str, embedder: Embedder, limit: int) -> list[int]:
        """Content ids of about the ``limit`` nearest texts by cosine distance (HNSW: approximate),
        best first; texts with cosine similarity <= 0 left out."""
        self.check_embedder(embedder)
        vector = embedder.embed([query])[0]
        if not self.exists or not np.any(vector):
            return []
        ef_search = min(max(limit, 40), 1000)
        if ef_search != self._ef_search:
            self._db.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef_search),))
            self._ef_search = ef_search
        rows = self._rows("SELECT id, embedding <=> %s AS d FROM {s}.contents ORDER BY embedding <=> %s LIMIT %s",
                          (vector, vector, limit))
        return [int(i) for i, d in sorted(rows, key=lambda r: (r[1], r[0])) if d < 1.0]

    def _document_frequencies(self) -> tuple[int, dict[str, int]]:
        """The number of texts and, per lexeme, the number of texts holding it (``ts_stat`` over the
        stored ``tsvector`` s: a full scan, so read once per opened index and again after an ingestion)."""
        if self._doc_freq is None:
            total = self.count("contents")
            rows = self._rows("SELECT word, ndoc FROM ts_stat('SELECT tsv FROM {s}.contents')") if total else []
            self._doc_freq = (total, {str(w): int(n) for w, n in rows})
        return self._doc_freq

    def lexical_terms(self, query: str) -> list[str]:
        """The words of ``query`` the full-text leg matches, by the SQLite index's rules
        (``RagIndex.lexical_terms``): English function words are left out when another word
        remains, and with more than ``FREQUENT_MIN_DOCS`` texts, words too frequent in the index
        are left out (document frequencies from ``ts_stat``; a word's lexeme by the ``english``
        configuration). Then, because ``ts_rank_cd`` reads and scores every text a word matches
        (where FTS5's BM25 is cheaper per text), the words kept are cut to
        :data:`LEXICAL_MATCH_BUDGET` texts (:func:`within_match_budget`)."""
        words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
        content = [w for w in words if w not in STOP_WORDS] or words
        if not content:
            return []
        total, frequencies = self._document_frequencies()
        if total <= _index.FREQUENT_MIN_DOCS:  # (read at call time: the tests lower it)
            return content
        lexemes = self._rows(f"SELECT (SELECT min(lexeme) FROM unnest(to_tsvector('{_TS_CONFIG}', w))) "
                             "FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, i) ORDER BY i", (content,))
        docs = [frequencies.get(str(lexeme), 0) if lexeme is not None else 0 for (lexeme,) in lexemes]
        kept = _index.select_by_frequency(content, docs, total)
        return within_match_budget(kept, [docs[content.index(w)] for w in kept], LEXICAL_MATCH_BUDGET)

    def lexical_search(self, query: str, limit: int) -> list[int]:
        """Content ids of the ``limit`` best texts by ``ts_rank_cd`` over :meth:`lexical_terms`
        OR-ed (not BM25, see the module docstring), best first, ties by id."""
        words = self.lexical_terms(query)
        if not words:
            return []
        rows = self._rows(f"SELECT id FROM {{s}}.contents, to_tsquery('{_TS_CONFIG}', %s) q WHERE tsv @@ q "
                          "ORDER BY ts_rank_cd(tsv, q) DESC, id LIMIT %s", (" | ".join(words), limit))
        return [int(r[0]) for r in rows]

    def search(self, query: str, embedder: Embedder, k: int = 10, *, candidates: int = 50,
               rrf_k: int = RRF_K) -> list[Hit]:
        """The ``k`` best chunks for ``query`` by hybrid retrieval, fused as in the SQLite index."""
        fused = fuse(self.vector_search(query, embedder, candidates), self.lexical_search(query, candidates),
                     k, rrf_k)
        if not fused:
            return []
        chunks: dict[int, list[tuple[Any, ...]]] = {}
        for row in self._rows('SELECT c.content_id, c.chunk_id, c.source_id, c.position, t.text FROM {s}.chunks c '
                              "JOIN {s}.contents t ON t.id = c.content_id WHERE c.content_id = ANY(%s) "
                              "ORDER BY c.content_id, c.source_id, c.position", ([c for _, c, _, _ in fused],)):
            chunks.setdefault(int(row[0]), []).append(row[1:])
        hits = []
        for score, content, vector_rank, lexical_rank in fused:
            rows = chunks.get(content)
            if not rows:
                continue
            chunk, source, position, text = rows[0]
            hits.append(Hit(chunk, source, position, text, score, vector_rank, lexical_rank,
                            tuple(r[0] for r in rows[1:])))
        return hits


def within_match_budget(words: list[str], docs: list[int], budget: int) -> list[str]:
    """Of ``words`` (in ``docs[i]`` texts each), the rarest while their texts add up to at most
    ``budget`` (always the rarest one; ties: the first), in query order: the words dropped are
    the most frequent, which weigh least in a ranking."""
    order = sorted(range(len(words)), key=lambda i: (docs[i], i))
    chosen: set[int] = set()
    spent = 0
    for i in order:
        if chosen and spent + docs[i] > budget:
            break
        chosen.add(i)
        spent += docs[i]
    return [w for i, w in enumerate(words) if i in chosen]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

