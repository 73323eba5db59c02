"""Child processes for bindings: own process group, killed as a group, always reaped.

Every child starts a new session (``start_new_session=True``) so a handler that forks its own
workers is killed with them: the engine cancels a timed-out task and no process may outlive
it.
"""

from __future__ import annotations

import asyncio
import os
import signal

__all__ = ["describe_exit", "kill_group"]


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


def describe_exit(returncode: int) -> str:
    """``exit status 3`` or ``signal: killed``, worded as Lambda's runtime reports it."""
    if returncode < 0:
        try:
            name = signal.strsignal(-returncode) or f"signal {-returncode}"
        except ValueError:
            name = f"signal {-returncode}"
        return f"signal: {name.lower()}"
    return f"exit status {returncode}"
