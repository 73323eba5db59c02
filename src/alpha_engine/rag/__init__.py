"""The RAG corpus: document sources, chunking, embeddings and an embedded hybrid index (docs/rag.md)."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
