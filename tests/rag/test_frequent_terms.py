"""Lexical query terms by document frequency (lexical_terms, the same rules in both backends):
words in more than half the texts are left out, frequent words are left out when a rarer word
remains (else the rarest is kept), small indexes keep every word, and the frequencies follow
ingestion."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rag_helpers import CORPUS

from alpha_engine.rag import FREQUENT_MIN_DOCS, FolderSource, HashingEmbedder, RagIndex
from alpha_engine.rag import _index as index_module
from alpha_engine.rag._sources import Document
from conftest import OpenIndex

N_DOCS = 200


@dataclass(frozen=True)
class Texts:
    """One single-chunk document per text."""

    texts: tuple[str, ...]
    name: str = "texts"

    def check(self) -> None:
        pass

    def documents(self) -> Iterator[Document]:
        for i, text in enumerate(self.texts):
            yield Document(f"texts:{i:04d}", hashlib.sha256(text.encode()).hexdigest(), lambda text=text: text)


def corpus(n: int = N_DOCS) -> tuple[str, ...]:
    """'alpha' in every text (no BM25 weight), 'beta' in 30%, 'gamma' in 10% (both frequent at
    5%), 'delta' in one text only, with 'gamma' (the planted text)."""
    texts = []
    for i in range(n):
        words = [f"serial{i}", "alpha", f"filler{i % 7}"]
        if i % 10 < 3:
            words.append("beta")
        if i % 10 == 5:
            words.append("gamma")
        if i == 125:
            words.append("delta")
        texts.append(" ".join(words))
    return tuple(texts)


@pytest.fixture
def small_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    # the rule applies above FREQUENT_MIN_DOCS texts; lower it so a 200-text index exercises it
    monkeypatch.setattr(index_module, "FREQUENT_MIN_DOCS", 10)


@pytest.mark.usefixtures("small_floor")
def test_frequent_words_are_left_out_when_a_rare_one_remains(open_index: OpenIndex) -> None:
    embedder = HashingEmbedder()
    with open_index() as index:
        index.ingest([Texts(corpus())], embedder, chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("alpha beta gamma delta") == ["delta"]
        assert index.lexical_terms("Alphas BETAS deltas") == ["deltas"]  # stemmed as the index is
        planted = index.search("alpha beta gamma delta", embedder, k=3)
        assert planted[0].source_id == "texts:0125" and planted[0].lexical_rank == 1


@pytest.mark.usefixtures("small_floor")
def test_a_query_of_only_frequent_words_keeps_the_rarest_and_still_answers(open_index: OpenIndex) -> None:
    embedder = HashingEmbedder()
    with open_index() as index:
        index.ingest([Texts(corpus())], embedder, chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("beta gamma alpha") == ["gamma"]  # 10% < 30%; 'alpha' is in all
        found = index.lexical_search("beta gamma alpha", 50)
        assert len(found) == N_DOCS // 10
        hits = index.search("beta gamma alpha", embedder, k=10)
        assert len(hits) == 10 and all("gamma" in hit.text for hit in hits if hit.lexical_rank is not None)


@pytest.mark.usefixtures("small_floor")
def test_words_in_more_than_half_the_texts_match_nothing_but_the_vectors_answer(open_index: OpenIndex) -> None:
    embedder = HashingEmbedder()
    with open_index() as index:
        index.ingest([Texts(corpus())], embedder, chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("alpha") == []
        assert index.lexical_search("alpha", 50) == []
        hits = index.search("alpha", embedder, k=5)
        assert len(hits) == 5 and all(hit.lexical_rank is None and hit.vector_rank for hit in hits)
        # a word the index does not hold is rare, not frequent
        assert index.lexical_terms("alpha unheardof") == ["unheardof"]


@pytest.mark.usefixtures("small_floor")
def test_frequencies_are_read_again_after_an_ingestion(open_index: OpenIndex) -> None:
    embedder = HashingEmbedder()
    texts = corpus()
    with open_index() as index:
        index.ingest([Texts(texts)], embedder, chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("delta zeta") == ["delta", "zeta"]
        more = texts + tuple(f"delta extra{i}" for i in range(30))  # 'delta' now in 31 of 230 texts
        index.ingest([Texts(more)], embedder, chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("delta zeta") == ["zeta"]
        assert index.lexical_terms("beta delta") == ["delta"]  # both frequent: the rarer (31 < 60) is kept
        assert index.lexical_terms("beta delta zeta") == ["zeta"]
    with open_index(read_only=True) as index:  # a read-only index too
        assert index.lexical_terms("beta delta zeta") == ["zeta"]


def test_an_index_of_at_most_frequent_min_docs_texts_keeps_every_word(tmp_path: Path) -> None:
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "constitution.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    embedder = HashingEmbedder()
    with RagIndex(tmp_path / "index.sqlite") as index:
        index.ingest([FolderSource(docs)], embedder, chunk_size=400, chunk_overlap=50)
        assert index.count("contents") <= FREQUENT_MIN_DOCS
        # 'congress', 'state' and 'house' are in many of the 44 chunks; below the floor they all stay
        assert index.lexical_terms("The Congress shall have Power, the State and the House") == [
            "congress", "power", "state", "house"]
        assert index.lexical_terms("the of and") == ["the", "of", "and"]  # only function words: kept
