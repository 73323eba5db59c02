"""A child that dies with its parent: the Linux parent-death signal, as a ``preexec_fn``.

Log capture gives the stage it runs SIGKILL (a stage never outlives the log capture that is its
"container"), and the local Lambda handler gives log capture SIGTERM (so log capture forwards it
to the stage and still ships the log). The runtime's bindings do the same for the processes they
start (``alpha_engine.sfn.services._process.parent_death_signal``, the same few lines: the stage
processes that use this copy must not import the runtime).
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

__all__ = ["parent_death_signal"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def parent_death_signal(sig: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent ``sig`` when its parent dies (Linux; None elsewhere).

    Why a parent-death signal and not a watchdog pipe: it needs nothing from the child's code, and
    the kernel delivers it even when the parent is SIGKILLed.

    The kernel sends it when the *thread* that forked the child exits, not the process: spawn from
    a thread that outlives the child. Log capture and the Lambda handler spawn from their main
    thread and wait for the child in it.

    If the parent died between the fork and the ``prctl``, the child was already reparented and
    would never get the signal, so the child checks its parent pid after arming it and sends itself
    ``sig`` if the parent is gone.
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
