"""The market store's single-writer lock.

* **Local (LMDB) stores**: an advisory ``fcntl.flock`` on ``<store>/.alpha-engine-writer.lock``, taken
  non-blocking. It excludes every other process on the host and every other lock object in this
  process (flock locks belong to the open file description, so two opens of the file conflict even in
  one process). The holder writes its pid into the file so a refused writer can name it; the file is
  emptied again on release. The kernel drops the lock when the holder dies, so a crash never leaves
  a stale lock behind.
* **S3 stores** (``s3://`` / ``s3s://``): a **lease** object next to the store's data, taken and
  released by conditional writes, which excludes writers on every host (:mod:`._s3_lease`). A writer
  that dies leaves a lease that expires; the next writer takes it over.
* **Other remote stores**: the lock is **process-local** only: a registry keyed by the URI (it guards
  against two writers inside one process).

The lock is re-entrant for its owner object: nested ``with lock:`` blocks only count depth.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from ._errors import MarketStoreLockedError
from ._market_location import redact, s3_market_location
from ._s3_lease import S3Lease

__all__ = ["LOCK_FILE_NAME", "WriterLock"]

LOCK_FILE_NAME = ".alpha-engine-writer.lock"

_PROCESS_LOCKS: set[str] = set()  # remote URIs whose writer lock some object in this process holds
_PROCESS_LOCKS_GUARD = threading.Lock()


class WriterLock:
    """Non-blocking single-writer lock for one market store.

    ``directory`` is the local store directory (flock there), or None for a remote store identified
    by ``uri`` (an S3 lease for ``s3://``/``s3s://``, else a process-local lock). Acquiring a lock
    someone else holds raises :class:`MarketStoreLockedError` at once; it never waits.
    ``lease_options`` go to :class:`~._s3_lease.S3Lease` (``lease_seconds``, ``clock``, ``client``).
    """

    def __init__(self, uri: str, directory: Path | None, **lease_options: Any) -> None:
        self.uri = uri
        self.directory = directory
        self._depth = 0
        self._fd: int | None = None
        location = s3_market_location(uri) if directory is None else None
        self.lease: S3Lease | None = None if location is None else S3Lease(location, redact(uri), **lease_options)

    @property
    def path(self) -> Path | None:
        """The lock file (None for a remote store)."""
        return None if self.directory is None else self.directory / LOCK_FILE_NAME

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self) -> None:
        if self._depth == 0:
            if self.lease is not None:
                self.lease.acquire()
            elif self.directory is None:
                self._acquire_process_local()
            else:
                self._acquire_flock(self.directory)
        self._depth += 1

    def release(self) -> None:
        if self._depth == 0:
            raise RuntimeError(f"market store {self.uri}: writer lock released more often than acquired")
        self._depth -= 1
        if self._depth > 0:
            return
        if self.lease is not None:
            self.lease.release()
            return
        if self._fd is None:
            with _PROCESS_LOCKS_GUARD:
                _PROCESS_LOCKS.discard(self.uri)
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale pid for the next refused writer to blame
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def check(self, *, confirm: bool = False) -> None:
        """Raise :class:`MarketStoreLockedError` if the lock is held but no longer ours (an S3 lease
        taken over after it expired; ``confirm`` asks S3 rather than trusting the last renewal); a
        no-op for flock and process-local locks, which cannot be lost."""
        if self.lease is not None and self.held:
            self.lease.check(confirm=confirm)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def _acquire_flock(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK_FILE_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _recorded_pid(fd)
            os.close(fd)
            who = f" (held by pid {holder})" if holder else ""
            raise MarketStoreLockedError(
                f"market store {self.uri}: another writer holds the lock {path}{who}") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def _acquire_process_local(self) -> None:
        with _PROCESS_LOCKS_GUARD:
            if self.uri in _PROCESS_LOCKS:
                raise MarketStoreLockedError(
                    f"market store {self.uri}: another writer in this process holds the (process-local) "
                    f"writer lock")
            _PROCESS_LOCKS.add(self.uri)


def _recorded_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
