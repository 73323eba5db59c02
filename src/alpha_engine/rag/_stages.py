"""RAGIngestion: bring the embedded RAG index in line with the documents folder, the archive and SEC filings.

Hard, batch-class, right after Scanner (upstream §1b row 9; ``skip_rag_ingestion`` skips it).

* **Sources**: the documents folder (``documents_dir``, default ``<workspace>/documents``; text,
  markdown, HTML, PDF, JSON) and the system's archive, the artifact keys under
  ``archive_prefixes``. An absent default folder and absent prefixes are empty sources; a
  ``documents_dir`` set in the config must exist. And SEC EDGAR filings (``[stages.rag-ingestion.edgar]``,
  :mod:`._edgar`): the recent 10-K, 10-Q and 8-K of the universe's tickers, the Scanner's candidates
  first; SKIPPED, with the reason in the report and the summary, without an EDGAR identity.
* **Index**: ``backend = "sqlite"`` (the default): the file ``index_path`` (default
  ``<workspace>/rag/index.sqlite``, :class:`~alpha_engine.rag.RagIndex`); ``backend = "postgres"``:
  the schema ``postgres_schema`` of the Postgres database whose DSN is in the environment variable
  named by ``postgres_dsn_env`` (:class:`~alpha_engine.rag.PostgresRagIndex`; the config names the
  variable, never the DSN, so no password sits in a config file). Ingested incrementally in one
  transaction. Embedder (``embedder``): :class:`WordLlamaEmbedder` (semantic, offline; the default)
  or :class:`HashingEmbedder` (lexical, no weights); see ``docs/rag.md``.
* **Report**: ``rag/{date}/ingestion.json`` (counts, no timings: deterministic); the stage's
  summary adds the wall time. No corpus at all is a warning, not an error.
* **Shell run** (preflight only): the sources are readable, the index (if any) opens read-only
  with this code's layout (Postgres: the server answers, in a read-only session, and has pgvector),
  the embedder loads (an index built with another one is logged: the next run re-embeds), the
  EDGAR configuration is valid (no request is made); nothing is written, the index is not created.

The index is written outside the artifact store, but it asks the stage attempt's write fence
(``ctx.resources.fence``, the lease fence on a run under the local runtime) right before the
ingestion's transaction commits: an attempt that lost its lease commits nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alpha_engine.data import CANDIDATES, WEEKLY_CONSTITUENTS
from alpha_engine.pipeline import (
    Compute,
    FailureClass,
    PreflightError,
    Stage,
    StageContext,
    StageOutcome,
    optional,
)

from ._artifacts import RAG_INGESTION_REPORT
from ._edgar import EDGAR_FILINGS, EdgarOptions

if TYPE_CHECKING:
    from alpha_engine.config import Settings

    from ._backend import Hit, RagBackend
    from ._embedding import Embedder
    from ._sources import Source

__all__ = ["DEFAULT_ARCHIVE_PREFIXES", "DEFAULT_DSN_ENV", "RAGIngestion", "RAGIngestionOptions", "RagRetriever",
           "configured_index_path", "open_index", "open_retriever"]

# Where the archive's theses and weekly reports will live (no stage writes them yet).
DEFAULT_ARCHIVE_PREFIXES = ("research/theses/", "reports/weekly/")
DEFAULT_DSN_ENV = "ALPHA_ENGINE_RAG_DSN"


class RAGIngestionOptions(BaseModel):
    """``[stages.rag-ingestion]``: where the corpus and the index are, and how text is chunked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The documents folder; "" = <workspace>/documents (may be absent); relative = to the workspace.
    documents_dir: str = ""
    # Where the index lives: one SQLite file (embedded, the default) or Postgres + pgvector.
    backend: Literal["sqlite", "postgres"] = "sqlite"
    # sqlite: the index file; "" = <workspace>/rag/index.sqlite; relative = to the workspace.
    index_path: str = ""
    # postgres: the environment variable holding the DSN (libpq string or URL; never the DSN itself).
    postgres_dsn_env: str = DEFAULT_DSN_ENV
    # postgres: the schema holding the index's tables.
    postgres_schema: str = "rag"
    # Artifact-store prefixes read as the system's archive.
    archive_prefixes: tuple[str, ...] = DEFAULT_ARCHIVE_PREFIXES
    # Chunk window and overlap, in characters (about 4 per token).
    chunk_size_chars: int = Field(default=1200, ge=200, le=20000)
    chunk_overlap_chars: int = Field(default=200, ge=0)
    # The embedder: "wordllama" (semantic, 64/128/256 dims) or "hashing" (lexical, 8..4096 dims).
    embedder: Literal["wordllama", "hashing"] = "wordllama"
    embedding_dim: int = Field(default=256, ge=8, le=4096)
    # SEC EDGAR filings ([stages.rag-ingestion.edgar]; needs [data] edgar_identity).
    edgar: EdgarOptions = EdgarOptions()

    @field_validator("archive_prefixes")
    @classmethod
    def _prefixes_are_relative(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not prefix or prefix.startswith("/") or ".." in prefix.split("/"):
                raise ValueError(f"archive prefix {prefix!r} must be a non-empty relative key prefix")
        return value

    @field_validator("postgres_dsn_env")
    @classmethod
    def _is_a_variable_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"postgres_dsn_env {value!r} must be an environment variable name (the DSN itself "
                             "goes in that variable, never in the config)")
        return value

    @field_validator("postgres_schema")
    @classmethod
    def _is_a_schema_name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError(f"postgres_schema {value!r} must be a lowercase identifier (letters, digits, _)")
        return value

    @model_validator(mode="after")
    def _overlap_under_half(self) -> RAGIngestionOptions:
        if self.chunk_overlap_chars >= self.chunk_size_chars // 2:
            raise ValueError(f"chunk_overlap_chars ({self.chunk_overlap_chars}) must be under half of "
                             f"chunk_size_chars ({self.chunk_size_chars})")
        return self

    @model_validator(mode="after")
    def _dim_fits_embedder(self) -> RAGIngestionOptions:
        from ._embedding import WordLlamaEmbedder

        if self.embedder == "wordllama" and self.embedding_dim not in WordLlamaEmbedder.DIMS:
            raise ValueError(f"embedding_dim {self.embedding_dim} does not fit embedder 'wordllama' "
                             f"(choose one of {', '.join(map(str, WordLlamaEmbedder.DIMS))}, or embedder = 'hashing')")
        return self


