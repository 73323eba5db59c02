"""Call audits for tests: a store proxy that counts every use, and a guard that counts (and
refuses) every network connection. Shared by the dry-path tests (a dry run must touch nothing)."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest


class AuditedStore:
    """Forwards everything to ``inner`` and counts each attribute used (``calls``)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        self.calls[name] += 1
        return getattr(self._inner, name)


@contextmanager
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Within the block every socket connect is refused and recorded in the yielded list."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"network is off in tests (connect to {address!r})")

    with monkeypatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        yield attempts
