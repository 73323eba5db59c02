"""Child processes for bindings: own process group, killed as a group, always reaped, and told when
the engine dies.

Every child starts a new session (``start_new_session=True``) so a handler that forks its own
workers is killed with them: the engine cancels a timed-out task and no process may outlive
it. Being in its own session, a child does not share the engine's fate when the engine's
process group is killed, so each child also gets a *parent-death signal* (SIGTERM, Linux
``prctl(PR_SET_PDEATHSIG)``): a wrapper such as log capture then forwards it and ships its log.

The process of a Task attempt is identified by its pid *and* its start time
(:func:`process_start_time`), so a resume that stops an earlier attempt
(:func:`stop_process_group`) never signals a process that merely reuses the pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "describe_exit",
    "kill_group",
    "parent_death_signal",
    "process_start_time",
    "stop_process_group",
    "terminate_group",
]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 0.05


def parent_death_signal(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent ``sig`` when its parent dies (Linux; None elsewhere).

    Why a parent-death signal and not a watchdog pipe: it needs nothing from the child's code (any
    command, not only ours), and the kernel delivers it even when the parent is SIGKILLed.

    The kernel sends it when the *thread* that forked the child exits, not the process: spawn
    from a thread that outlives the child. The bindings spawn on the event loop's thread, which
    runs until the engine's operation ends, after every child has been reaped.

    If the parent died between the fork and the ``prctl`` the child was already reparented and
    would never get the signal, so the child checks its parent pid after arming it and sends
    itself ``sig`` if the parent is gone.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: nothing is loaded after the fork
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return arm


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), or None if
    it is gone, a zombie, or there is no ``/proc`` (then no process is ever taken for a Task's).

    Read from ``/proc`` rather than with psutil: two lines instead of a dependency, on the one
    platform whose parent-death signal the bindings rely on anyway.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # the command name (field 2) may hold spaces and ')'
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _alive(pid: int, started: int) -> bool:
    return process_start_time(pid) == started


def stop_process_group(pid: int, started: int, grace_seconds: float, sig: int = signal.SIGTERM) -> bool:
    """Stop the process group led by ``pid``, if ``pid`` is still the process that started at ``started``.

    ``sig`` to the group, up to ``grace_seconds`` for the leader to exit, then SIGKILL to the
    group. For a process that is not our child (an earlier engine's), so it polls instead of
    waiting. Returns whether the process was running (and so was stopped).
    """
    if not _alive(pid, started):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    for _ in range(max(0, int(grace_seconds / _POLL_SECONDS))):
        if not _alive(pid, started):
            break
        time.sleep(_POLL_SECONDS)
    # The group may outlive its leader (a child it started); its id cannot be reused while it exists.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    for _ in range(int(5 / _POLL_SECONDS)):  # SIGKILL is not instant: wait until it is really gone
        if not _alive(pid, started):
            break
        time.sleep(_POLL_SECONDS)
    return True


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's whole process group, then reap the child so no zombie is left."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # already gone (the group leader may have exited and been reaped)
    if proc.returncode is None:
        # Shielded: we are usually here because our own task was cancelled, and the reap must
        # still finish so the pid is really gone when the cancellation completes.
        await asyncio.shield(proc.wait())


async def terminate_group(proc: asyncio.subprocess.Process, grace_seconds: float,
                          sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` (SIGTERM) to the child's process group, give it ``grace_seconds`` to exit, then
    SIGKILL the group.

    Used when the engine stops a running task (timeout, abort, shutdown): a wrapper such as
    log capture gets to forward the signal and ship its log, as a container gets between
    ``docker stop``'s SIGTERM and SIGKILL. When the engine itself got SIGINT or SIGTERM, ``sig``
    is that signal.
    """
    if proc.returncode is None and grace_seconds > 0:
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        else:
            # Shielded for the same reason as in kill_group: we are usually being cancelled.
            with contextlib.suppress(TimeoutError):
                await asyncio.shield(asyncio.wait_for(proc.wait(), grace_seconds))
    await kill_group(proc)


def describe_exit(returncode: int) -> str:
    """``exit status 3`` or ``signal: killed``, worded as Lambda's runtime reports it."""
    if returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"
