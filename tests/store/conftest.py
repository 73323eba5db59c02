"""Fixtures for artifact-store tests: the same store API over a local directory, memory:// and S3
(the local moto server: a fresh bucket per test, the store rooted at ``s3://BUCKET/root``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_test_support import MEMORY, memory_root

import moto_server
from alpha_engine.store import ArtifactStore


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """A fresh, empty, writable store on each backend."""
    if request.param == "local":
        yield ArtifactStore(tmp_path / "artifacts")
        return
    if request.param == "s3":
        yield ArtifactStore(f"s3://{moto_server.fresh_bucket('store')}/root",
                            storage_options=moto_server.s3fs_options())
        return
    root = memory_root(request)
    if MEMORY.exists(root):
        MEMORY.rm(root, recursive=True)
    yield ArtifactStore(f"memory://{root}")
    if MEMORY.exists(root):
        MEMORY.rm(root, recursive=True)
