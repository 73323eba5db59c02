"""The artifacts the RAG stages produce."""

from __future__ import annotations

from alpha_engine.store import Artifact

__all__ = ["RAG_INGESTION_REPORT"]

RAG_INGESTION_REPORT = Artifact(
    "rag/{date}/ingestion.json", schema="rag_ingestion.schema.json", package=__package__ or "",
    description="RAGIngestion: documents seen/added/changed/removed and chunks embedded for the run date",
)
