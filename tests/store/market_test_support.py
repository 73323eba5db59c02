"""Helpers for market-store tests on both back-ends: an LMDB directory, or S3 on the moto server."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import moto_server
from alpha_engine.store._market_location import lmdb_directory, s3_market_location
from alpha_engine.store._s3_lease import LEASE_OBJECT_NAME

BACKENDS = ["lmdb", "s3"]


def s3_market_uri(prefix: str = "arcticdb") -> str:
    """An ArcticDB S3 URI for a fresh bucket on the moto server (plain HTTP, the fake credentials)."""
    bucket = moto_server.fresh_bucket("market")
    return (f"s3://127.0.0.1:{bucket}?port={moto_server.port()}&access={moto_server.ACCESS_KEY}"
            f"&secret={moto_server.SECRET_KEY}&path_prefix={prefix}")


def market_uri(backend: str, tmp_path: Path) -> str:
    return f"lmdb://{tmp_path / 'arcticdb'}" if backend == "lmdb" else s3_market_uri()


def stored_state(uri: str) -> dict[str, str]:
    """What the store holds, byte for byte: sha256 of every LMDB file but lock.mdb (LMDB's reader table,
    rewritten by every read transaction), or the ETag (MD5) of every object under the S3 prefix."""
    directory = lmdb_directory(uri)
    if directory is not None:
        return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(directory.rglob("*")) if p.is_file() and p.name != "lock.mdb"}
    location = s3_market_location(uri)
    assert location is not None, uri
    pages = moto_server.client("s3").get_paginator("list_objects_v2").paginate(
        Bucket=location.bucket, Prefix=location.key(""))
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def expire_lease(uri: str) -> None:
    """Make the S3 writer lease look as if its expiry has passed (as time would, for a writer that died)."""
    location = s3_market_location(uri)
    assert location is not None, uri
    client, key = moto_server.client("s3"), location.key(LEASE_OBJECT_NAME)
    record = json.loads(client.get_object(Bucket=location.bucket, Key=key)["Body"].read())
    record["expires"] = "2000-01-01T00:00:00+00:00"
    client.put_object(Bucket=location.bucket, Key=key, Body=json.dumps(record).encode())
