"""One run per workspace: the lock ``run``, ``resume`` and ``redrive`` hold while they drive an execution.

Two engines on one workspace would interleave their stages' writes to the same stores and logs,
whatever their role, so the lock is taken for every execution the pipeline drives (the
DynamoDB-style minute mutex in the definition is a different thing: it keeps AWS's semantics for
the scheduled roles, across hosts).

It is an advisory ``fcntl.flock`` on ``<workspace>/run.lock``, taken non-blocking: a second
process is refused at once, with the holder's pid, command, execution and start time, which the
holder writes into the file after it takes the lock. The kernel drops the lock when the holder
dies, however it dies (SIGKILL included), so a crash never leaves a stale lock; the stale holder
text is simply overwritten by the next taker. Local file systems only, like the workspace itself.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from ._errors import WorkspaceBusyError

__all__ = ["LOCK_FILE", "WorkspaceLock"]

LOCK_FILE = "run.lock"


class WorkspaceLock:
    """The workspace's run lock (see module docstring); a context manager, not re-entrant."""

    def __init__(self, workspace: Path, *, command: str, execution: str) -> None:
        self.path = workspace / LOCK_FILE
        self.command = command
        self.execution = execution
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise WorkspaceBusyError naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise WorkspaceBusyError(_busy_message(self.path.parent, holder)) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        holder = {"pid": os.getpid(), "command": self.command, "execution": self.execution,
                  "started": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # no stale holder text for the next reader
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> WorkspaceLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _read_holder(fd: int) -> dict[str, object]:
    try:
        value = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _busy_message(workspace: Path, holder: dict[str, object]) -> str:
    if not holder:  # the holder took the lock and has not written its name yet
        return (f"workspace {workspace} is busy: another alpha-engine process holds {workspace / LOCK_FILE}; "
                "wait for it to finish")
    pid = holder.get("pid")
    return (f"workspace {workspace} is busy: 'alpha-engine {holder.get('command')}' (pid {pid}) has been driving "
            f"execution {holder.get('execution')} since {holder.get('started')}. One run per workspace: wait for "
            f"it to finish, or stop it with 'kill -TERM {pid}' (it is recorded ABORTED and can be redriven), "
            "or use another --workspace")