def _under_workspace(ctx: StageContext[RAGIngestionOptions], value: str, default: str) -> Path:
    return _resolve(ctx.settings.workspace, value, default)


def _resolve(workspace: Path, value: str, default: str) -> Path:
    path = Path(value or default)
    return path if path.is_absolute() else workspace / path


def documents_dir(ctx: StageContext[RAGIngestionOptions]) -> Path:
    return _under_workspace(ctx, ctx.options.documents_dir, "documents")


def index_path(ctx: StageContext[RAGIngestionOptions]) -> Path:
    return _under_workspace(ctx, ctx.options.index_path, "rag/index.sqlite")


def configured_index_path(settings: Settings) -> Path:
    """The index file ``[stages.rag-ingestion] index_path`` of ``settings`` names (default
    ``<workspace>/rag/index.sqlite``)."""
    options = RAGIngestionOptions.model_validate(settings.stage_options(RAGIngestion.slug))
    return _resolve(settings.workspace, options.index_path, "rag/index.sqlite")


def _options(settings: Settings) -> RAGIngestionOptions:
    return RAGIngestionOptions.model_validate(settings.stage_options(RAGIngestion.slug))


def open_index(settings: Settings, *, read_only: bool, environ: Mapping[str, str] | None = None) -> RagBackend | None:
    """The index ``[stages.rag-ingestion]`` of ``settings`` configures, in its backend; read-only, an
    index not created yet is None (a missing file; a Postgres schema not created). A Postgres DSN
    comes from the environment variable the options name (``environ``, default ``os.environ``)."""
    from ._errors import RagIndexError

    options = _options(settings)
    if options.backend == "sqlite":
        from ._index import RagIndex

        path = _resolve(settings.workspace, options.index_path, "rag/index.sqlite")
        return None if read_only and not path.is_file() else RagIndex(path, read_only=read_only)
    from ._postgres import PostgresRagIndex

    variable = options.postgres_dsn_env
    dsn = (os.environ if environ is None else environ).get(variable, "")
    if not dsn:
        raise RagIndexError(f"RAG backend 'postgres' takes its DSN from the environment variable {variable}, which "
                            f"is not set: export {variable}='host=... dbname=... user=...' (a libpq string or a "
                            "postgresql:// URL; a password belongs in ~/.pgpass or PGPASSWORD, not in the config)")
    try:
        index = PostgresRagIndex(dsn, schema=options.postgres_schema, read_only=read_only)
    except RagIndexError as exc:
        raise RagIndexError(f"{exc} (DSN from ${variable})") from exc
    if read_only and not index.exists:
        index.close()
        return None
    return index


