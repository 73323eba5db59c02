"""Helpers for the provider tests: recorded responses, a replaying transport, a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from alpha_engine.data.providers import HttpSettings, RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures" / "http"
SECRET_PARAMS = frozenset({"api_key", "apiKey"})


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def recorded_response(name: str) -> httpx.Response:
    """The response recorded in fixture ``name``."""
    response = fixture(name)["response"]
    return httpx.Response(response["status"], headers=response.get("headers", {}), json=response["json"])


def _query(url: httpx.URL) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in url.params.multi_items() if k not in SECRET_PARAMS)


class Replay:
    """A MockTransport handler: serves the fixture whose recorded GET matches the request's path
    and query (secret params ignored); an unmatched request fails the test."""

    def __init__(self, *names: str) -> None:
        self.routes = []
        for name in names:
            url = httpx.URL(fixture(name)["request"]["url"])
            self.routes.append((url.host, url.path, _query(url), name))
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for host, path, query, name in self.routes:
            if (request.url.host, request.url.path, _query(request.url)) == (host, path, query):
                return recorded_response(name)
        raise AssertionError(f"no recorded response for {request.method} {request.url}")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


Item = httpx.Response | Exception | str | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler serving ``items`` in order, whatever the URL: a Response, a fixture
    name, a handler, or an exception to raise (an httpx.TransportError simulates the network)."""

    def __init__(self, *items: Item, repeat_last: bool = False) -> None:
        self.items = list(items)
        self.repeat_last = repeat_last
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.items:
            raise AssertionError(f"unexpected request {request.url}")
        item = self.items[0] if self.repeat_last and len(self.items) == 1 else self.items.pop(0)
        if isinstance(item, Exception):
            if isinstance(item, httpx.RequestError):
                raise type(item)(str(item), request=request)
            raise item
        if isinstance(item, str):
            return recorded_response(item)
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


class FakeClock:
    """``monotonic`` and ``sleep`` for tests: sleeping advances the clock and is recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(handler: Replay | Script, clock: FakeClock | None = None, *, requests_per_minute: float = 0,
             max_attempts: int = 4, burst: int = 1) -> HttpSettings:
    """HttpSettings over ``handler`` with a fake clock (no rate limit unless asked)."""
    clock = clock or FakeClock()
    return HttpSettings(transport=handler.transport, retry=RetryPolicy(max_attempts=max_attempts),
                        requests_per_minute=requests_per_minute, burst=burst, sleep=clock.sleep,
                        monotonic=clock.monotonic)


def json_response(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> httpx.Response:
    return httpx.Response(status, json=body, headers=list(headers))
