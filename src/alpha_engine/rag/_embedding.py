"""Embedders: text to unit vectors, behind one interface.

:class:`HashingEmbedder` is the embedder shipped today. It is **lexical, not semantic**. Each
word (lowercased ``\\w+`` run) maps to a fixed vector, the sum of

* its own hashed, signed unit coordinate (weight ``sqrt(1 - char_weight)``), and
* its character 3- to 5-grams (of `` word ``, padded by spaces), each hashed to a signed
  coordinate, the sum L2-normalized (weight ``sqrt(char_weight)``);

hashing is CRC-32 of the UTF-8 text (index = hash mod ``dim``, sign = the hash's top bit), so a
word's vector is the same on every machine and in every process. A text's vector is the sum of
its distinct words' vectors weighted by ``1 + log(count)`` (sublinear term frequency),
L2-normalized; English function words (:data:`STOP_WORDS`) are left out. Signed hashing into ``dim`` coordinates is a random projection of the n-gram
counts. No corpus statistics enter: an embedding depends on its text alone and never changes as
the corpus grows. It matches shared words and word pieces ("inflationary" ~ "inflation"), never
synonyms ("prices rising" vs "inflation"). It needs no weights and no network. Word vectors are
cached (up to ``cache_words`` words, then the cache restarts), which is what makes it fast.


:class:`WordLlamaEmbedder` is the semantic one: WordLlama's ``l2_supercat`` static token
embeddings (MIT; 32,000 Llama-2 tokens x 256 dimensions, trained to pool into sentence vectors),
whose weights and tokenizer ship inside the ``wordllama`` wheel from PyPI, so it loads with no
network. A text's vector is the average of its tokens' vectors, L2-normalized. It matches
meanings the hashing embedder cannot ("prices rising" ~ "inflation") at the cost of a 16 MB
weight file; both are deterministic. Switching embedders changes ``name`` and the index re-embeds
everything on the next ingestion.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["EMBEDDERS", "Embedder", "HashingEmbedder", "WordLlamaEmbedder", "make_embedder"]

_WORD = re.compile(r"\w+", re.UNICODE)

# English function words, left out of an embedding (a text made only of them keeps them): without
# corpus statistics there is no IDF, and "of"/"the" would otherwise dominate every vector.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just me more most
my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves shall may
""".split())


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
        """Array of shape (len(texts), dim), each row of unit norm (or zero for a text without words)."""
        ...


class HashingEmbedder:
    """Hashed words and character n-grams, ``dim`` dimensions (see the module docstring).

    Parameters
    ----------
    dim : int
        Output dimension (default 256), 8..4096.
    char_weight : float
        Share of the character n-gram part in a word's vector, 0..1 (the rest is the word itself).
    cache_words : int
        How many word vectors to keep.
    """

    semantic = False

    def __init__(self, dim: int = 256, char_weight: float = 0.5, cache_words: int = 50_000) -> None:
        self.dim = dim
        self.char_weight = char_weight
        self.cache_words = cache_words
        self._cache: dict[str, npt.NDArray[np.float64]] = {}

    @property
    def name(self) -> str:
        return f"hashing-ngrams-v3-d{self.dim}-c{self.char_weight:g}"

    def _validate(self) -> None:
        if not 8 <= self.dim <= 4096:
            raise ValueError(f"HashingEmbedder: dim must be in 8..4096, got {self.dim}")
        if not 0.0 <= self.char_weight <= 1.0:
            raise ValueError(f"HashingEmbedder: char_weight must be in 0..1, got {self.char_weight}")

    def _coordinate(self, feature: str) -> tuple[int, float]:
        h = zlib.crc32(feature.encode("utf-8"))
        return h % self.dim, 1.0 if h & 0x80000000 else -1.0

    def word_vector(self, word: str) -> npt.NDArray[np.float64]:
        """The fixed vector of one lowercased word."""
        vector = self._cache.get(word)
        if vector is not None:
            return vector
        chars = np.zeros(self.dim)
        padded = f" {word} "
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                index, sign = self._coordinate(padded[i:i + n])
                chars[index] += sign
        norm = float(np.linalg.norm(chars))
        vector = chars * (math.sqrt(self.char_weight) / norm) if norm else chars
        index, sign = self._coordinate("w:" + word)
        vector[index] += sign * math.sqrt(1.0 - self.char_weight)
        if len(self._cache) >= self.cache_words:
            self._cache.clear()
        self._cache[word] = vector
        return vector

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        from scipy.sparse import csr_matrix

        self._validate()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        columns: dict[str, int] = {}
        indptr, indices, weights = [0], [], []
        for text in texts:
            found = _WORD.findall(text.lower())
            content = [w for w in found if w not in STOP_WORDS]
            for word, count in Counter(content or found).items():
                indices.append(columns.setdefault(word, len(columns)))
                weights.append(1.0 + math.log(count))
            indptr.append(len(indices))
        if not columns:
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        words = np.stack([self.word_vector(word) for word in columns])
        tf = csr_matrix((np.asarray(weights), np.asarray(indices), np.asarray(indptr)),
                        shape=(len(texts), len(columns)))
        vectors = np.asarray(tf @ words)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = np.divide(vectors, norms, out=np.zeros_like(vectors),
                                                 where=norms > 0).astype(np.float32)
        return out


