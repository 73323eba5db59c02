"""probe_market_store: whether a market store's location is usable, answered without ArcticDB."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from alpha_engine.store import MarketStoreError, probe_market_store
from alpha_engine.store._market_location import s3_market_location


def test_a_store_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    probe_market_store(f"lmdb://{tmp_path / 'arcticdb'}")
    assert not (tmp_path / "arcticdb").exists()  # nothing created


def test_an_empty_directory_and_a_remote_store_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    probe_market_store(f"lmdb://{tmp_path / 'empty'}")
    probe_market_store("s3s://s3.amazonaws.com:bucket?aws_auth=true")  # needs a connection: not probed


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_text("x"), "is not a directory"),
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), "holds files but no ArcticDB store"),
])
def test_a_location_that_cannot_be_a_store_is_named(tmp_path: Path, make: object, message: str) -> None:
    target = tmp_path / "arcticdb"
    make(target)  # type: ignore[operator]
    with pytest.raises(MarketStoreError, match=message):
        probe_market_store(f"lmdb://{target}")


def test_a_uri_that_is_not_one_is_refused() -> None:
    with pytest.raises(MarketStoreError, match="not an ArcticDB URI"):
        probe_market_store("/plain/path")


def test_a_real_store_passes_and_the_probe_imports_no_arcticdb(tmp_path: Path) -> None:
    from alpha_engine.store import MarketStore

    uri = f"lmdb://{tmp_path / 'arcticdb'}"
    store = MarketStore(uri)
    with store.writer():
        store.ensure_libraries()
    code = ("import sys; from alpha_engine.store import probe_market_store; "
            f"probe_market_store({uri!r}); print('arcticdb' in sys.modules, 'pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("uri", [
    "s3s://s3.us-east-1.amazonaws.com:my-bucket?path_prefix=arcticdb&aws_auth=true",
    "s3://127.0.0.1:my-bucket?port=9000&access=KEY&secret=SECRET&path_prefix=arcticdb",
    "s3://minio.local:my.bucket_1?access=KEY;secret=SECRET",
    "s3s://s3.eu-west-1.amazonaws.com:b?aws_auth=default&region=eu-west-1&use_virtual_addressing=true",
])
def test_an_s3_uri_in_arcticdb_syntax_passes_without_a_connection(uri: str) -> None:
    probe_market_store(uri)


def test_an_s3_uri_is_parsed_as_arcticdb_parses_it() -> None:
    aws = s3_market_location("s3s://s3.eu-west-1.amazonaws.com:my-bucket?path_prefix=/arcticdb/&aws_auth=true")
    assert aws is not None
    assert (aws.endpoint_url, aws.bucket, aws.path_prefix, aws.region_name, aws.aws_auth) == (
        "https://s3.eu-west-1.amazonaws.com", "my-bucket", "arcticdb", "eu-west-1", True)
    assert aws.key(".alpha-engine-writer.lock") == "arcticdb/.alpha-engine-writer.lock"
    local = s3_market_location("s3://127.0.0.1:b?port=9000&access=K&secret=S")
    assert local is not None
    assert (local.endpoint_url, local.access, local.secret, local.path_prefix, local.key("x")) == (
        "http://127.0.0.1:9000", "K", "S", "", "x")
    assert s3_market_location("lmdb:///tmp/x") is None


@pytest.mark.parametrize(("uri", "message"), [
    ("s3://my-bucket/arcticdb", "not an ArcticDB S3 URI: write 's3[s]://HOST:BUCKET?options'"),
    ("s3s://:bucket?aws_auth=true", "not an ArcticDB S3 URI"),
    ("s3s://s3.amazonaws.com:bucket/arcticdb?aws_auth=true", "bucket 'bucket/arcticdb' is not a bucket name"),
    ("s3s://s3.amazonaws.com:bucket?aws_auth=true&prefix=x", "unknown option 'prefix'; ArcticDB knows"),
    ("s3s://s3.amazonaws.com:bucket?aws_auth", "option 'aws_auth' has no value"),
    ("s3://127.0.0.1:bucket?port=http&access=K&secret=S", "port='http' is not a port number"),
    ("s3://127.0.0.1:bucket?port=9000", "no credentials: add aws_auth=true"),
    ("s3://127.0.0.1:bucket?access=K", "no credentials"),
    ("s3s://h:bucket?aws_auth=maybe", "aws_auth='maybe' is not a boolean"),
])
def test_a_malformed_s3_uri_is_named(uri: str, message: str) -> None:
    with pytest.raises(MarketStoreError, match=re.escape(message)):
        probe_market_store(uri)


def test_a_secret_never_appears_in_a_probe_error() -> None:
    with pytest.raises(MarketStoreError) as info:
        probe_market_store("s3://127.0.0.1:bucket?port=x&access=K&secret=hunter2")
    assert "hunter2" not in str(info.value) and "secret=***" in str(info.value)
