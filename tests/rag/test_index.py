"""The index: content-hash deduplication, incremental ingestion (unchanged documents are not
re-embedded, changed ones replace their chunks, deleted ones go), hybrid retrieval, determinism."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from rag_helpers import CORPUS, tiny_pdf

from alpha_engine.rag import (
    FolderSource,
    HashingEmbedder,
    RagIndex,
    RagIndexError,
    fts_query,
)

SIZE, OVERLAP = 400, 50


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.embedded.extend(texts)
        return super().embed(texts)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "documents"
    (docs / "filings").mkdir(parents=True)
    (docs / "constitution.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    (docs / "filings" / "acme.html").write_text(
        "<html><body><p>Acme Corp reported record quarterly revenue from its widget division, while "
        "inventory write-downs weighed on gross margin.</p></body></html>", encoding="utf-8")
    (docs / "memo.pdf").write_bytes(tiny_pdf("Board approved a share buyback of two billion dollars"))
    (docs / ".hidden.txt").write_text("never read", encoding="utf-8")
    (docs / "image.png").write_bytes(b"\x89PNG")
    return docs


def _ingest(index: RagIndex, folder: Path, embedder: HashingEmbedder) -> object:
    return index.ingest([FolderSource(folder)], embedder, chunk_size=SIZE, chunk_overlap=OVERLAP)


def test_a_first_ingestion_reads_every_supported_document(folder: Path, tmp_path: Path) -> None:
    embedder = CountingEmbedder()
    with RagIndex(tmp_path / "index.sqlite") as index:
        stats = _ingest(index, folder, embedder)
        assert index.document_hashes().keys() == {
            "documents:constitution.txt", "documents:filings/acme.html", "documents:memo.pdf"}
        assert stats.documents_added == 3 and stats.documents_removed == 0  # type: ignore[attr-defined]
        assert stats.chunks_embedded == index.count("contents") == len(embedder.embedded)  # type: ignore[attr-defined]


def test_identical_chunks_are_embedded_once(folder: Path, tmp_path: Path) -> None:
    shutil.copy(folder / "constitution.txt", folder / "copy.txt")
    embedder = CountingEmbedder()
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, embedder)
        per_copy = len(index.chunk_ids("documents:copy.txt"))
        assert per_copy > 10
        assert index.count("chunks") == index.count("contents") + per_copy
        assert len(embedder.embedded) == len(set(embedder.embedded)) == index.count("contents")
        hits = index.search("habeas corpus", embedder, k=5)
        assert hits[0].also_in and len({h.text for h in hits}) == len(hits)  # one hit per distinct text


def test_a_rerun_embeds_nothing_and_leaves_the_file_untouched(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    with RagIndex(path) as index:
        _ingest(index, folder, HashingEmbedder())
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    embedder = CountingEmbedder()
    with RagIndex(path) as index:
        stats = _ingest(index, folder, embedder)
    assert embedder.embedded == []
    assert stats.documents_unchanged == 3 and stats.chunks_written == 0  # type: ignore[attr-defined]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_changed_document_replaces_only_its_own_chunks(folder: Path, tmp_path: Path) -> None:
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, HashingEmbedder())
        kept = index.chunk_ids("documents:constitution.txt")
        (folder / "filings" / "acme.html").write_text(
            "<p>Acme Corp cut its dividend after a product recall.</p>", encoding="utf-8")
        embedder = CountingEmbedder()
        stats = _ingest(index, folder, embedder)
        assert (stats.documents_changed, stats.documents_unchanged) == (1, 2)  # type: ignore[attr-defined]
        assert embedder.embedded == ["Acme Corp cut its dividend after a product recall."]
        assert index.chunk_ids("documents:constitution.txt") == kept
        index.check_integrity()
        assert index.search("dividend product recall", embedder, k=1)[0].source_id == "documents:filings/acme.html"
        assert not [h for h in index.search("widget division inventory", embedder, k=10) if "widget" in h.text]


def test_a_deleted_document_is_removed_with_its_chunks_and_contents(folder: Path, tmp_path: Path) -> None:
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, HashingEmbedder())
        (folder / "memo.pdf").unlink()
        stats = _ingest(index, folder, HashingEmbedder())
        assert stats.documents_removed == 1 and stats.chunks_removed == 1  # type: ignore[attr-defined]
        assert "documents:memo.pdf" not in index.document_hashes()
        assert index.chunk_ids("documents:memo.pdf") == []
        assert all("buyback" not in h.text for h in index.search("share buyback", HashingEmbedder(), k=10))
        assert index.count("contents") == len({c for c in index.chunk_ids()})  # no orphan content
        index.check_integrity()
        index._db.execute("DELETE FROM contents WHERE id = (SELECT min(id) FROM contents)")  # behind the FTS's back
        with pytest.raises(RagIndexError, match="integrity check failed"):
            index.check_integrity()


def test_another_chunking_or_embedder_reprocesses_everything(folder: Path, tmp_path: Path) -> None:
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, HashingEmbedder())
        stats = index.ingest([FolderSource(folder)], HashingEmbedder(), chunk_size=600, chunk_overlap=50)
        assert stats.rebuilt and stats.documents_changed == 3
        assert all(len(h.text) <= 600 for h in index.search("senate", HashingEmbedder(), k=10))
        other = HashingEmbedder(dim=128)
        stats = index.ingest([FolderSource(folder)], other, chunk_size=600, chunk_overlap=50)
        assert stats.rebuilt and stats.chunks_embedded == index.count("contents")
        index.check_integrity()
        with pytest.raises(RagIndexError, match="built with embedder"):
            index.search("senate", HashingEmbedder(), k=1)


def test_a_failed_ingestion_leaves_the_index_as_it_was(folder: Path, tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    with RagIndex(path) as index:
        _ingest(index, folder, HashingEmbedder())
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    class Failing(HashingEmbedder):
        def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
            raise RuntimeError("embedder crashed")

    (folder / "new.txt").write_text("A new document about tariffs.", encoding="utf-8")
    (folder / "memo.pdf").unlink()
    with RagIndex(path) as index, pytest.raises(RuntimeError, match="crashed"):
        _ingest(index, folder, Failing())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_hybrid_search_puts_the_planted_chunk_first(folder: Path, tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, embedder)
        lexical = index.search("Writ of Habeas Corpus", embedder, k=3)
        assert "Habeas Corpus" in lexical[0].text and lexical[0].lexical_rank == 1
        # A paraphrase sharing only word pieces: 'inventories'/'inventory', 'margins'/'margin',
        # 'writedown'/'write-downs'. The embedder is lexical: it cannot match synonyms.
        paraphrase = index.search("writedowns of inventories hurt margins", embedder, k=3)
        assert paraphrase[0].source_id == "documents:filings/acme.html"
        assert paraphrase[0].vector_rank is not None and paraphrase[0].vector_rank <= 3
        pdf = index.search("buyback approved by the board", embedder, k=1)
        assert pdf[0].source_id == "documents:memo.pdf"


def test_search_on_an_empty_index_and_odd_queries_returns_nothing(tmp_path: Path) -> None:
    with RagIndex(tmp_path / "index.sqlite") as index:
        assert index.search("anything", HashingEmbedder(), k=5) == []
        assert index.search('"); DROP TABLE chunks; --', HashingEmbedder(), k=5) == []
    assert fts_query('a "b" OR c*') == '"a" OR "b" OR "or" OR "c"'


def test_the_same_documents_give_byte_identical_indexes(folder: Path, tmp_path: Path) -> None:
    digests = []
    for name in ("one.sqlite", "two.sqlite"):
        with RagIndex(tmp_path / name) as index:
            _ingest(index, folder, HashingEmbedder())
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_read_only_refuses_to_ingest_and_a_foreign_file_is_named(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(RagIndexError, match="does not exist"):
        RagIndex(tmp_path / "absent.sqlite", read_only=True)
    with RagIndex(tmp_path / "index.sqlite") as index:
        _ingest(index, folder, HashingEmbedder())
    with RagIndex(tmp_path / "index.sqlite", read_only=True) as index:
        assert index.count("documents") == 3
        with pytest.raises(RagIndexError, match="read-only"):
            _ingest(index, folder, HashingEmbedder())
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(RagIndexError, match="not a RAG index"):
        RagIndex(foreign)


def test_a_document_changed_between_hashing_and_reading_is_an_error(folder: Path, tmp_path: Path) -> None:
    from alpha_engine.rag import SourceError

    (document,) = [d for d in FolderSource(folder).documents() if d.source_id.endswith("acme.html")]
    (folder / "filings" / "acme.html").write_text("<p>rewritten</p>", encoding="utf-8")
    with pytest.raises(SourceError, match="changed while it was being ingested"):
        document.load()
