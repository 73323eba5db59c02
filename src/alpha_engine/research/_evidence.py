"""Evidence for the qual analyst: read-only retrieval from the RAG index, through a resource.

Research may not import the rag package's code (a domain imports another domain's ``Artifact``
constants only), so it declares what it needs here: :class:`EvidenceIndex`, anything with
``search(query, k)`` returning hits that have ``chunk_id``, ``source_id``, ``text`` and ``score``,
and the resource :data:`RAG_EVIDENCE`. The composition root (``app/_resources.py``) opens the
RAGIngestion stage's index (its backend: the ``index_path`` file or the Postgres schema) read-only
behind it, or gives None when it does not exist yet (no evidence, not an error).

Retrieval (:func:`retrieve`), per ticker the qual analyst assesses: the query is
``"<TICKER> <GICS sector>"``; the index's hybrid search returns its best
:data:`EVIDENCE_CANDIDATES` chunks, of which only those whose text names the ticker as a whole
word (case-sensitive, so "A" does not match "a") count; the first :data:`EVIDENCE_K` of them, in
the index's order, are the evidence, each with its chunk id, source id, fused score (6 decimals)
and an excerpt of at most :data:`EXCERPT_CHARS` characters around the first mention.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from alpha_engine.pipeline import Resource

from ._models import Evidence

__all__ = ["EVIDENCE_CANDIDATES", "EVIDENCE_K", "EXCERPT_CHARS", "RAG_EVIDENCE", "EvidenceHit", "EvidenceIndex",
           "evidence_query", "retrieve"]

EVIDENCE_K = 5  # evidence chunks kept per ticker
EVIDENCE_CANDIDATES = 20  # hits asked of the index before the ticker filter
EXCERPT_CHARS = 240


class EvidenceHit(Protocol):
    @property
    def chunk_id(self) -> str: ...

    @property
    def source_id(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def score(self) -> float: ...


class EvidenceIndex(Protocol):
    def search(self, query: str, k: int) -> Sequence[EvidenceHit]:
        """The ``k`` best chunks for ``query``, best first (read-only)."""
        ...


RAG_EVIDENCE: Resource[EvidenceIndex | None] = Resource(
    "rag-evidence", "the RAG index of stage rag-ingestion (its backend: the index_path file, default "
                    "<settings.workspace>/rag/index.sqlite, or Postgres), opened read-only for the qual analyst; "
                    "None when it does not exist yet")


def evidence_query(ticker: str, sector: str) -> str:
    return f"{ticker} {sector}"


def _mention(ticker: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(ticker)}(?![A-Za-z0-9])")


def _excerpt(text: str, at: int) -> str:
    start = max(0, at - EXCERPT_CHARS // 3)
    piece = " ".join(text[start:start + EXCERPT_CHARS * 2].split())[:EXCERPT_CHARS]
    return ("..." if start else "") + piece


def retrieve(index: EvidenceIndex | None, ticker: str, sector: str) -> tuple[Evidence, ...]:
    """The evidence for ``ticker`` (see the module docstring); () without an index."""
    if index is None:
        return ()
    mention = _mention(ticker)
    found = []
    for hit in index.search(evidence_query(ticker, sector), EVIDENCE_CANDIDATES):
        match = mention.search(hit.text)
        if match is None:
            continue
        found.append(Evidence(chunk_id=hit.chunk_id, source_id=hit.source_id, score=round(float(hit.score), 6),
                              excerpt=_excerpt(hit.text, match.start())))
        if len(found) == EVIDENCE_K:
            break
    return tuple(found)
