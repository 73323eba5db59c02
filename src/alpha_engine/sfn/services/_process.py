"""Child processes for bindings: own process group, killed as a group, always reaped.

Every child starts a new session (``start_new_session=True``) so a handler that forks its own
workers is killed with them: the engine cancels a timed-out task and no process may outlive
it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

__all__ = ["describe_exit", "kill_group", "terminate_group"]


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


async def terminate_group(proc: asyncio.subprocess.Process, grace_seconds: float) -> None:
    """SIGTERM the child's process group, give it ``grace_seconds`` to exit, then SIGKILL the group.

    Used when the engine stops a running task (timeout, abort, shutdown): a wrapper such as
    log capture gets to forward the signal and ship its log, as a container gets between
    ``docker stop``'s SIGTERM and SIGKILL.
    """
    if proc.returncode is None and grace_seconds > 0:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
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
