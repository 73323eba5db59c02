"""Errors of the RAG corpus.

::

    RagError
     ├── SourceError        a document source cannot be read (folder missing, archive unlistable)
     │    └── FilingFetchError      an EDGAR request failed (names the URL and why)
     │         └── FilingAccessError    SEC refused the request: the declared identity
     ├── ExtractionError    a document's text cannot be extracted (names the document and why)
     └── RagIndexError      the index file cannot be opened, is of another layout, or is read-only
"""

from __future__ import annotations

__all__ = ["ExtractionError", "FilingAccessError", "FilingFetchError", "RagError", "RagIndexError", "SourceError"]


class RagError(Exception):
    """Base of every RAG error."""


class SourceError(RagError):
    """A document source cannot be read."""


class FilingFetchError(SourceError):
    """An EDGAR request failed (after the client's retries): one filing list or document."""


class FilingAccessError(FilingFetchError):
    """SEC refused a request (HTTP 401/403): the declared identity is not accepted. Every request
    would fail the same way, so the source stops at the first."""


class ExtractionError(RagError):
    """A document's text cannot be extracted."""


class RagIndexError(RagError):
    """The index cannot be opened or written."""
