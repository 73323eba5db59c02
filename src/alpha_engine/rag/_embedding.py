"""Embedders: text to unit vectors, behind one interface.

:class:`HashingEmbedder` is the embedder shipped today. It is **lexical, not semantic**: it hashes
word unigrams and character 3- to 5-grams within words (scikit-learn's ``HashingVectorizer``,
MurmurHash3, signed) straight into ``dim`` dimensions (the signed hashing is itself a random
projection of the n-gram counts), with sublinear term frequency and no corpus statistics, so an
embedding depends on its text alone and never changes when the corpus does. It matches shared
words and word pieces ("inflationary" ~ "inflation"), never synonyms ("prices rising" vs
"inflation"). It needs no weights and no network.

A semantic model plugs in behind the same :class:`Embedder` protocol once its weights can ship in
a package (e.g. a model2vec static model such as ``minishlab/potion-base-8M``, MIT, vendored in a
wheel): give it a new ``name`` and the index re-embeds everything on the next ingestion.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Embedder", "HashingEmbedder"]


class Embedder(Protocol):
    """Maps texts to L2-normalized float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the model and its parameters; a different name re-embeds the index."""
        ...

    @property
    def dim(self) -> int:
        ...

    @property
    def semantic(self) -> bool:
        """False for a lexical embedder (it matches shared words, not meanings)."""
        ...

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Array of shape (len(texts), dim), each row of unit norm (or zero for an empty text)."""
        ...


class HashingEmbedder:
    """Hashed word and character n-grams, ``dim`` dimensions (see the module docstring).

    Parameters
    ----------
    dim : int
        Output dimension (default 256).
    char_weight : float
        Share of the character n-gram part in the vector (the rest is word unigrams).
    """

    semantic = False

    def __init__(self, dim: int = 256, char_weight: float = 0.5) -> None:
        self.dim = dim
        self.char_weight = char_weight
        self._vectorizers: tuple[Any, Any] | None = None

    @property
    def name(self) -> str:
        return f"hashing-ngrams-v1-d{self.dim}-c{self.char_weight:g}"

    def _load(self) -> tuple[Any, Any]:
        if self._vectorizers is None:
            if not (8 <= self.dim <= 4096):
                raise ValueError(f"HashingEmbedder: dim must be in 8..4096, got {self.dim}")
            if not (0.0 <= self.char_weight <= 1.0):
                raise ValueError(f"HashingEmbedder: char_weight must be in 0..1, got {self.char_weight}")
            from sklearn.feature_extraction.text import HashingVectorizer

            common: dict[str, Any] = {"n_features": self.dim, "alternate_sign": True, "norm": None,
                                      "lowercase": True, "dtype": np.float32}
            words = HashingVectorizer(analyzer="word", token_pattern=r"(?u)\b\w+\b", **common)
            chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), **common)
            self._vectorizers = (words, chars)
        return self._vectorizers

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        words, chars = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        w = words.transform(texts)
        c = chars.transform(texts)
        for matrix in (w, c):  # sublinear tf: 1 + log(count), keeping the hashed sign
            matrix.data = np.sign(matrix.data) * (1.0 + np.log(np.abs(matrix.data) + 1e-12)).clip(min=0.0)
        dense = (np.sqrt(1.0 - self.char_weight) * _l2(w.toarray())
                 + np.sqrt(self.char_weight) * _l2(c.toarray()))
        return _l2(dense).astype(np.float32)


def _l2(matrix: npt.NDArray[Any]) -> npt.NDArray[Any]:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out: npt.NDArray[Any] = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return out
