"""ArtifactStore: round trips, canonical JSON, listing, keys, read-only views, atomic writes, errors."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem
from store_test_support import MEMORY, good_marker, put_raw, raw_tree, s3_location

import moto_server
from alpha_engine.store import (
    ArtifactNotFoundError,
    ArtifactStore,
    ContractError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreError,
)
from alpha_engine.store._artifacts import _FOREIGN_ERRORS, _foreign_errors

# -- round trips ---------------------------------------------------------------------------


def test_bytes_round_trip_creates_parent_directories(store: ArtifactStore) -> None:
    store.write_bytes("signals/2026-11-21/signals.bin", b"\x00\xffpayload")
    assert store.read_bytes("signals/2026-11-21/signals.bin") == b"\x00\xffpayload"


def test_write_replaces_previous_content(store: ArtifactStore) -> None:
    store.write_bytes("a/b.txt", b"first, and longer")
    store.write_bytes("a/b.txt", b"second")
    assert store.read_bytes("a/b.txt") == b"second"


def test_text_round_trip_is_utf8(store: ArtifactStore) -> None:
    store.write_text("notes/é.txt", "naïve – ✓\n")
    assert store.read_text("notes/é.txt") == "naïve – ✓\n"
    assert store.read_bytes("notes/é.txt") == "naïve – ✓\n".encode()


def test_json_round_trip(store: ArtifactStore) -> None:
    value = {"b": [1, 2.5, None, True], "a": {"nested": "ü"}}
    store.write_json("signals/2026-11-21/signals.json", value)
    assert store.read_json("signals/2026-11-21/signals.json") == value


def test_read_text_of_non_utf8_bytes_names_key(store: ArtifactStore) -> None:
    store.write_bytes("bin/x.txt", b"\xff\xfe")
    with pytest.raises(StoreError, match=r"'bin/x.txt'.*not UTF-8"):
        store.read_text("bin/x.txt")


# -- canonical JSON ------------------------------------------------------------------------


def test_write_json_writes_canonical_bytes(store: ArtifactStore) -> None:
    store.write_json("x.json", {"b": 1, "a": ["é", 2.5], "c": {"z": None, "y": True}})
    assert store.read_bytes("x.json") == (
        '{\n  "a": [\n    "é",\n    2.5\n  ],\n  "b": 1,\n  "c": {\n    "y": true,\n    "z": null\n  }\n}\n'
    ).encode()


def test_same_value_gives_same_bytes_whatever_the_insertion_order(store: ArtifactStore) -> None:
    store.write_json("one.json", {"a": 1, "b": {"c": 2, "d": 3}})
    store.write_json("two.json", {"b": {"d": 3, "c": 2}, "a": 1})
    assert store.read_bytes("one.json") == store.read_bytes("two.json")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_write_json_refuses_nan_and_infinity_and_writes_nothing(store: ArtifactStore, bad: float) -> None:
    with pytest.raises(ContractError, match=r"'x.json'.*not valid JSON"):
        store.write_json("x.json", {"value": bad})
    assert raw_tree(store) == []


def test_write_json_refuses_values_that_are_not_json(store: ArtifactStore) -> None:
    with pytest.raises(ContractError, match=r"'x.json'.*not valid JSON.*set"):
        store.write_json("x.json", {"value": {1, 2}})
    assert raw_tree(store) == []


@pytest.mark.parametrize(("text", "where"), [
    ('{\n  "a": 1,\n  oops\n}\n', "line 3"),
    ('{"a": NaN}', "NaN"),
    ("", "line 1"),
])
def test_read_json_of_bad_json_is_a_contract_error_naming_key_and_place(
        store: ArtifactStore, text: str, where: str) -> None:
    store.write_text("bad.json", text)
    with pytest.raises(ContractError) as info:
        store.read_json("bad.json")
    assert "'bad.json'" in str(info.value) and where in str(info.value) and store.uri in str(info.value)
    assert str(info.value).endswith("the file is damaged: delete it, then re-run the stage that writes it "
                                    "(see 'alpha-engine stages')")


def test_read_json_of_bytes_that_are_not_text_names_the_recovery(store: ArtifactStore) -> None:
    store.write_bytes("bad.json", b"\xff\xfe\x00garbage")
    with pytest.raises(ContractError, match=r"'bad.json'.*not UTF-8 text.*the file is damaged: delete it"):
        store.read_json("bad.json")


# -- listing -------------------------------------------------------------------------------


def _populate(store: ArtifactStore) -> None:
    for key in ["health/b.json", "health/a.json", "healthy/x.json", "signals/2026-11-21/s.json",
                "signals/2026-11-21/deep/t.json", "top.txt"]:
        store.write_bytes(key, key.encode())


def test_list_everything_is_sorted_and_recursive(store: ArtifactStore) -> None:
    _populate(store)
    assert store.list() == ["health/a.json", "health/b.json", "healthy/x.json", "signals/2026-11-21/deep/t.json",
                            "signals/2026-11-21/s.json", "top.txt"]


@pytest.mark.parametrize("prefix", ["health", "health/"])
def test_list_prefix_with_or_without_slash_stops_at_segment_boundaries(store: ArtifactStore, prefix: str) -> None:
    _populate(store)
    assert store.list(prefix) == ["health/a.json", "health/b.json"]


def test_list_nested_prefix(store: ArtifactStore) -> None:
    _populate(store)
    assert store.list("signals/2026-11-21") == ["signals/2026-11-21/deep/t.json", "signals/2026-11-21/s.json"]


def test_list_prefix_that_is_not_a_whole_segment_matches_nothing(store: ArtifactStore) -> None:
    _populate(store)
    assert store.list("heal") == []


def test_list_prefix_naming_a_file_lists_that_file(store: ArtifactStore) -> None:
    _populate(store)
    assert store.list("health/a.json") == ["health/a.json"]


def test_list_missing_prefix_and_fresh_store_are_empty(store: ArtifactStore) -> None:
    assert store.list() == []
    _populate(store)
    assert store.list("nope/") == []


def test_list_never_shows_temp_files(store: ArtifactStore) -> None:
    _populate(store)
    put_raw(store, "health/.tmp-c.json-0123abcd", b"half")
    put_raw(store, ".tmp-top.txt-99", b"half")
    assert ".tmp-" in "".join(raw_tree(store))
    assert store.list() == ["health/a.json", "health/b.json", "healthy/x.json", "signals/2026-11-21/deep/t.json",
                            "signals/2026-11-21/s.json", "top.txt"]
    assert store.list("health") == ["health/a.json", "health/b.json"]


def test_children_lists_one_level_sorted_without_temp_files(store: ArtifactStore) -> None:
    _populate(store)
    put_raw(store, "health/.tmp-c.json-0123abcd", b"half")
    assert store.children() == ["health", "healthy", "signals", "top.txt"]
    assert store.children("health") == store.children("health/") == ["a.json", "b.json"]
    assert store.children("signals/2026-11-21/") == ["deep", "s.json"]
    assert store.children("nope/") == []


def test_list_rejects_an_invalid_prefix(store: ArtifactStore) -> None:
    with pytest.raises(InvalidKeyError):
        store.list("../x")


# -- exists / delete / snapshot / local_path -----------------------------------------------


def test_exists_and_delete(store: ArtifactStore) -> None:
    store.write_bytes("a/b.txt", b"x")
    assert store.exists("a/b.txt")
    assert not store.exists("a")  # a directory is not an artifact
    store.delete("a/b.txt")
    assert not store.exists("a/b.txt")
    assert store.list() == []


def test_missing_artifact_error_is_a_readable_key_error(store: ArtifactStore) -> None:
    with pytest.raises(ArtifactNotFoundError) as info:
        store.read_bytes("health/nope.json")
    error = info.value
    assert isinstance(error, KeyError) and isinstance(error, StoreError)
    assert str(error) == f"no artifact 'health/nope.json' in artifact store {store.uri!r}"
    assert (error.key, error.uri) == ("health/nope.json", store.uri)


@pytest.mark.parametrize("operation", ["read_bytes", "read_text", "read_json", "delete"])
def test_every_read_and_delete_of_a_missing_key_raises_not_found(store: ArtifactStore, operation: str) -> None:
    store.write_bytes("other.txt", b"x")
    with pytest.raises(ArtifactNotFoundError, match="'missing.json'"):
        getattr(store, operation)("missing.json")


def test_snapshot_hashes_every_file_and_honours_excludes(store: ArtifactStore) -> None:
    _populate(store)
    snap = store.snapshot(exclude=["healthy/", "signals/"])
    assert snap == {key: hashlib.sha256(key.encode()).hexdigest() for key in ["health/a.json", "health/b.json", "top.txt"]}
    assert list(store.snapshot("signals")) == ["signals/2026-11-21/deep/t.json", "signals/2026-11-21/s.json"]
    assert set(store.snapshot(exclude="health")) == {"signals/2026-11-21/deep/t.json", "signals/2026-11-21/s.json",
                                                      "top.txt"}


def test_snapshot_changes_when_content_changes(store: ArtifactStore) -> None:
    store.write_bytes("a.txt", b"1")
    before = store.snapshot()
    store.write_bytes("a.txt", b"2")
    assert store.snapshot() != before


def test_local_path_for_local_store(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.write_bytes("a/b.txt", b"x")
    path = store.local_path("a/b.txt")
    assert path == tmp_path / "a" / "b.txt" and path.read_bytes() == b"x"


def test_local_path_is_none_unless_the_store_is_local(store: ArtifactStore) -> None:
    if store.local_root is None:
        assert store.local_path("a/b.txt") is None
    else:
        assert store.local_path("a/b.txt") == Path(store.uri) / "a" / "b.txt"


def test_uri_is_kept_as_given_and_pathlike_and_file_urls_work(tmp_path: Path) -> None:
    assert ArtifactStore(tmp_path).uri == str(tmp_path)
    by_url = ArtifactStore(f"file://{tmp_path}")
    by_url.write_bytes("k.txt", b"x")
    assert by_url.uri == f"file://{tmp_path}" and (tmp_path / "k.txt").read_bytes() == b"x"
    assert by_url.local_path("k.txt") == tmp_path / "k.txt"


def test_empty_uri_is_refused() -> None:
    with pytest.raises(StoreError, match="empty"):
        ArtifactStore("")


def test_write_bytes_refuses_str(store: ArtifactStore) -> None:
    with pytest.raises(TypeError, match="'a.txt'"):
        store.write_bytes("a.txt", "text")  # type: ignore[arg-type]


# -- keys ----------------------------------------------------------------------------------

BAD_KEYS = ["", "/abs/x.json", "a\\b.json", "a//b.json", "a/", "./a.json", "a/./b.json", "a/../b.json", "..",
            ".tmp-x.json", "a/.tmp-b.json-123", "a\x00b"]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("operation", ["exists", "read_bytes", "read_json", "write_bytes", "write_json", "delete",
                                       "local_path"])
def test_invalid_keys_are_refused_everywhere(store: ArtifactStore, key: str, operation: str) -> None:
    args: tuple[Any, ...] = {"write_bytes": (b"x",), "write_json": ({},)}.get(operation, ())
    with pytest.raises(InvalidKeyError) as info:
        getattr(store, operation)(key, *args)
    assert isinstance(info.value, ValueError)
    assert repr(key) in str(info.value) and store.uri in str(info.value)
    assert raw_tree(store) == []


@pytest.mark.parametrize("key", ["health/data-phase1.json", "_logs/scanner/2026-11-21/host-101500Z.log", "a",
                                 "dir/.hidden", "..a/b..", "x/tmp-y"])
def test_valid_keys_round_trip(store: ArtifactStore, key: str) -> None:
    store.write_bytes(key, b"ok")
    assert store.list() == [key] and store.read_bytes(key) == b"ok"


def test_non_str_key_is_an_invalid_key(store: ArtifactStore) -> None:
    with pytest.raises(InvalidKeyError, match="not PosixPath"):
        store.exists(Path("a"))  # type: ignore[arg-type]


# -- read-only -----------------------------------------------------------------------------


@pytest.mark.parametrize(("operation", "args"), [
    ("write_bytes", (b"new",)),
    ("write_text", ("new",)),
    ("write_json", (good_marker(),)),
    ("write_json", ({},)),  # read-only is checked before the contract
    ("delete", ()),
])
@pytest.mark.parametrize("key", ["health/data-phase1.json", "brand/new/dir/x.json"])
def test_read_only_store_refuses_writes_and_deletes_and_touches_nothing(
        store: ArtifactStore, operation: str, args: tuple[Any, ...], key: str) -> None:
    store.write_json("health/data-phase1.json", good_marker())
    store.write_bytes("other/x.txt", b"x")
    tree, snap = raw_tree(store), store.snapshot()
    view = store.read_only_view()
    with pytest.raises(ReadOnlyStoreError) as info:
        getattr(view, operation)(key, *args)
    assert repr(key) in str(info.value) and "read-only" in str(info.value) and store.uri in str(info.value)
    assert raw_tree(store) == tree and store.snapshot() == snap


def test_read_only_view_reads_the_same_root_and_leaves_the_original_writable(store: ArtifactStore) -> None:
    store.write_bytes("a.txt", b"x")
    view = store.read_only_view()
    assert (view.uri, view.read_only, store.read_only) == (store.uri, True, False)
    assert view.read_bytes("a.txt") == b"x" and view.list() == ["a.txt"] and view.exists("a.txt")
    store.write_bytes("b.txt", b"y")
    assert view.list() == ["a.txt", "b.txt"]


def test_read_only_constructor_flag(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "root", read_only=True)
    with pytest.raises(ReadOnlyStoreError, match=r"read-only: refused to write 'k.txt'"):
        store.write_bytes("k.txt", b"x")
    assert not (tmp_path / "root").exists()


# -- atomic writes -------------------------------------------------------------------------


# S3 has no rename and no temp object: a write is one PUT (see the S3 section below for its tests).
_NO_TEMP_ON_S3 = "S3 writes are one PUT, with no temp sibling to rename"


def _skip_on_s3(store: ArtifactStore, reason: str) -> None:
    if store.uri.startswith("s3://"):
        pytest.skip(reason)


def _break_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    monkeypatch.setattr(MemoryFileSystem, "mv", boom)


def test_failed_rename_keeps_old_content_and_removes_the_temp_file(
        store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _skip_on_s3(store, _NO_TEMP_ON_S3)
    store.write_bytes("health/x.txt", b"old")
    tree = raw_tree(store)
    _break_rename(monkeypatch)
    with pytest.raises(StoreError, match=r"cannot write 'health/x.txt' in artifact store .*No space left"):
        store.write_bytes("health/x.txt", b"new content")
    assert store.read_bytes("health/x.txt") == b"old"
    assert raw_tree(store) == tree


def test_failed_json_write_keeps_old_json(store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _skip_on_s3(store, _NO_TEMP_ON_S3)
    store.write_json("health/x.json", good_marker())
    _break_rename(monkeypatch)
    with pytest.raises(StoreError):
        store.write_json("health/x.json", good_marker(status="failed", error="boom"))
    assert store.read_json("health/x.json") == good_marker()
    assert not any(".tmp-" in name for name in raw_tree(store))


def test_failure_while_writing_the_temp_file_leaves_no_trace(
        store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _skip_on_s3(store, _NO_TEMP_ON_S3)
    store.write_bytes("a/x.bin", b"old")
    tree = raw_tree(store)
    real_pipe = MemoryFileSystem.pipe_file

    def fail_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    def half_pipe(self: MemoryFileSystem, path: str, value: bytes, **kwargs: Any) -> None:
        real_pipe(self, path, value[:3], **kwargs)  # a partial temp file exists when the failure hits
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail_fsync)
    monkeypatch.setattr(MemoryFileSystem, "pipe_file", half_pipe)
    with pytest.raises(StoreError, match="Input/output error"):
        store.write_bytes("a/x.bin", b"new bytes")
    assert store.read_bytes("a/x.bin") == b"old"
    assert raw_tree(store) == tree


def test_write_goes_through_a_complete_temp_sibling_renamed_over_the_target(
        store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the moment of the rename the target still holds the old bytes and the temp holds all new ones,
    so a crash at any point leaves either the old or the new content, never a part."""
    _skip_on_s3(store, _NO_TEMP_ON_S3)
    store.write_bytes("d/target.bin", b"old")
    seen: list[tuple[str, bytes, bytes]] = []
    real_replace, real_mv = os.replace, MemoryFileSystem.mv

    def spy_replace(src: Any, dst: Any) -> None:
        seen.append((Path(src).name, Path(src).read_bytes(), Path(dst).read_bytes()))
        assert Path(src).parent == Path(dst).parent
        real_replace(src, dst)

    def spy_mv(self: MemoryFileSystem, src: str, dst: str, **kwargs: Any) -> None:
        seen.append((src.rsplit("/", 1)[1], self.cat_file(src), self.cat_file(dst)))
        assert src.rsplit("/", 1)[0] == dst.rsplit("/", 1)[0]
        real_mv(self, src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", spy_replace)
    monkeypatch.setattr(MemoryFileSystem, "mv", spy_mv)
    store.write_bytes("d/target.bin", b"new, longer content")
    [(temp_name, temp_bytes, target_bytes)] = seen
    assert temp_name.startswith(".tmp-target.bin-")
    assert (temp_bytes, target_bytes) == (b"new, longer content", b"old")
    assert store.read_bytes("d/target.bin") == b"new, longer content"


class _FakeS3(MemoryFileSystem):  # type: ignore[misc]
    """memory:// answering to s3://, whose mv is forbidden: S3 writes must be a single PUT."""

    protocol = ("s3", "s3a")

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        for scheme in ("s3://", "s3a://"):
            path = path.removeprefix(scheme)
        return "/" + path.strip("/") if path else ""

    def mv(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("an S3 write must be one PUT, not a temp object moved over the target")


def test_s3_writes_the_target_in_one_put(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = importlib.import_module("fsspec.registry")
    monkeypatch.setitem(registry._registry, "s3", _FakeS3)
    store = ArtifactStore("s3://store-tests-bucket/prefix")
    try:
        store.write_json("health/x.json", good_marker())
        assert store.list() == ["health/x.json"] and store.read_json("health/x.json") == good_marker()
        assert store.local_path("health/x.json") is None
    finally:
        MEMORY.rm("/store-tests-bucket", recursive=True)


# -- foreign errors ------------------------------------------------------------------------


@pytest.mark.parametrize(("foreign", "mapped"), _FOREIGN_ERRORS)
def test_every_foreign_error_in_the_map_is_translated(foreign: type[Exception], mapped: type[StoreError]) -> None:
    original = foreign(13, "boom")
    with pytest.raises(StoreError) as info, _foreign_errors("read", "a/b.json", "s3://bucket/p"):
        raise original
    assert type(info.value) is mapped
    assert info.value.__cause__ is original
    assert "'a/b.json'" in str(info.value) and "'s3://bucket/p'" in str(info.value)
    assert (info.value.key, info.value.uri) == ("a/b.json", "s3://bucket/p")


@pytest.mark.parametrize(("foreign", "mapped"), _FOREIGN_ERRORS)
def test_a_write_is_never_not_found(foreign: type[Exception], mapped: type[StoreError]) -> None:
    with pytest.raises(StoreError) as info, _foreign_errors("write", "a/b.json", "/root"):
        raise foreign(2, "boom")
    assert type(info.value) is StoreError and "cannot write 'a/b.json'" in str(info.value)


def test_an_unlisted_os_error_subclass_still_maps_to_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot list 'x' in artifact store '/r': TimeoutError"), \
            _foreign_errors("list", "x", "/r"):
        raise TimeoutError("slow")


def test_permission_error_on_read_names_key_and_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ArtifactStore(tmp_path)
    store.write_bytes("secret.json", b"{}")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(StoreError) as info:
        store.read_json("secret.json")
    assert not isinstance(info.value, ArtifactNotFoundError)
    assert f"cannot read 'secret.json' in artifact store {str(tmp_path)!r}: PermissionError" in str(info.value)


def test_a_write_under_a_file_is_a_store_error(store: ArtifactStore) -> None:
    _skip_on_s3(store, "S3 has no directories: a key and a prefix may share a name")
    store.write_bytes("a", b"file")
    with pytest.raises(StoreError, match="cannot write 'a/b.json'") as info:
        store.write_bytes("a/b.json", b"x")
    assert not isinstance(info.value, ArtifactNotFoundError)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX error semantics")
def test_reading_a_directory_or_under_a_file_is_not_found(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.write_bytes("dir/x.txt", b"x")
    with pytest.raises(ArtifactNotFoundError):
        store.read_bytes("dir")
    with pytest.raises(ArtifactNotFoundError):
        store.read_bytes("dir/x.txt/y")
    with pytest.raises(ArtifactNotFoundError):
        store.delete("dir")


def test_missing_s3fs_is_a_clear_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = importlib.import_module("fsspec.registry")
    monkeypatch.delitem(registry._registry, "s3", raising=False)
    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs now fails, installed or not
    store = ArtifactStore("s3://bucket/prefix")  # configuring is fine; using it is not
    for use in (lambda: store.exists("a.json"), lambda: store.write_bytes("a.json", b"x"), store.list):
        with pytest.raises(StoreError) as info:
            use()
        assert "'s3fs'" in str(info.value) and "pip install s3fs" in str(info.value)
        assert "'s3://bucket/prefix'" in str(info.value)


def test_unknown_protocol_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot open artifact store 'nosuchproto://x'"):
        ArtifactStore("nosuchproto://x").list()


def test_the_store_is_visible_through_its_file_system(store: ArtifactStore) -> None:
    # Guards the fixture itself: the memory backend really is fsspec's process-wide memory fs.
    store.write_bytes("k.txt", json.dumps([1]).encode())
    location = s3_location(store)
    if store.uri.startswith("memory://"):
        assert fsspec.filesystem("memory").cat_file(store.uri[len("memory://"):] + "/k.txt") == b"[1]"
    elif location is not None:
        bucket, prefix = location
        assert moto_server.client("s3").get_object(Bucket=bucket, Key=f"{prefix}k.txt")["Body"].read() == b"[1]"
    else:
        assert (Path(store.uri) / "k.txt").read_bytes() == b"[1]"
