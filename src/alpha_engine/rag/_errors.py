"""Errors of the RAG corpus.

::

    RagError
     ├── SourceError        a document source cannot be read (folder missing, archive unlistable)
     ├── ExtractionError    a document's text cannot be extracted (names the document and why)
     └── RagIndexError      the index file cannot be opened, is of another layout, or is read-only
"""

from __future__ import annotations

__all__ = ["ExtractionError", "RagError", "RagIndexError", "SourceError"]


class RagError(Exception):
    """Base of every RAG error."""


class SourceError(RagError):
    """A document source cannot be read."""


class ExtractionError(RagError):
    """A document's text cannot be extracted."""


class RagIndexError(RagError):
    """The index cannot be opened or written."""
