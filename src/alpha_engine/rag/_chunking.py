"""Chunking: windows of at most ``size`` characters that overlap by about ``overlap`` characters.

A window ends at the last paragraph break, else line break, else space in its second half (a
word is never cut unless it alone fills half a window); the next window starts ``overlap``
characters before that end, moved forward to the start of a word. Sizes are in characters
(about four per English token: the default 1,200 / 200 is about 300 / 50 tokens).

A chunk's id is ``sha256(source_id, position, content)`` (first 32 hex digits): stable across
runs and machines, and different when the document, the place or the text differs. Its content
hash, ``sha256(text)``, is what deduplication and the embedding cache key on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["Chunk", "chunk_id", "chunk_text", "content_hash"]


@dataclass(frozen=True)
class Chunk:
    """One window of a document: its ordinal ``position``, character span and text."""

    chunk_id: str
    source_id: str
    position: int
    start: int
    end: int
    text: str
    content_hash: str


def content_hash(text: str) -> str:
    """sha256 of a chunk's text (UTF-8), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(source_id: str, position: int, text: str) -> str:
    """The stable id of the chunk at ``position`` of ``source_id`` holding ``text``."""
    digest = hashlib.sha256()
    for part in (source_id, str(position), text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def _window_end(text: str, start: int, size: int) -> int:
    end = start + size
    if end >= len(text):
        return len(text)
    floor = start + size // 2
    for separator in ("\n\n", "\n", " "):
        cut = text.rfind(separator, floor, end)
        if cut > floor:
            return cut
    return end


def chunk_text(source_id: str, text: str, size: int = 1200, overlap: int = 200) -> list[Chunk]:
    """Split ``text`` into overlapping chunks (see the module docstring); empty text has none."""
    if size < 2:
        raise ValueError(f"chunk size must be at least 2 characters, got {size}")
    if not 0 <= overlap < size // 2:
        raise ValueError(f"chunk overlap must be in 0..{size // 2 - 1} (under half the size {size}), got {overlap}")
    chunks: list[Chunk] = []
    start = 0
    while start < len(text):
        while start < len(text) and text[start].isspace():
            start += 1
        if start >= len(text):
            break
        end = _window_end(text, start, size)
        piece = text[start:end].strip()
        if piece:
            chunks.append(Chunk(chunk_id(source_id, len(chunks), piece), source_id, len(chunks), start, end,
                                piece, content_hash(piece)))
        if end >= len(text):
            break
        following = max(end - overlap, start + 1)
        # start the next window at a word: after the first space at or past `following`, if close
        space = text.find(" ", following, end)
        start = space + 1 if overlap and space != -1 else following if overlap else end
    return chunks
