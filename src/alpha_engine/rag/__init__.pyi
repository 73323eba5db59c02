from ._artifacts import RAG_INGESTION_REPORT
from ._chunking import Chunk, chunk_id, chunk_text, content_hash
from ._embedding import EMBEDDERS, Embedder, HashingEmbedder, WordLlamaEmbedder, make_embedder
from ._errors import ExtractionError, RagError, RagIndexError, SourceError
from ._extract import SUFFIXES, extract_text
from ._index import FREQUENT_MIN_DOCS, FREQUENT_TERM_FRACTION, RRF_K, Hit, IngestionStats, RagIndex, fts_query
from ._sources import ArchiveSource, Document, FolderSource, Source
from ._stages import (
    DEFAULT_ARCHIVE_PREFIXES,
    RAGIngestion,
    RAGIngestionOptions,
    RagRetriever,
    configured_index_path,
    open_retriever,
)

__all__ = [
    "DEFAULT_ARCHIVE_PREFIXES",
    "EMBEDDERS",
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
    "RAGIngestion",
    "RAGIngestionOptions",
    "RagError",
    "RagIndex",
    "RagIndexError",
    "RagRetriever",
    "Source",
    "SourceError",
    "WordLlamaEmbedder",
    "chunk_id",
    "chunk_text",
    "configured_index_path",
    "content_hash",
    "extract_text",
    "fts_query",
    "make_embedder",
    "open_retriever",
]
