"""Time and identity sources for the engine.

Engine code never calls ``datetime.now()``, ``time.time()`` or ``uuid.uuid4()`` directly: time
comes from a :class:`Clock` and identifiers from an :class:`IdSource`, both injected, so tests
run week-long Waits instantly and a seeded run produces the same ids.

Waits and Retry backoff are measured on the clock. Task timeouts and heartbeats bound real work
(a child process) and are measured in real time on the event loop.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "FakeClock", "IdSource", "SystemClock", "format_timestamp", "parse_timestamp"]


def format_timestamp(moment: datetime) -> str:
    """AWS context-object form: ISO-8601, millisecond precision, ``Z`` suffix."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 timestamp with a zone (``Z`` or offset) into an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Clock:
    """The engine's notion of now, and a way to wait until a moment on it."""

    def now(self) -> datetime:
        raise NotImplementedError

    async def sleep_until(self, moment: datetime) -> None:
        raise NotImplementedError


class SystemClock(Clock):
    """Real time (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, moment: datetime) -> None:
        delay = (moment - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)


class FakeClock(Clock):
    """Virtual time for tests and dry runs.

    With ``auto_advance`` (the default) every wait completes at once and moves the clock to its
    deadline, so a one-week Wait costs nothing. With ``auto_advance=False`` waiters block until
    :meth:`advance` moves the clock past their deadline.
    """

    def __init__(self, start: datetime | None = None, *, auto_advance: bool = True) -> None:
        self._now = start or datetime(2026, 1, 3, 12, 0, 0, tzinfo=UTC)
        self.auto_advance = auto_advance
        self._waiters: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, moment: datetime) -> None:
        if self.auto_advance:
            if moment > self._now:
                self._now = moment
            await asyncio.sleep(0)
            return
        if moment <= self._now:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((moment, future))
        await future

    def advance(self, seconds: float = 0.0, *, to: datetime | None = None) -> None:
        """Move the clock forward and release every waiter whose deadline has passed."""
        self._now = to if to is not None else self._now + timedelta(seconds=seconds)
        due = [w for w in self._waiters if w[0] <= self._now]
        self._waiters = [w for w in self._waiters if w[0] > self._now]
        for _, future in due:
            if not future.done():
                future.set_result(None)

    @property
    def pending_waits(self) -> int:
        return len(self._waiters)


class IdSource:
    """Execution names, task tokens and other ids; seeded for reproducible runs."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8), "big"))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    @property
    def random(self) -> random.Random:
        return self._rng
