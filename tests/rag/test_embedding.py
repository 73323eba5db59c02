"""The embedders: unit rows, deterministic, offline; the semantic one matches meanings."""

from __future__ import annotations

import socket
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from alpha_engine.rag import EMBEDDERS, HashingEmbedder, RAGIngestionOptions, WordLlamaEmbedder, make_embedder


def _cosine(embedder: WordLlamaEmbedder | HashingEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


@pytest.fixture(scope="module")
def wordllama() -> WordLlamaEmbedder:
    return WordLlamaEmbedder()


def test_wordllama_rows_are_unit_float32_and_repeatable(wordllama: WordLlamaEmbedder) -> None:
    texts = ["Apple lifted its dividend", "Oil fell on OPEC supply", ""]
    first = wordllama.embed(texts)
    assert first.shape == (3, 256) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first[:2], axis=1), 1.0, atol=1e-6)
    assert not first[2].any()  # a text without tokens is the zero row
    assert first.tobytes() == WordLlamaEmbedder().embed(texts).tobytes()
    assert wordllama.embed([]).shape == (0, 256)


def test_wordllama_matches_meanings_the_hashing_embedder_cannot(wordllama: WordLlamaEmbedder) -> None:
    # No shared word: the lexical embedder sees nothing, the semantic one sees the paraphrase.
    near, far = ("consumer prices are rising fast", "inflation accelerated"), \
        ("consumer prices are rising fast", "the team won the football match")
    assert _cosine(wordllama, *near) > _cosine(wordllama, *far) + 0.2
    hashing = HashingEmbedder()
    assert abs(_cosine(hashing, *near) - _cosine(hashing, *far)) < 0.2


def test_truncated_dims_are_prefixes_and_named_apart() -> None:
    small = WordLlamaEmbedder(64)
    assert small.embed(["bank earnings"]).shape == (1, 64)
    assert small.name != WordLlamaEmbedder(256).name
    with pytest.raises(ValueError, match="dim must be one of"):
        WordLlamaEmbedder(100)


def test_wordllama_loads_without_network() -> None:
    # A fresh interpreter whose sockets refuse to connect still loads and embeds (weights and
    # tokenizer come from the installed wheel, never the Hugging Face hub).
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\nsocket.getaddrinfo = refuse\n"
        "from alpha_engine.rag import WordLlamaEmbedder\n"
        "print(WordLlamaEmbedder().embed(['offline check']).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(1, 256)"
    assert socket.socket.connect is not None  # this process is untouched


def test_make_embedder_and_the_options_agree() -> None:
    assert EMBEDDERS == ("wordllama", "hashing")
    assert isinstance(make_embedder("hashing", 128), HashingEmbedder)
    assert make_embedder("wordllama", 128).name == "wordllama-l2-supercat-d128"
    with pytest.raises(ValueError, match="unknown embedder 'bert'"):
        make_embedder("bert", 256)
    assert RAGIngestionOptions().embedder == "wordllama"
    with pytest.raises(ValidationError, match="does not fit embedder 'wordllama'"):
        RAGIngestionOptions(embedding_dim=100)
    assert RAGIngestionOptions(embedder="hashing", embedding_dim=100).embedding_dim == 100
