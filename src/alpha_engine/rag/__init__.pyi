from ._artifacts import RAG_INGESTION_REPORT
from ._chunking import Chunk, chunk_id, chunk_text, content_hash
from ._edgar import (
    EDGAR_FILINGS,
    EdgarCompany,
    EdgarFiling,
    EdgarOptions,
    EdgarSource,
    FilingFetcher,
    FilingList,
    edgar_source_id,
    edgar_tickers,
    fetch_filings,
)
from ._embedding import Embedder, HashingEmbedder
from ._errors import (
    ExtractionError,
    FilingAccessError,
    FilingFetchError,
    RagError,
    RagIndexError,
    SourceError,
)
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
    "EDGAR_FILINGS",
    "FREQUENT_MIN_DOCS",
    "FREQUENT_TERM_FRACTION",
    "RAG_INGESTION_REPORT",
    "RRF_K",
    "SUFFIXES",
    "ArchiveSource",
    "Chunk",
    "Document",
    "EdgarCompany",
    "EdgarFiling",
    "EdgarOptions",
    "EdgarSource",
    "Embedder",
    "ExtractionError",
    "FilingAccessError",
    "FilingFetchError",
    "FilingFetcher",
    "FilingList",
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
    "chunk_id",
    "chunk_text",
    "configured_index_path",
    "content_hash",
    "edgar_source_id",
    "edgar_tickers",
    "extract_text",
    "fetch_filings",
    "fts_query",
    "open_retriever",
]
