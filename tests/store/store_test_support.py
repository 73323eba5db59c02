"""Helpers for artifact-store tests: a valid health marker, and raw views of a store's root."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import fsspec
import pytest

from alpha_engine.store import ArtifactStore

MEMORY = fsspec.filesystem("memory")


def good_marker(**changes: Any) -> dict[str, Any]:
    """A health marker that satisfies health_marker.schema.json (as the stage runner writes it)."""
    marker: dict[str, Any] = {
        "module": "data-phase1",
        "status": "ok",
        "last_success": "2026-11-21T10:15:00Z",
        "run_date": "2026-11-21",
        "duration_seconds": 12.5,
        "summary": {"tickers": 503},
        "warnings": [],
        "error": None,
    }
    marker.update(changes)
    return marker


def memory_root(request: pytest.FixtureRequest) -> str:
    """A memory:// root private to this test (the memory file system is process-global)."""
    return "/store-tests-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]


def raw_tree(store: ArtifactStore) -> list[str]:
    """Every file and directory under the store's root as the file system sees it, temp files included."""
    if store.uri.startswith("memory://"):
        root = store.uri[len("memory://"):]
        return sorted(path[len(root) + 1:] for path in MEMORY.find(root, withdirs=True) if path != root)
    root_path = Path(store.uri)
    if not root_path.exists():
        return []
    out: list[str] = []
    for directory, dirs, files in os.walk(root_path):
        relative = Path(directory).relative_to(root_path)
        out.extend((relative / name).as_posix() + "/" for name in dirs)
        out.extend((relative / name).as_posix() for name in files)
    return sorted(out)


def put_raw(store: ArtifactStore, key: str, data: bytes) -> None:
    """Write bytes behind the store's back (no key check, no contract, no temp file)."""
    if store.uri.startswith("memory://"):
        MEMORY.pipe_file(f"{store.uri[len('memory://'):]}/{key}", data)
        return
    path = Path(store.uri) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
