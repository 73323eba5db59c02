"""The artifact store: every pipeline stage reads and writes its outputs through it.

Artifacts are addressed by POSIX keys (``health/data-phase1.json``,
``signals/2026-11-21/signals.json``) under one root: a local directory (a plain path or
``file://``), or any fsspec URL (``s3://bucket/prefix``, ``memory://root`` for tests).

Writes are atomic. Locally the bytes go to a temp sibling ``<dir>/.tmp-<name>-<random>``,
are flushed and fsynced, and ``os.replace`` renames it over the target. Other fsspec file
systems write the temp sibling and ``mv`` it over the target. S3 writes the target directly:
an S3 PUT (and a completed multipart upload) is atomic, readers see the old object or the new
one, never a part, while S3 ``mv`` is a copy plus a delete that would only add a window.
A failed write removes its temp file; temp files are never listed.

A store given a write fence (:class:`~alpha_engine.store.WriteFence`) asks it right before the
rename (or, on S3, the PUT) that publishes a write, and before a delete; a refusal
(:class:`FencedWriteError`) leaves nothing behind.

On S3 the store lists what the bucket holds now: s3fs's directory-listing cache is off by default
(``use_listings_cache=False``; storage options may turn it on), since another process (a stage on
another host) writes to the same prefix and a cached listing would hide its writes. A missing
bucket is reported as such (:class:`StoreError` naming it and what to do), not as a missing key.

Foreign exceptions from I/O are translated at one boundary, :func:`_foreign_errors`, through
the explicit ``_FOREIGN_ERRORS`` map; botocore's own errors (no credentials, no connection),
which are not ``OSError``, become ``OSError`` first (:func:`_boto_errors`). Opening an fsspec
file system (missing ``s3fs``, unknown protocol, bad storage options) is translated where it
happens, in :func:`_open_fsspec`.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from ._contracts import Contracts
from ._errors import (
    ArtifactNotFoundError,
    ContractError,
    InvalidKeyError,
    ReadOnlyStoreError,
    StoreError,
)
from ._fence import WriteFence

__all__ = ["ArtifactStore"]

TEMP_PREFIX = ".tmp-"
_TEMP_NAME_CHARS = 80  # keeps ".tmp-<name>-<random>" under the usual 255-byte file name limit
_ATOMIC_PUT_PROTOCOLS = frozenset({"s3", "s3a"})
_S3_PROTOCOLS = _ATOMIC_PUT_PROTOCOLS
# What to check when S3 refuses: the credentials come from the AWS default chain (a role on AWS)
# unless storage options give them.
_S3_ACCESS_HINT = ("check the AWS credentials (the role, or key/secret in artifacts_storage_options), "
                   "the bucket policy, and client_kwargs.endpoint_url for an S3-compatible endpoint")
_WRITE_OPS = frozenset({"write"})

# Foreign exception -> store error, most specific first. A write can never be "not found":
# there ArtifactNotFoundError becomes a plain StoreError (a parent path is a file, say).
_FOREIGN_ERRORS: tuple[tuple[type[Exception], type[StoreError]], ...] = (
    (FileNotFoundError, ArtifactNotFoundError),
    (NotADirectoryError, ArtifactNotFoundError),  # a parent segment is a file: nothing lives at key
    (IsADirectoryError, ArtifactNotFoundError),  # key names a directory, not an artifact
    (PermissionError, StoreError),
    (OSError, StoreError),
)


@contextmanager
def _foreign_errors(op: str, key: str | None, uri: str, hint: str = "") -> Iterator[None]:
    """Re-raise foreign I/O errors from ``op`` on ``key`` as store errors naming key and store;
    ``hint`` (what to check) ends the message of an error that is not "not found"."""
    try:
        yield
    except tuple(foreign for foreign, _ in _FOREIGN_ERRORS) as exc:
        target = next(mapped for foreign, mapped in _FOREIGN_ERRORS if isinstance(exc, foreign))
        if target is ArtifactNotFoundError and op in _WRITE_OPS:
            target = StoreError
        if target is ArtifactNotFoundError:
            message = f"no artifact {key!r} in artifact store {uri!r}"
        else:
            what = f"{key!r} in artifact store {uri!r}" if key else f"artifact store {uri!r}"
            message = f"cannot {op} {what}: {type(exc).__name__}: {exc}" + (f"; {hint}" if hint else "")
        raise target(message, key=key, uri=uri) from exc


@contextmanager
def _boto_errors() -> Iterator[None]:
    """botocore's errors that s3fs lets through (no credentials found, endpoint unreachable) as
    ``OSError``, for :func:`_foreign_errors`; botocore is imported only if one was raised."""
    try:
        yield
    except OSError:
        raise
    except Exception as exc:
        botocore = sys.modules.get("botocore.exceptions")
        if botocore is None or not isinstance(exc, botocore.BotoCoreError):
            raise
        raise OSError(f"{type(exc).__name__}: {exc}") from exc


def _key_problem(key: object) -> str | None:
    """Why ``key`` is not a valid artifact key, or ``None`` if it is."""
    if not isinstance(key, str):
        return f"keys are str, not {type(key).__name__}"
    if not key:
        return "empty key"
    if key.startswith("/"):
        return "keys are relative: no leading '/'"
    if "\\" in key:
        return "keys are POSIX: no '\\'"
    if "\x00" in key:
        return "NUL character"
    for segment in key.split("/"):
        if not segment:
            return "empty path segment"
        if segment in (".", ".."):
            return f"{segment!r} segment"
        if segment.startswith(TEMP_PREFIX):
            return f"segment {segment!r} starts with {TEMP_PREFIX!r}, reserved for temp files"
    return None


def _check_key(key: str, uri: str) -> str:
    problem = _key_problem(key)
    if problem is not None:
        raise InvalidKeyError(f"invalid artifact key {key!r} for artifact store {uri!r}: {problem}",
                              key=key if isinstance(key, str) else None, uri=uri)
    return key


def _check_prefix(prefix: str, uri: str) -> str:
    """``""`` (everything) or a key naming a directory or a file; one trailing '/' is allowed."""
    if prefix == "":
        return prefix
    return _check_key(prefix[:-1] if isinstance(prefix, str) and prefix.endswith("/") else prefix, uri)


class _Backend(Protocol):
    """One root on one file system; keys are already validated, errors are foreign (OSError...)."""

    hint: str  # what to check when the file system refuses (ends the error message), or ""

    def read(self, key: str) -> bytes: ...
    # ``publish_check`` runs last before the write becomes visible; it raises to refuse it.
    def write(self, key: str, data: bytes, publish_check: Callable[[], None] | None = None) -> None: ...
    def is_file(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str) -> Iterator[str]: ...
    # The names directly under ``prefix`` (folders and files), one level, unsorted.
    def children(self, prefix: str) -> Iterator[str]: ...
    def path(self, key: str) -> Path | None: ...


class _LocalBackend:
    hint = ""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def is_file(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink()

    def write(self, key: str, data: bytes, publish_check: Callable[[], None] | None = None) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f"{TEMP_PREFIX}{target.name[:_TEMP_NAME_CHARS]}-{secrets.token_hex(6)}"
        # os.open rather than mkstemp: artifacts get the umask's permissions, not 0600.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            if publish_check is not None:
                publish_check()
            os.replace(temp, target)
        except BaseException:
            with suppress(OSError):
                temp.unlink()
            raise
        _fsync_directory(target.parent)

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.path(prefix) if prefix else self.root
        if prefix and base.is_file():
            yield prefix
            return
        if not base.is_dir():
            return
        for directory, _dirs, files in os.walk(base, onerror=_raise_unless_vanished):
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                yield name if relative == "." else f"{relative}/{name}"


    def children(self, prefix: str) -> Iterator[str]:
        base = self.path(prefix) if prefix else self.root
        if not base.is_dir():
            return
        with os.scandir(base) as entries:
            for entry in entries:
                yield entry.name


def _raise_unless_vanished(exc: OSError) -> None:
    # os.walk ignores errors by default; an unreadable directory must not look empty.
    if not isinstance(exc, FileNotFoundError):
        raise exc


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; best effort, as not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _FsspecBackend:
    def __init__(self, fs: Any, root: str, *, atomic_put: bool) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.atomic_put = atomic_put
        self.hint = ""

    def full(self, key: str) -> str:
        return f"{self.root}/{key}"

    def path(self, key: str) -> Path | None:
        return None

    def read(self, key: str) -> bytes:
        return bytes(self.fs.cat_file(self.full(key)))

    def is_file(self, key: str) -> bool:
        return bool(self.fs.isfile(self.full(key)))

    def delete(self, key: str) -> None:
        path = self.full(key)
        if not self.fs.isfile(path):
            raise FileNotFoundError(path)
        self.fs.rm_file(path)

    def write(self, key: str, data: bytes, publish_check: Callable[[], None] | None = None) -> None:
        path = self.full(key)
        if self.atomic_put:
            if publish_check is not None:
                publish_check()
            self.fs.pipe_file(path, data)
            return
        parent, name = path.rsplit("/", 1)
        self.fs.makedirs(parent, exist_ok=True)
        temp = f"{parent}/{TEMP_PREFIX}{name[:_TEMP_NAME_CHARS]}-{secrets.token_hex(6)}"
        try:
            self.fs.pipe_file(temp, data)
            if publish_check is not None:
                publish_check()
            self.fs.mv(temp, path)
        except BaseException:
            with suppress(Exception):
                if self.fs.exists(temp):
                    self.fs.rm_file(temp)
            raise

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.full(prefix) if prefix else self.root
        if prefix and self.fs.isfile(base):
            yield prefix
            return
        start = self.root + "/"
        for path in self.fs.find(base, withdirs=False):
            if path.startswith(start):
                yield path[len(start):]

    def children(self, prefix: str) -> Iterator[str]:
        base = self.full(prefix) if prefix else self.root
        if not self.fs.isdir(base):
            return
        for path in self.fs.ls(base, detail=False):  # one delimiter listing on S3
            yield str(path).rstrip("/").rsplit("/", 1)[-1]


class _S3Backend(_FsspecBackend):
    """S3 through s3fs: a write is one PUT; "not found" first checks, once, that the bucket exists."""

    def __init__(self, fs: Any, root: str, uri: str) -> None:
        super().__init__(fs, root, atomic_put=True)
        self.uri = uri
        self.bucket = self.root.split("/", 1)[0]
        self.hint = _S3_ACCESS_HINT
        self._bucket_seen = False

    def _check_bucket(self) -> None:
        """Raise StoreError if the bucket does not exist (asked until it was once seen to exist)."""
        if self._bucket_seen:
            return
        with _boto_errors():
            self._bucket_seen = bool(self.fs.exists(self.bucket))
        if not self._bucket_seen:
            raise StoreError(f"artifact store {self.uri!r}: bucket {self.bucket!r} does not exist, or these "
                             f"credentials cannot see it: create it (the deployed stack does), or fix "
                             f"artifacts_uri; {self.hint}", uri=self.uri)

    def _found(self, found: bool) -> bool:
        if not found:
            self._check_bucket()
        return found

    def read(self, key: str) -> bytes:
        try:
            with _boto_errors():
                return super().read(key)
        except FileNotFoundError:
            self._check_bucket()
            raise

    def write(self, key: str, data: bytes, publish_check: Callable[[], None] | None = None) -> None:
        try:
            with _boto_errors():
                super().write(key, data, publish_check)
        except FileNotFoundError:
            self._check_bucket()
            raise

    def is_file(self, key: str) -> bool:
        with _boto_errors():
            return self._found(super().is_file(key))

    def delete(self, key: str) -> None:
        try:
            with _boto_errors():
                super().delete(key)
        except FileNotFoundError:
            self._check_bucket()
            raise

    def keys(self, prefix: str) -> Iterator[str]:
        try:
            with _boto_errors():
                found = list(super().keys(prefix))
        except FileNotFoundError:
            self._check_bucket()
            raise
        self._found(bool(found))
        return iter(found)

    def children(self, prefix: str) -> Iterator[str]:
        with _boto_errors():
            found = list(super().children(prefix))
        self._found(bool(found))
        return iter(found)


def _open_fsspec(uri: str, storage_options: Mapping[str, Any]) -> _FsspecBackend:
    """The fsspec file system for ``uri``, with configuration failures as StoreError."""
    protocol = uri.split("://", 1)[0].lower()
    options = dict(storage_options)
    if protocol in _S3_PROTOCOLS:
        options.setdefault("use_listings_cache", False)  # see the module docstring
    try:
        from fsspec.core import url_to_fs

        fs, root = url_to_fs(uri, **options)
    except ImportError as exc:
        package = _missing_package(protocol, exc)
        raise StoreError(
            f"artifact store {uri!r}: {protocol}:// needs the {package!r} package, which is not "
            f"installed (pip install {package})", uri=uri) from exc
    except (ValueError, TypeError, OSError) as exc:  # unknown protocol, bad storage_options
        raise StoreError(f"cannot open artifact store {uri!r}: {type(exc).__name__}: {exc}", uri=uri) from exc
    if protocol in _S3_PROTOCOLS:
        return _S3Backend(fs, str(root), uri)
    return _FsspecBackend(fs, str(root), atomic_put=protocol in _ATOMIC_PUT_PROTOCOLS)


def _missing_package(protocol: str, exc: ImportError) -> str:
    from fsspec.registry import known_implementations

    implementation = known_implementations.get(protocol)
    if implementation is not None:
        return str(implementation["class"]).split(".", 1)[0]
    cause = exc.__cause__
    return (cause.name if isinstance(cause, ImportError) else None) or exc.name or protocol


def _local_root(uri: str) -> Path | None:
    """The directory of a local store (plain path or ``file://``), ``None`` for other URLs."""
    if uri.startswith("file://"):
        uri = uri[len("file://"):]
    elif "://" in uri:
        return None
    return Path(uri).expanduser().absolute()


class ArtifactStore:
    """Artifacts under one root, by POSIX key.

    ``uri`` is a local directory (path or ``file://``) or an fsspec URL (``s3://bucket/prefix``,
    ``memory://root``); ``storage_options`` go to fsspec and are ignored for local stores (on S3:
    ``client_kwargs.endpoint_url`` for an S3-compatible endpoint, ``key``/``secret``; empty on AWS,
    where the role's credentials apply). A
    non-local file system is opened on first use, so a missing package (``s3fs``) is reported
    then, as a :class:`StoreError` naming it. ``read_only`` stores refuse every write and delete
    with :class:`ReadOnlyStoreError` before touching anything. ``contracts`` is the table JSON
    is validated against on write and on read (the composition root passes the one built from
    the stage graph); without it JSON is only checked to be JSON. ``fence`` is asked right before
    each write is published and each delete (see the module docstring).
    """

    def __init__(self, uri: str | os.PathLike[str], *, read_only: bool = False,
                 storage_options: Mapping[str, Any] | None = None, contracts: Contracts | None = None,
                 fence: WriteFence | None = None) -> None:
        self.uri: str = os.fspath(uri)
        self.read_only: bool = read_only
        self.contracts: Contracts = contracts if contracts is not None else Contracts()
        self.fence: WriteFence | None = fence
        if not self.uri:
            raise StoreError("artifact store URI is empty")
        self._storage_options: dict[str, Any] = dict(storage_options or {})
        root = _local_root(self.uri)
        self._backend: _Backend | None = None if root is None else _LocalBackend(root)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.uri!r}{', read_only=True' if self.read_only else ''})"

    @property
    def storage_options(self) -> dict[str, Any]:
        """The fsspec storage options the store was opened with (a copy)."""
        return dict(self._storage_options)

    @property
    def local_root(self) -> Path | None:
        """The store's directory when it is local, else ``None``."""
        return _local_root(self.uri)

    def read_only_view(self) -> ArtifactStore:
        """The same root, read-only."""
        view = ArtifactStore(self.uri, read_only=True, storage_options=self._storage_options,
                             contracts=self.contracts)
        view._backend = self._backend
        return view

    # -- bytes -----------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """Whether an artifact (a file, not a directory) is stored at ``key``."""
        _check_key(key, self.uri)
        backend = self._open()
        with _foreign_errors("check", key, self.uri, backend.hint):
            return backend.is_file(key)

    def read_bytes(self, key: str) -> bytes:
        """The artifact's bytes; :class:`ArtifactNotFoundError` if there is none."""
        _check_key(key, self.uri)
        backend = self._open()
        with _foreign_errors("read", key, self.uri, backend.hint):
            return backend.read(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` at ``key`` atomically, creating parent directories as needed."""
        self._check_writable(key, "write")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"write_bytes({key!r}) needs bytes, not {type(data).__name__}")
        self._write(key, bytes(data))

    def delete(self, key: str) -> None:
        """Remove the artifact; :class:`ArtifactNotFoundError` if there is none."""
        self._check_writable(key, "delete")
        backend = self._open()
        if self.fence is not None:
            self.fence.check(self.uri, key)
        with _foreign_errors("delete", key, self.uri, backend.hint):
            backend.delete(key)

    # -- text and JSON ---------------------------------------------------------------------

    def read_text(self, key: str) -> str:
        """The artifact decoded as UTF-8."""
        return self._decode(key, self.read_bytes(key), StoreError)

    def write_text(self, key: str, text: str) -> None:
        """Store ``text`` encoded as UTF-8."""
        self._check_writable(key, "write")
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise StoreError(f"cannot write {key!r} in artifact store {self.uri!r}: text is not "
                             f"encodable as UTF-8: {exc}", key=key, uri=self.uri) from exc
        self._write(key, data)

    def read_json(self, key: str) -> Any:
        """The parsed artifact, validated against its contract if one covers ``key``."""
        text = self._decode(key, self.read_bytes(key), ContractError)
        try:
            value = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ContractError(
                f"{key!r} in artifact store {self.uri!r} is not valid JSON: {exc.msg} at line "
                f"{exc.lineno} column {exc.colno}{_DAMAGED}", key=key, uri=self.uri, reason=exc.msg) from exc
        except ValueError as exc:
            raise ContractError(f"{key!r} in artifact store {self.uri!r} is not valid JSON: {exc}{_DAMAGED}",
                                key=key, uri=self.uri, reason=str(exc)) from exc
        self.contracts.validate(key, value, uri=self.uri)
        return value

    def write_json(self, key: str, value: Any) -> None:
        """Validate ``value`` against its contract, then store it as canonical JSON.

        Canonical: sorted keys, two-space indent, UTF-8 not escaped, trailing newline, so the
        same value always gives the same bytes. NaN and infinities are not JSON: ContractError.
        Nothing is written when validation fails.
        """
        self._check_writable(key, "write")
        try:
            text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
            data = text.encode("utf-8")
        except (TypeError, ValueError) as exc:  # unserialisable type, NaN, cycle, lone surrogate
            raise ContractError(f"cannot write {key!r} in artifact store {self.uri!r}: value is not "
                                f"valid JSON: {exc}", key=key, uri=self.uri, reason=str(exc)) from exc
        # Validate what will be read back (tuples become arrays, int keys become strings).
        self.contracts.validate(key, json.loads(text), uri=self.uri)
        self._write(key, data)

    # -- listing ---------------------------------------------------------------------------

    def list(self, prefix: str = "") -> list[str]:
        """Sorted keys of the artifacts under ``prefix`` (a directory or a key; ``""`` is all).

        ``"health"`` and ``"health/"`` both list ``health/*`` (recursively) and never
        ``healthy/...``; a missing prefix lists nothing. Temp files of in-flight writes, and
        any file whose name is not a valid key, are left out.
        """
        base = _check_prefix(prefix, self.uri)
        backend = self._open()
        with _foreign_errors("list", base or None, self.uri, backend.hint):
            return sorted(key for key in backend.keys(base) if _key_problem(key) is None)

    def children(self, prefix: str = "") -> builtins.list[str]:
        """Sorted names directly under the folder ``prefix``: its files and subfolders, one level
        (on S3, one delimiter listing). A scan that must not list a whole subtree (a decision
        corpus partitioned by date, then agent) lists a level at a time. A missing folder lists
        nothing; temp files and names that are not valid key segments are left out."""
        base = _check_prefix(prefix, self.uri)
        backend = self._open()
        with _foreign_errors("list", base or None, self.uri, backend.hint):
            names = list(backend.children(base))
        return sorted(n for n in names if not n.startswith(TEMP_PREFIX) and _key_problem(n) is None)

    def snapshot(self, prefix: str = "", *, exclude: Sequence[str] = ()) -> dict[str, str]:
        """``{key: sha256 hex}`` of every artifact under ``prefix``, skipping keys that start
        with any of the ``exclude`` prefixes (plain string prefixes)."""
        if isinstance(exclude, str):
            exclude = (exclude,)  # a bare string would otherwise exclude by its characters
        return {key: hashlib.sha256(self.read_bytes(key)).hexdigest()
                for key in self.list(prefix) if not any(key.startswith(skip) for skip in exclude)}

    def local_path(self, key: str) -> Path | None:
        """The file path of ``key`` for a local store (whether or not it exists), else ``None``."""
        _check_key(key, self.uri)
        if self._backend is None:  # not opened yet: only non-local stores start unopened
            return None
        return self._backend.path(key)

    # -- internals -------------------------------------------------------------------------

    def _open(self) -> _Backend:
        if self._backend is None:
            self._backend = _open_fsspec(self.uri, self._storage_options)
        return self._backend

    def _check_writable(self, key: str, op: str) -> None:
        _check_key(key, self.uri)
        if self.read_only:
            raise ReadOnlyStoreError(f"artifact store {self.uri!r} is read-only: refused to {op} {key!r}",
                                     key=key, uri=self.uri)

    def _write(self, key: str, data: bytes) -> None:
        backend = self._open()
        fence = self.fence
        check = None if fence is None else (lambda: fence.check(self.uri, key))
        with _foreign_errors("write", key, self.uri, backend.hint):
            backend.write(key, data, check)

    def _decode(self, key: str, data: bytes, error: type[StoreError]) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"{key!r} in artifact store {self.uri!r} is not UTF-8 text: {exc}{_DAMAGED}",
                        key=key, uri=self.uri) from exc


# The recovery step for a stored file that cannot be decoded (every run of its producer rewrites it).
_DAMAGED = "; the file is damaged: delete it, then re-run the stage that writes it (see 'alpha-engine stages')"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
