"""Fixtures for artifact-store tests: the same store API over a local directory and memory://."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_test_support import MEMORY, memory_root

from alpha_engine.store import ArtifactStore


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """A fresh, empty, writable store on each backend."""
    if request.param == "local":
        yield ArtifactStore(tmp_path / "artifacts")
        return
    root = memory_root(request)
    if MEMORY.exists(root):
        MEMORY.rm(root, recursive=True)
    yield ArtifactStore(f"memory://{root}")
    if MEMORY.exists(root):
        MEMORY.rm(root, recursive=True)
