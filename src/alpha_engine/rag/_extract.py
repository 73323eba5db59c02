"""Text extraction: plain text and markdown as they are, HTML through the stdlib parser, PDF via pypdf.

``extract_text(name, data)`` picks the extractor from the name's suffix (:data:`SUFFIXES`) and
returns normalized text (``\\r\\n`` → ``\\n``, runs of blank lines kept as one paragraph break).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from ._errors import ExtractionError

__all__ = ["SUFFIXES", "extract_text"]

# Tags whose text is never content; tags that end a block (a line break in the text).
_SKIPPED = frozenset({"script", "style", "noscript", "template", "head", "svg"})
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section",
                     "article", "table", "ul", "ol", "pre", "blockquote", "hr", "title", "dd", "dt"})


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(data: bytes) -> str:
    parser = _TextOfHtml()
    parser.feed(data.decode("utf-8", errors="replace"))
    parser.close()
    return "".join(parser.parts)


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractionError(f"not a readable PDF: {exc}") from exc


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key in sorted(value) for s in _strings(value[key])]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _json(data: bytes) -> str:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ExtractionError(f"not valid JSON: {exc}") from exc
    return "\n\n".join(_strings(value))


def _plain(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


# suffix -> extractor; JSON (the archive's reports) contributes its string values, keys sorted.
SUFFIXES: dict[str, Callable[[bytes], str]] = {
    ".txt": _plain, ".md": _plain, ".markdown": _plain, ".html": _html, ".htm": _html, ".pdf": _pdf,
    ".json": _json,
}

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BREAKS = re.compile(r"\n\s*\n\s*")


def _normalize(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BREAKS.sub("\n\n", "\n".join(lines)).strip()


def extract_text(name: str, data: bytes) -> str:
    """The normalized text of document ``name`` (its suffix picks the extractor)."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    extractor = SUFFIXES.get(suffix)
    if extractor is None:
        raise ExtractionError(f"{name}: unsupported document type {suffix or '(no suffix)'!r}; "
                              f"supported: {', '.join(sorted(SUFFIXES))}")
    try:
        return _normalize(extractor(data))
    except ExtractionError as exc:
        raise ExtractionError(f"{name}: {exc}") from exc
