"""The lease fence: a stage attempt's writes are refused once the attempt is no longer current.

The local runtime gives every Task attempt a lease (``alpha_engine.sfn``: ``TaskLease``) and puts
its token and the execution store's path in the environment of the process it starts; the stage
process inherits them. :meth:`LeaseFence.from_env` turns them into a
:class:`~alpha_engine.store.WriteFence` that the stage runner hands to every store the stage opens:
before publishing a write the store asks :func:`alpha_engine.sfn.lease_status`, and the write is
refused (:class:`~alpha_engine.store.FencedWriteError`) when the execution is no longer RUNNING or
the lease was superseded, revoked or ended. So an orphaned attempt (its log capture or engine died,
or a resume started a newer attempt) cannot publish artifacts, health markers or market data after
the fact. The shipped stage log is not fenced: log capture ships through a store of its own.

No lease in the environment (a stage run by hand) means no fence.

The limit, honestly: the check comes right before the rename (or the ArcticDB call) that publishes
a write, but it is not atomic with it; a write checked a few microseconds before its execution
ended still lands.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EXECUTION_STORE_ENV", "TASK_LEASE_ENV", "LeaseFence"]

# The runtime's names (alpha_engine.sfn.TASK_LEASE_ENV / EXECUTION_STORE_ENV, the same strings, pinned
# by a test), spelled here so a stage process that writes nothing never imports the runtime.
TASK_LEASE_ENV = "SFN_TASK_LEASE"
EXECUTION_STORE_ENV = "SFN_EXECUTION_STORE"


@dataclass(frozen=True)
class LeaseFence:
    """Refuses writes once the task lease ``token`` in the execution store ``database`` is not current."""

    token: str
    database: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LeaseFence | None:
        """The fence of the task attempt this process runs for; None when it runs for none."""
        env = os.environ if environ is None else environ
        token, database = env.get(TASK_LEASE_ENV), env.get(EXECUTION_STORE_ENV)
        if not token or not database:
            return None
        return cls(token, Path(database))

    def check(self, store: str, key: str) -> None:
        """Raise FencedWriteError naming the store, the key and why, unless the lease is current."""
        from alpha_engine.sfn import lease_status  # imported by the first write, not by every stage process
        from alpha_engine.store import FencedWriteError

        status = lease_status(self.database, self.token)
        if status.current:
            return
        reason = status.reason or "its lease is not current"
        raise FencedWriteError(
            f"{store}: refused to write {key}: this stage attempt may no longer write ({reason}); "
            "nothing was written (a newer attempt or the end of the execution took over)",
            key=key, uri=store, reason=reason)