class RagRetriever:
    """The index opened read-only with the embedder RAGIngestion builds it with: ``search(query, k)``."""

    def __init__(self, index: RagBackend, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def search(self, query: str, k: int) -> list[Hit]:
        return self.index.search(query, self.embedder, k)

    def close(self) -> None:
        self.index.close()


def open_retriever(settings: Settings, environ: Mapping[str, str] | None = None) -> RagRetriever | None:
    """A read-only retriever over the index ``settings`` configure for RAGIngestion (either backend);
    None when it does not exist yet. An index built with another embedder is a
    :class:`RagIndexError` here, and so is an unreachable Postgres server."""
    index = open_index(settings, read_only=True, environ=environ)
    if index is None:
        return None
    embedder = _embedder(_options(settings))
    try:
        index.check_embedder(embedder)
    except BaseException:
        index.close()
        raise
    return RagRetriever(index, embedder)


class RAGIngestion(Stage[RAGIngestionOptions]):
    name = "RAGIngestion"
    slug = "rag-ingestion"
    failure_class = FailureClass.HARD
    compute = Compute.BATCH
    timeout_seconds = 3600
    description = ("Documents folder + archive + SEC EDGAR filings -> chunked, embedded, hybrid-searchable index "
                   "(SQLite or Postgres); EDGAR SKIPPED without an EDGAR identity")
    requires = (EDGAR_FILINGS,)
    consumes = (optional(WEEKLY_CONSTITUENTS), optional(CANDIDATES))  # the EDGAR source's tickers
    produces = (RAG_INGESTION_REPORT,)

    @staticmethod
    def _sources(ctx: StageContext[RAGIngestionOptions]) -> list[Source]:
        from ._sources import ArchiveSource, FolderSource

        return [FolderSource(documents_dir(ctx), required=bool(ctx.options.documents_dir)),
                ArchiveSource(ctx.artifacts, ctx.options.archive_prefixes)]

    def preflight(self, ctx: StageContext[RAGIngestionOptions]) -> None:
        from ._edgar import check_edgar_inputs
        from ._errors import RagError

        try:
            for source in self._sources(ctx):
                source.check()
        except RagError as exc:
            raise PreflightError(f"RAG source: {exc}") from exc
        check_edgar_inputs(ctx, ctx.options.edgar)
        embedder = _embedder(ctx.options)
        try:
            index = open_index(ctx.settings, read_only=True)
        except RagError as exc:
            raise PreflightError(str(exc)) from exc
        if index is not None:
            try:
                ctx.logger.info("RAG index %s: %d documents, %d chunks", index.location, index.count("documents"),
                                index.count("chunks"))
                built = index.meta().get("embedder")
                if built not in (None, embedder.name):
                    ctx.logger.warning("RAG index %s was built with embedder %s: this run re-embeds every text with "
                                       "%s", index.location, built, embedder.name)
            except RagError as exc:
                raise PreflightError(str(exc)) from exc
            finally:
                index.close()
        elif ctx.options.backend == "postgres":
            ctx.logger.info("RAG index schema %s does not exist yet: the first run creates it",
                            ctx.options.postgres_schema)
        elif not _creatable(path := index_path(ctx)):
            raise PreflightError(f"RAG index {path} cannot be created: no writable parent directory")
        else:
            ctx.logger.info("RAG index %s does not exist yet: the first run creates it", path)
        vector = embedder.embed(["preflight probe"])
        if vector.shape != (1, embedder.dim):
            raise PreflightError(f"embedder {embedder.name} returned shape {vector.shape}")

    def run(self, ctx: StageContext[RAGIngestionOptions]) -> StageOutcome:
        from ._edgar import edgar_source

        options = ctx.options
        embedder = _embedder(options)
        sources = self._sources(ctx)
        index = open_index(ctx.settings, read_only=False)
        assert index is not None  # a writable open creates the index
        try:
            # Every EDGAR request happens here, before the ingestion's transaction; known filings are not fetched.
            edgar, edgar_report = edgar_source(ctx, options.edgar, index.document_hashes())
            if edgar is not None:
                sources.append(edgar)
            # The fence of this stage attempt (None when run by hand): asked right before the commit.
            stats = index.ingest(sources, embedder, chunk_size=options.chunk_size_chars,
                                 chunk_overlap=options.chunk_overlap_chars, fence=ctx.resources.fence)
            documents_total = index.count("documents")
        finally:
            index.close()
        warnings = []
        if documents_total == 0:
            warnings.append(f"RAG corpus is empty: no documents in {_shown(ctx, documents_dir(ctx))} or under the archive "
                            f"prefixes {', '.join(options.archive_prefixes)}; retrieval returns nothing")
        counts = {"seen": stats.documents_seen, "added": stats.documents_added,
                  "changed": stats.documents_changed, "unchanged": stats.documents_unchanged,
                  "removed": stats.documents_removed, "total": documents_total}
        chunks = {"total": stats.chunks_total, "written": stats.chunks_written,
                  "removed": stats.chunks_removed, "embedded": stats.chunks_embedded}
        report = {
            "run_date": ctx.run_date.isoformat(),
            "backend": options.backend,
            "embedder": {"name": embedder.name, "dim": embedder.dim, "semantic": embedder.semantic},
            "chunking": {"size_chars": options.chunk_size_chars, "overlap_chars": options.chunk_overlap_chars},
            "sources": [source.name for source in sources],
            "documents": counts,
            "chunks": chunks,
            "contents_total": stats.contents_total,
            "rebuilt": stats.rebuilt,
            "warnings": warnings,
            "edgar": edgar_report,
        }
        ctx.artifacts.write_json(ctx.key(RAG_INGESTION_REPORT), report)
        ctx.logger.info("RAG ingestion: documents %s, chunks %s, in %.2fs", counts, chunks, stats.seconds)
        summary: dict[str, int | float | str] = {f"documents_{k}": v for k, v in counts.items()}
        summary |= {"chunks_embedded": stats.chunks_embedded, "chunks_total": stats.chunks_total,
                    "seconds": stats.seconds}
        summary |= _edgar_summary(edgar_report)
        return StageOutcome(summary=summary, warnings=tuple(warnings) + (edgar.warnings if edgar else ()))


def _edgar_summary(report: dict[str, Any]) -> dict[str, int | str]:
    if report["status"] == "skipped":
        return {"edgar": f"SKIPPED: {report['reason']}"}
    counts = report["counts"]
    return {"edgar": "OK", "edgar_fetched": counts["fetched"], "edgar_known": counts["known"],
            "edgar_failed": counts["failed"]}


def _embedder(options: RAGIngestionOptions) -> Embedder:
    """The stage's embedder, as the options name it (docs/rag.md)."""
    from ._embedding import make_embedder

    return make_embedder(options.embedder, options.embedding_dim)


def _shown(ctx: StageContext[RAGIngestionOptions], path: Path) -> str:
    """``path`` as written in an artifact: ``<workspace>/...`` under the workspace (so the same run in
    a copied workspace writes the same bytes), else as it is."""
    try:
        return "<workspace>/" + path.relative_to(ctx.settings.workspace).as_posix()
    except ValueError:
        return str(path)


def _creatable(path: Path) -> bool:
    import os

    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
