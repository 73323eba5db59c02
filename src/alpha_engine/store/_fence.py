"""The write fence: a last check, just before a store publishes a write, that the writer may still write.

A store given a :class:`WriteFence` asks it at its one write choke point, as late as it can: the
artifact store right before the rename (or the PUT) that makes a write visible, the market store
right before the ArcticDB batch call. The fence raises :class:`FencedWriteError` to refuse. The
store layer knows nothing of why; the pipeline's fence (``alpha_engine.pipeline.LeaseFence``)
refuses the writes of a stage attempt whose execution is no longer RUNNING or whose task lease
was superseded or revoked.

A check-then-publish on a file system is not atomic: a write checked an instant before its
execution ends still lands. The fence closes the window from seconds (an orphaned stage running
on) to the few microseconds between the check and the rename.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["WriteFence"]


class WriteFence(Protocol):
    """Decides, just before a store publishes a write, whether the writer may still write."""

    def check(self, store: str, key: str) -> None:
        """Return if the write of ``key`` (a key, or ``library/symbols``) to ``store`` (its URI) may go
        ahead; raise :class:`~alpha_engine.store.FencedWriteError` naming both and the reason if not."""
        ...
