"""RAGIngestion: bring the embedded RAG index in line with the documents folder, the archive and SEC filings.

Hard, batch-class, right after Scanner (upstream §1b row 9; ``skip_rag_ingestion`` skips it).

* **Sources**: the documents folder (``documents_dir``, default ``<workspace>/documents``; text,
  markdown, HTML, PDF, JSON) and the system's archive, the artifact keys under
  ``archive_prefixes``. An absent default folder and absent prefixes are empty sources; a
  ``documents_dir`` set in the config must exist. And SEC EDGAR filings (``[stages.rag-ingestion.edgar]``,
  :mod:`._edgar`): the recent 10-K, 10-Q and 8-K of the universe's tickers, the Scanner's candidates
  first; SKIPPED, with the reason in the report and the summary, without an EDGAR identity.
* **Index**: ``index_path`` (default ``<workspace>/rag/index.sqlite``), ingested incrementally in
  one transaction (:class:`~alpha_engine.rag.RagIndex`). Embedder (``embedder``):
  :class:`WordLlamaEmbedder` (semantic, offline; the default) or :class:`HashingEmbedder`
  (lexical, no weights); see ``docs/rag.md``.
* **Report**: ``rag/{date}/ingestion.json`` (counts, no timings: deterministic); the stage's
  summary adds the wall time. No corpus at all is a warning, not an error.
* **Shell run** (preflight only): the sources are readable, the index (if any) opens read-only
  with this code's layout, the embedder loads, the EDGAR configuration is valid (no request is
  made); nothing is written, the index is not created.

The index is written outside the artifact store and does not consult the write fence: a stage
attempt that lost its lease could still commit one ingestion (each is one transaction, so the
file is never half-written).
"""

from __future__ import annotations

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

    from ._embedding import Embedder
    from ._index import Hit, RagIndex
    from ._sources import Source

__all__ = ["DEFAULT_ARCHIVE_PREFIXES", "RAGIngestion", "RAGIngestionOptions", "RagRetriever", "configured_index_path",
           "open_retriever"]

# Where the archive's theses and weekly reports will live (no stage writes them yet).
DEFAULT_ARCHIVE_PREFIXES = ("research/theses/", "reports/weekly/")


class RAGIngestionOptions(BaseModel):
    """``[stages.rag-ingestion]``: where the corpus and the index are, and how text is chunked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The documents folder; "" = <workspace>/documents (may be absent); relative = to the workspace.
    documents_dir: str = ""
    # The index file; "" = <workspace>/rag/index.sqlite; relative = to the workspace.
    index_path: str = ""
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


class RagRetriever:
    """The index opened read-only with the embedder RAGIngestion builds it with: ``search(query, k)``."""

    def __init__(self, index: RagIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder

    def search(self, query: str, k: int) -> list[Hit]:
        return self.index.search(query, self.embedder, k)

    def close(self) -> None:
        self.index.close()


def open_retriever(settings: Settings) -> RagRetriever | None:
    """A read-only retriever over the index ``settings`` configure for RAGIngestion; None when the
    file does not exist. An index built with another embedder is a :class:`RagIndexError` here."""
    from ._index import RagIndex

    options = RAGIngestionOptions.model_validate(settings.stage_options(RAGIngestion.slug))
    path = _resolve(settings.workspace, options.index_path, "rag/index.sqlite")
    if not path.is_file():
        return None
    index = RagIndex(path, read_only=True)
    embedder = _embedder(options)
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
    description = ("Documents folder + archive + SEC EDGAR filings -> chunked, embedded, hybrid-searchable SQLite "
                   "index; EDGAR SKIPPED without an EDGAR identity")
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
        from ._index import RagIndex

        try:
            for source in self._sources(ctx):
                source.check()
        except RagError as exc:
            raise PreflightError(f"RAG source: {exc}") from exc
        check_edgar_inputs(ctx, ctx.options.edgar)
        path = index_path(ctx)
        if path.exists():
            try:
                with RagIndex(path, read_only=True) as index:
                    ctx.logger.info("RAG index %s: %d documents, %d chunks", path, index.count("documents"),
                                    index.count("chunks"))
            except RagError as exc:
                raise PreflightError(str(exc)) from exc
        elif not _creatable(path):
            raise PreflightError(f"RAG index {path} cannot be created: no writable parent directory")
        else:
            ctx.logger.info("RAG index %s does not exist yet: the first run creates it", path)
        embedder = _embedder(ctx.options)
        vector = embedder.embed(["preflight probe"])
        if vector.shape != (1, embedder.dim):
            raise PreflightError(f"embedder {embedder.name} returned shape {vector.shape}")

    def run(self, ctx: StageContext[RAGIngestionOptions]) -> StageOutcome:
        from ._edgar import edgar_source
        from ._index import RagIndex

        options = ctx.options
        embedder = _embedder(options)
        sources = self._sources(ctx)
        with RagIndex(index_path(ctx)) as index:
            # Every EDGAR request happens here, before the ingestion's transaction; known filings are not fetched.
            edgar, edgar_report = edgar_source(ctx, options.edgar, index.document_hashes())
            if edgar is not None:
                sources.append(edgar)
            stats = index.ingest(sources, embedder, chunk_size=options.chunk_size_chars,
                                 chunk_overlap=options.chunk_overlap_chars)
            documents_total = index.count("documents")
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
