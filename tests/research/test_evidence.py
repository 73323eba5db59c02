"""The qual analyst's evidence: retrieval from a planted RAG index, the rule, the LLM payload."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from alpha_engine.config import load_settings
from alpha_engine.rag import FolderSource, RagIndex, RagIndexError, WordLlamaEmbedder, open_retriever
from alpha_engine.research import EVIDENCE_K, NO_EVIDENCE, Evidence, TeamView, deterministic_backend, retrieve

RULES = deterministic_backend()
DOCS = {
    "a.md": "Acme note: ACME won a large defence contract; ACME backlog is at a record.",
    "b.txt": "Second view on ACME: the contract carries low margins.",
    "c.txt": "Industrials demand softened; acmes and subacme parts are not tickers.",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    with RagIndex(tmp_path / "rag" / "index.sqlite") as index:
        index.ingest([FolderSource(folder, required=True)], WordLlamaEmbedder())
    return tmp_path


def test_retrieval_keeps_only_chunks_naming_the_ticker_as_a_word(workspace: Path) -> None:
    retriever = open_retriever(load_settings(workspace=workspace, env={}))
    assert retriever is not None
    found = retrieve(retriever, "ACME", "Industrials")
    retriever.close()
    assert sorted(e.source_id for e in found) == ["documents:a.md", "documents:b.txt"]
    assert all("ACME" in e.excerpt and e.chunk_id and e.score > 0 for e in found) and len(found) <= EVIDENCE_K
    assert retrieve(None, "ACME", "Industrials") == ()


def test_no_index_file_is_no_evidence_and_another_embedder_is_a_clear_error(workspace: Path) -> None:
    assert open_retriever(load_settings(workspace=workspace / "elsewhere", env={})) is None
    (workspace / "config.toml").write_text("[stages.rag-ingestion]\nembedding_dim = 64\n", encoding="utf-8")
    with pytest.raises(RagIndexError, match="built with embedder"):
        open_retriever(load_settings(workspace=workspace, env={}))


def _view(evidence: dict[str, tuple[Evidence, ...]]) -> TeamView:
    features = {t: {"momentum_20d_zscore": m, "return_60d_zscore": m, "idio_vol_60d_zscore": 0.0,
                    "dist_from_52w_high_zscore": 0.0, "realized_vol_63d_zscore": 0.0}
                for t, m in (("A", 1.0), ("B", 0.5), ("C", -0.5))}
    return TeamView(team="industrials", regime="neutral", tickers=("A", "B", "C"), features=features,  # type: ignore[arg-type]
                    sector_of=dict.fromkeys(features, "Industrials"), evidence=evidence)


def test_evidence_raises_conviction_but_never_moves_the_score() -> None:
    one = Evidence(chunk_id="c1", source_id="documents:a.md", score=0.03, excerpt="A won")
    two = Evidence(chunk_id="c2", source_id="documents:b.md", score=0.02, excerpt="A again")
    view = _view({"A": (one, two), "B": ()})
    quant = RULES.quant.rank(view)
    out = RULES.qual.review(view, quant)
    by = {a.ticker: a for a in out.assessments}
    assert by["A"].qual_score == next(p.quant_score for p in quant.top if p.ticker == "A")
    assert by["A"].conviction == 50.0  # 25 per distinct source
    assert by["A"].evidence == ["c1 | documents:a.md | 0.030000 | A won", "c2 | documents:b.md | 0.020000 | A again"]
    assert by["B"].qual_score is None and by["B"].evidence == [] and by["B"].note == NO_EVIDENCE
    assert out.note == "evidence retrieved for 1 of 3"
    assert RULES.qual.review(replace(view, evidence={}), quant).note == NO_EVIDENCE
