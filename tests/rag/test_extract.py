"""Text comes out of plain text, markdown, HTML (tags, scripts and styles stripped), PDF and JSON."""

from __future__ import annotations

import pytest
from rag_helpers import tiny_pdf

from alpha_engine.rag import ExtractionError, extract_text


def test_html_keeps_the_text_and_drops_markup_scripts_and_styles() -> None:
    html = (b"<html><head><title>T</title><style>p{color:red}</style></head><body>"
            b"<h1>Filing</h1><p>Revenue grew&nbsp;12% &amp; margins widened.</p>"
            b"<script>var secret = 1;</script><ul><li>one</li><li>two</li></ul></body></html>")
    text = extract_text("report.html", html)
    assert "Revenue grew 12% & margins widened." in text
    assert {"Filing", "one", "two"} <= set(text.splitlines())  # block elements end lines
    assert "secret" not in text and "color" not in text and "<" not in text


def test_pdf_text_is_extracted_with_pypdf() -> None:
    text = extract_text("memo.PDF", tiny_pdf("Quarterly dividend raised to 42 cents"))
    assert "Quarterly dividend raised to 42 cents" in text


def test_a_broken_pdf_names_the_document() -> None:
    with pytest.raises(ExtractionError, match="broken.pdf"):
        extract_text("broken.pdf", b"%PDF-1.4 this is not a pdf")


def test_json_contributes_its_strings_in_key_order() -> None:
    assert extract_text("thesis.json", b'{"z": "last", "a": ["first", 3, {"b": "second"}]}') == \
        "first\n\nsecond\n\nlast"


def test_plain_text_is_normalized() -> None:
    assert extract_text("notes.md", b"# Title\r\n\r\n\r\n  a   b\t c  \r\n") == "# Title\n\na b c"


def test_an_unsupported_type_is_named() -> None:
    with pytest.raises(ExtractionError, match=r"deck\.pptx: unsupported document type '\.pptx'"):
        extract_text("deck.pptx", b"")
