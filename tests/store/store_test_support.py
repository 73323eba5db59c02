"""Helpers for artifact-store tests: a valid health marker, and raw views of a store's root."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import fsspec
import pytest

import moto_server
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


def s3_location(store: ArtifactStore) -> tuple[str, str] | None:
    """(bucket, key prefix ending in '/') of an ``s3://`` store, else None."""
    if not store.uri.startswith("s3://"):
        return None
    bucket, _, root = store.uri[len("s3://"):].partition("/")
    return bucket, f"{root.strip('/')}/" if root.strip("/") else ""


def raw_tree(store: ArtifactStore) -> list[str]:
    """Every file and directory under the store's root as the file system sees it, temp files included
    (on S3: every object under the root, straight from the bucket)."""
    location = s3_location(store)
    if location is not None:
        bucket, prefix = location
        pages = moto_server.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"][len(prefix):] for page in pages for item in page.get("Contents", []))
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
    location = s3_location(store)
    if location is not None:
        moto_server.client("s3").put_object(Bucket=location[0], Key=location[1] + key, Body=data)
        return
    if store.uri.startswith("memory://"):
        MEMORY.pipe_file(f"{store.uri[len('memory://'):]}/{key}", data)
        return
    path = Path(store.uri) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
