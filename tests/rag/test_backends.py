"""The same behaviour from both index backends (SQLite, Postgres + pgvector): ingestion, incremental
re-ingestion, deletion, hybrid ranking, the embedder check, atomicity and the write fence."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from rag_helpers import CORPUS, tiny_pdf

from alpha_engine.rag import FolderSource, HashingEmbedder, RagBackend, RagIndexError
from alpha_engine.store import FencedWriteError
from conftest import OpenIndex

SIZE, OVERLAP = 400, 50


class CountingEmbedder(HashingEmbedder):
    """The hashing embedder, counting the texts it embeds."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.embedded.extend(texts)
        return super().embed(texts)


class RefusingFence:
    """A write fence whose lease was taken over: it refuses every write, recording what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def check(self, store: str, key: str) -> None:
        self.asked.append((store, key))
        raise FencedWriteError(f"{store}: refused to write {key}: superseded by attempt 2", key=key, uri=store,
                               reason="superseded by attempt 2")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "documents"
    (docs / "filings").mkdir(parents=True)
    (docs / "constitution.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    (docs / "filings" / "acme.html").write_text(
        "<html><body><p>Acme Corp reported record quarterly revenue from its widget division, while "
        "inventory write-downs weighed on gross margin.</p></body></html>", encoding="utf-8")
    (docs / "memo.pdf").write_bytes(tiny_pdf("Board approved a share buyback of two billion dollars"))
    return docs


def _ingest(index: RagBackend, folder: Path, embedder: HashingEmbedder, **kwargs: object) -> object:
    return index.ingest([FolderSource(folder)], embedder, chunk_size=SIZE, chunk_overlap=OVERLAP, **kwargs)  # type: ignore[arg-type]


def _state(index: RagBackend) -> tuple[object, ...]:
    return (index.meta(), index.document_hashes(), index.chunk_ids(), index.count("contents"))


def test_a_first_ingestion_embeds_each_distinct_text_once(open_index: OpenIndex, folder: Path) -> None:
    shutil.copy(folder / "constitution.txt", folder / "copy.txt")
    embedder = CountingEmbedder()
    index = open_index()
    stats = _ingest(index, folder, embedder)
    assert index.document_hashes().keys() == {"documents:constitution.txt", "documents:copy.txt",
                                              "documents:filings/acme.html", "documents:memo.pdf"}
    assert stats.documents_added == 4 and stats.chunks_embedded == index.count("contents")  # type: ignore[attr-defined]
    per_copy = len(index.chunk_ids("documents:copy.txt"))
    assert index.count("chunks") == index.count("contents") + per_copy
    assert len(embedder.embedded) == len(set(embedder.embedded)) == index.count("contents")
    index.check_integrity()


def test_a_rerun_embeds_and_writes_nothing(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    before = _state(index)
    embedder = CountingEmbedder()
    stats = _ingest(index, folder, embedder)
    assert embedder.embedded == []
    assert (stats.documents_unchanged, stats.chunks_written, stats.chunks_embedded) == (3, 0, 0)  # type: ignore[attr-defined]
    assert _state(index) == before


def test_a_changed_document_replaces_only_its_own_chunks(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    kept = index.chunk_ids("documents:constitution.txt")
    (folder / "filings" / "acme.html").write_text("<p>Acme Corp cut its dividend after a product recall.</p>",
                                                  encoding="utf-8")
    embedder = CountingEmbedder()
    stats = _ingest(index, folder, embedder)
    assert (stats.documents_changed, stats.documents_unchanged) == (1, 2)  # type: ignore[attr-defined]
    assert embedder.embedded == ["Acme Corp cut its dividend after a product recall."]
    assert index.chunk_ids("documents:constitution.txt") == kept
    assert index.search("dividend product recall", embedder, k=1)[0].source_id == "documents:filings/acme.html"
    assert not [h for h in index.search("widget division inventory", embedder, k=10) if "widget" in h.text]
    index.check_integrity()


def test_a_deleted_document_goes_with_its_chunks_and_contents(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    (folder / "memo.pdf").unlink()
    stats = _ingest(index, folder, HashingEmbedder())
    assert stats.documents_removed == 1 and stats.chunks_removed == 1  # type: ignore[attr-defined]
    assert "documents:memo.pdf" not in index.document_hashes() and index.chunk_ids("documents:memo.pdf") == []
    assert all("buyback" not in h.text for h in index.search("share buyback", HashingEmbedder(), k=10))
    assert index.count("contents") == len(index.chunk_ids())
    index.check_integrity()


def test_hybrid_search_ranks_the_obvious_document_first(open_index: OpenIndex, folder: Path) -> None:
    embedder = HashingEmbedder()
    index = open_index()
    _ingest(index, folder, embedder)
    lexical = index.search("Writ of Habeas Corpus", embedder, k=3)
    assert "Habeas Corpus" in lexical[0].text and lexical[0].lexical_rank == 1 and lexical[0].vector_rank == 1
    paraphrase = index.search("writedowns of inventories hurt margins", embedder, k=3)
    assert paraphrase[0].source_id == "documents:filings/acme.html"
    assert index.search("buyback approved by the board", embedder, k=1)[0].source_id == "documents:memo.pdf"
    scores = [h.score for h in index.search("senate", embedder, k=10)]
    assert scores == sorted(scores, reverse=True) and scores[0] <= 2 / 61  # RRF, k = 60
    index.search('"); DROP TABLE chunks; -- a:* & !b', embedder, k=5)  # no query syntax gets through
    assert index.count("chunks") > 0


def test_an_empty_index_finds_nothing(open_index: OpenIndex) -> None:
    index = open_index()
    assert index.search("anything", HashingEmbedder(), k=5) == []
    assert index.search("the of and", HashingEmbedder(), k=5) == []


def test_another_embedder_re_embeds_everything_and_the_old_one_is_refused(open_index: OpenIndex,
                                                                           folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    other = HashingEmbedder(dim=128)
    stats = _ingest(index, folder, other)
    assert stats.rebuilt and stats.chunks_embedded == index.count("contents")  # type: ignore[attr-defined]
    index.check_integrity()
    assert index.search("habeas corpus", other, k=1)
    with pytest.raises(RagIndexError, match="built with embedder 'hashing-ngrams-v3-d128-c0.5'"):
        index.search("senate", HashingEmbedder(), k=1)
    with pytest.raises(RagIndexError, match="built with embedder"):
        index.check_embedder(HashingEmbedder())


def test_a_failed_ingestion_leaves_the_index_as_it_was(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    before = _state(index)

    class Failing(HashingEmbedder):
        def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
            raise RuntimeError("embedder crashed")

    (folder / "new.txt").write_text("A new document about tariffs.", encoding="utf-8")
    (folder / "memo.pdf").unlink()
    with pytest.raises(RuntimeError, match="crashed"):
        _ingest(index, folder, Failing())
    assert _state(index) == before


def test_a_refusing_fence_rolls_the_ingestion_back(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    before = _state(index)
    (folder / "new.txt").write_text("A new document about tariffs.", encoding="utf-8")
    (folder / "memo.pdf").unlink()
    fence = RefusingFence()
    with pytest.raises(FencedWriteError, match="superseded by attempt 2"):
        _ingest(index, folder, HashingEmbedder(), fence=fence)
    assert fence.asked == [(index.location, "RAG ingestion")]  # asked once, right before the commit
    assert _state(index) == before
    index.check_integrity()
    assert index.search("share buyback", HashingEmbedder(), k=1)[0].source_id == "documents:memo.pdf"


def test_a_fence_is_not_asked_when_nothing_changes(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    fence = RefusingFence()
    _ingest(index, folder, HashingEmbedder(), fence=fence)
    assert fence.asked == []


def test_read_only_refuses_to_ingest(open_index: OpenIndex, folder: Path) -> None:
    _ingest(open_index(), folder, HashingEmbedder())
    reader = open_index(read_only=True)
    assert reader.count("documents") == 3
    assert reader.search("habeas corpus", HashingEmbedder(), k=1)
    with pytest.raises(RagIndexError, match="read-only"):
        _ingest(reader, folder, HashingEmbedder())


def test_the_integrity_check_finds_a_planted_orphan(open_index: OpenIndex, folder: Path) -> None:
    index = open_index()
    _ingest(index, folder, HashingEmbedder())
    index.check_integrity()
    if hasattr(index, "_db") and index.__class__.__name__ == "RagIndex":
        index._db.execute("DELETE FROM contents WHERE id = (SELECT min(id) FROM contents)")  # behind the FTS's back
    else:
        index._db.execute("DELETE FROM rag.chunks WHERE chunk_id = (SELECT min(chunk_id) FROM rag.chunks)")  # type: ignore[attr-defined]
    with pytest.raises(RagIndexError, match="integrity check failed"):
        index.check_integrity()
