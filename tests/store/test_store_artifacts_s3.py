"""ArtifactStore on S3 (the local moto server): what only S3 can show. The contract tests shared with
the local and memory:// stores run on S3 through the ``store`` fixture (tests/store/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from store_test_support import good_marker, raw_tree, s3_location

import moto_server
from alpha_engine.store import ArtifactNotFoundError, ArtifactStore, FencedWriteError, StoreError


@pytest.fixture()
def s3_store() -> ArtifactStore:
    return ArtifactStore(f"s3://{moto_server.fresh_bucket('store')}/root", storage_options=moto_server.s3fs_options())


def _bucket_and_prefix(store: ArtifactStore) -> tuple[str, str]:
    location = s3_location(store)
    assert location is not None
    return location


def _fs(store: ArtifactStore) -> Any:
    """The store's s3fs instance (fsspec shares one per set of options; its sync methods are bound per
    instance, so tests patch the instance, not the class)."""
    return store._open().fs  # type: ignore[attr-defined]


@pytest.fixture()
def puts(s3_store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Every PUT the store's s3fs makes, as (path, bytes); a copy or a move fails the test."""
    seen: list[tuple[str, bytes]] = []
    fs = _fs(s3_store)
    real_pipe = fs.pipe_file

    def spy_pipe(path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        seen.append((path, bytes(data)))
        return real_pipe(path, data, *args, **kwargs)

    def no_copy(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an S3 write must be one PUT of the target, not a copy or a move")

    monkeypatch.setattr(fs, "pipe_file", spy_pipe)
    for method in ("copy", "cp_file", "mv"):
        monkeypatch.setattr(fs, method, no_copy)
    return seen


# -- atomic publish: one PUT of the complete bytes ---------------------------------------------------

def test_a_write_is_one_put_of_the_complete_bytes_to_the_target(s3_store: ArtifactStore,
                                                                 puts: list[tuple[str, bytes]]) -> None:
    s3_store.write_bytes("health/x.bin", b"old")
    s3_store.write_json("health/x.json", good_marker())
    bucket, prefix = _bucket_and_prefix(s3_store)
    assert [path for path, _ in puts] == [f"{bucket}/{prefix}health/x.bin", f"{bucket}/{prefix}health/x.json"]
    assert puts[1][1] == s3_store.read_bytes("health/x.json")
    assert raw_tree(s3_store) == ["health/x.bin", "health/x.json"]  # nothing else was ever stored


def test_a_failed_put_keeps_the_old_object_and_leaves_nothing_else(
        s3_store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    s3_store.write_bytes("health/x.txt", b"old")
    before = raw_tree(s3_store)

    def refused(path: str, data: bytes, *args: Any, **kwargs: Any) -> None:
        raise OSError(5, "connection reset mid-upload")

    monkeypatch.setattr(_fs(s3_store), "pipe_file", refused)
    with pytest.raises(StoreError, match=r"cannot write 'health/x.txt' in artifact store 's3://.*connection reset.*"
                                         r"check the AWS credentials"):
        s3_store.write_bytes("health/x.txt", b"new content")
    monkeypatch.undo()
    assert s3_store.read_bytes("health/x.txt") == b"old" and raw_tree(s3_store) == before


def test_a_fence_refusal_puts_nothing(s3_store: ArtifactStore, puts: list[tuple[str, bytes]]) -> None:
    class Closed:
        def check(self, store: str, key: str) -> None:
            raise FencedWriteError(f"{store}: refused {key}", key=key, uri=store, reason="attempt ended")

    fenced = ArtifactStore(s3_store.uri, storage_options=s3_store.storage_options, fence=Closed())
    with pytest.raises(FencedWriteError):
        fenced.write_json("health/x.json", good_marker())
    assert puts == [] and raw_tree(s3_store) == []


# -- listings see what the bucket holds now ------------------------------------------------------------

def test_listings_see_writes_and_deletes_made_by_another_process(s3_store: ArtifactStore) -> None:
    """s3fs would serve a cached directory listing; the store turns that cache off, so an object another
    writer (a stage on another host: here a plain boto3 client) puts or deletes shows at once."""
    s3_store.write_bytes("a/b.json", b"1")
    assert (s3_store.list(), s3_store.children("a"), s3_store.exists("a/c.json")) == (["a/b.json"], ["b.json"], False)
    bucket, prefix = _bucket_and_prefix(s3_store)
    other = moto_server.client("s3")
    other.put_object(Bucket=bucket, Key=f"{prefix}a/c.json", Body=b"2")
    assert s3_store.list() == ["a/b.json", "a/c.json"] and s3_store.children("a") == ["b.json", "c.json"]
    assert s3_store.exists("a/c.json") and s3_store.read_bytes("a/c.json") == b"2"
    other.delete_object(Bucket=bucket, Key=f"{prefix}a/b.json")
    assert s3_store.list() == ["a/c.json"] and s3_store.children("a") == ["c.json"]
    assert not s3_store.exists("a/b.json")


def test_the_listing_cache_is_what_hid_them(s3_store: ArtifactStore) -> None:
    """The planted flaw: with s3fs's listing cache on, the same sequence misses the other writer's object."""
    cached = ArtifactStore(s3_store.uri, storage_options={**s3_store.storage_options, "use_listings_cache": True})
    cached.write_bytes("a/b.json", b"1")
    assert cached.children("a") == ["b.json"]
    bucket, prefix = _bucket_and_prefix(s3_store)
    moto_server.client("s3").put_object(Bucket=bucket, Key=f"{prefix}a/c.json", Body=b"2")
    assert cached.children("a") == ["b.json"]  # stale
    assert s3_store.children("a") == ["b.json", "c.json"]


def test_a_listing_after_the_stores_own_write_and_delete_sees_them(s3_store: ArtifactStore) -> None:
    assert s3_store.children() == [] and s3_store.list("a") == []
    s3_store.write_bytes("a/b.json", b"1")
    assert s3_store.children() == ["a"] and s3_store.list("a") == ["a/b.json"]
    s3_store.delete("a/b.json")
    assert s3_store.children() == [] and s3_store.list("a") == [] and not s3_store.exists("a/b.json")


# -- errors ----------------------------------------------------------------------------------------

def _missing_bucket_store() -> ArtifactStore:
    # Moto accepts any credentials, so a bucket these credentials cannot see stands in for bad ones.
    return ArtifactStore("s3://no-such-bucket-alpha-engine/root", storage_options=moto_server.s3fs_options())


@pytest.mark.parametrize("use", [
    lambda s: s.read_bytes("health/a.json"),
    lambda s: s.write_bytes("health/a.json", b"x"),
    lambda s: s.exists("health/a.json"),
    lambda s: s.delete("health/a.json"),
    lambda s: s.list(),
    lambda s: s.list("health"),
    lambda s: s.children(),
], ids=["read", "write", "exists", "delete", "list", "list-prefix", "children"])
def test_a_missing_bucket_is_named_with_what_to_do(use: Any) -> None:
    store = _missing_bucket_store()
    with pytest.raises(StoreError) as info:
        use(store)
    assert not isinstance(info.value, ArtifactNotFoundError)  # not "no artifact": nothing could be there
    message = str(info.value)
    assert "'s3://no-such-bucket-alpha-engine/root'" in message and "bucket 'no-such-bucket-alpha-engine' does " \
        "not exist, or these credentials cannot see it" in message
    assert "create it" in message and "artifacts_storage_options" in message
    assert info.value.uri == store.uri


def test_a_missing_key_in_an_existing_bucket_is_still_not_found(s3_store: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError, match=r"no artifact 'health/a.json' in artifact store 's3://"):
        s3_store.read_bytes("health/a.json")
    assert s3_store.list("health") == [] and not s3_store.exists("health/a.json")


@pytest.mark.parametrize("error", [NoCredentialsError(), EndpointConnectionError(endpoint_url="http://127.0.0.1:1")],
                         ids=["no-credentials", "no-connection"])
def test_botocore_errors_become_store_errors_naming_what_to_check(
        s3_store: ArtifactStore, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    for method in ("cat_file", "pipe_file", "find", "isfile", "isdir", "exists", "ls", "info"):
        monkeypatch.setattr(_fs(s3_store), method, fail)
    for use in (lambda: s3_store.read_bytes("a.json"), lambda: s3_store.write_bytes("a.json", b"x"), s3_store.list):
        with pytest.raises(StoreError) as info:
            use()
        assert type(info.value) is StoreError and info.value.__cause__ is not None
        assert f"artifact store {s3_store.uri!r}" in str(info.value) and type(error).__name__ in str(info.value)
        assert "check the AWS credentials" in str(info.value)


def test_a_read_only_view_keeps_the_storage_options(s3_store: ArtifactStore) -> None:
    s3_store.write_bytes("a.txt", b"x")
    view = s3_store.read_only_view()
    assert view.storage_options == s3_store.storage_options and view.read_bytes("a.txt") == b"x"
    fresh = ArtifactStore(s3_store.uri, read_only=True, storage_options=s3_store.storage_options)
    assert fresh.list() == ["a.txt"]