class WordLlamaEmbedder:
    """WordLlama ``l2_supercat`` at ``dim`` dimensions (64, 128 or 256: Matryoshka truncation of the
    256-d weights), average-pooled and L2-normalized (see the module docstring).

    We load the packaged files ourselves rather than through ``WordLlama.load()``: wordllama 0.4
    looks for its tokenizer under ``wordllama/tokenizer/`` while the wheel ships it under
    ``wordllama/tokenizers/``, so its loader falls back to downloading from the Hugging Face hub,
    which an offline machine cannot reach.
    """

    semantic = True
    WEIGHTS = "weights/l2_supercat_256.safetensors"
    TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
    DIMS = (64, 128, 256)

    def __init__(self, dim: int = 256, batch_size: int = 256) -> None:
        if dim not in self.DIMS:
            raise ValueError(f"WordLlamaEmbedder: dim must be one of {self.DIMS}, got {dim}")
        self.dim = dim
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def name(self) -> str:
        return f"wordllama-l2-supercat-d{self.dim}"

    def _load(self) -> Any:
        if self._model is None:
            from importlib.resources import as_file, files

            try:
                from safetensors import safe_open
                from tokenizers import Tokenizer
                from wordllama.inference import WordLlamaInference
            except ImportError as exc:  # pragma: no cover - a declared dependency
                raise RuntimeError(f"WordLlamaEmbedder needs the wordllama package ({exc}); "
                                   "pip install wordllama") from exc
            package = files("wordllama")
            with as_file(package / self.WEIGHTS) as weights, as_file(package / self.TOKENIZER) as tokenizer:
                if not weights.is_file() or not tokenizer.is_file():
                    raise RuntimeError(f"WordLlamaEmbedder: the wordllama package lacks {self.WEIGHTS} or "
                                       f"{self.TOKENIZER}; reinstall wordllama from PyPI")
                with safe_open(str(weights), framework="np", device="cpu") as f:
                    embedding = f.get_tensor("embedding.weight")[:, :self.dim]
                self._model = WordLlamaInference(embedding, Tokenizer.from_file(str(tokenizer)))
        return self._model

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._load().embed(texts, norm=False, batch_size=self.batch_size), dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out: npt.NDArray[np.float32] = np.divide(vectors, norms, out=np.zeros_like(vectors),
                                                 where=norms > 0).astype(np.float32)
        return out


# The embedders a configuration may name (``[stages.rag-ingestion] embedder``).
EMBEDDERS = ("wordllama", "hashing")


def make_embedder(kind: str, dim: int) -> Embedder:
    """The embedder ``kind`` (one of :data:`EMBEDDERS`) at ``dim`` dimensions."""
    if kind == "wordllama":
        return WordLlamaEmbedder(dim)
    if kind == "hashing":
        return HashingEmbedder(dim)
    raise ValueError(f"unknown embedder {kind!r}; choose one of {', '.join(EMBEDDERS)}")
