from ._artifacts import RAG_INGESTION_REPORT
from ._backend import RRF_K, Hit, IngestionStats, RagBackend
from ._chunking import Chunk, chunk_id, chunk_text, content_hash
from ._embedding import Embedder, HashingEmbedder
from ._errors import ExtractionError, RagError, RagIndexError, SourceError
from ._extract import SUFFIXES, extract_text
from ._index import FREQUENT_MIN_DOCS, FREQUENT_TERM_FRACTION, RagIndex, fts_query
from ._postgres import PostgresRagIndex
from ._sources import ArchiveSource, Document, FolderSource, Source
from ._stages import (
    DEFAULT_ARCHIVE_PREFIXES,
    DEFAULT_DSN_ENV,
    RAGIngestion,
    RAGIngestionOptions,
    RagRetriever,
    configured_index_path,
    open_index,
    open_retriever,
)

__all__ = [
    "DEFAULT_ARCHIVE_PREFIXES",
    "DEFAULT_DSN_ENV",
    "FREQUENT_MIN_DOCS",
    "FREQUENT_TERM_FRACTION",
    "RAG_INGESTION_REPORT",
    "RRF_K",
    "SUFFIXES",
    "ArchiveSource",
    "Chunk",
    "Document",
    "Embedder",
    "ExtractionError",
    "FolderSource",
    "HashingEmbedder",
    "Hit",
    "IngestionStats",
    "PostgresRagIndex",
    "RAGIngestion",
    "RAGIngestionOptions",
    "RagBackend",
    "RagError",
    "RagIndex",
    "RagIndexError",
    "RagRetriever",
    "Source",
    "SourceError",
    "chunk_id",
    "chunk_text",
    "configured_index_path",
    "content_hash",
    "extract_text",
    "fts_query",
    "open_index",
    "open_retriever",
]
