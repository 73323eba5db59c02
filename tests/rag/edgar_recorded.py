"""The RAG EDGAR tests' SEC: the hand-written responses of fixtures/edgar (see its README) served by
URL path through an httpx.MockTransport, with a request log, planted failures and a fake clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

FIXTURES = Path(__file__).parent / "fixtures" / "edgar"
IDENTITY = "Alpha Engine Tests tests@example.com"

# URL path -> fixture file; one table serves both SEC hosts.
ROUTES: Mapping[str, str] = {
    "/files/company_tickers.json": "company_tickers.json",
    "/submissions/CIK0000320193.json": "submissions_CIK0000320193.json",
    "/submissions/CIK0000789019.json": "submissions_CIK0000789019.json",
    "/submissions/CIK0001067983.json": "submissions_CIK0001067983.json",
    "/Archives/edgar/data/320193/000032019322000108/aapl-20220924.htm": "aapl-20220924.htm",
    "/Archives/edgar/data/320193/000032019322000107/aapl-20221027.htm": "aapl-20221027.htm",
    "/Archives/edgar/data/320193/000032019322000070/aapl-20220625.htm": "aapl-20220625.htm",
    "/Archives/edgar/data/789019/000095017022020614/msft-20220930.htm": "msft-20220930.htm",
    "/Archives/edgar/data/789019/000095017022020597/msft-8k_20221025.htm": "msft-8k_20221025.htm",
    "/Archives/edgar/data/1067983/000095017022024206/brka-20220930.htm": "brka-20220930.htm",
}
DOCUMENTS = sorted(path for path in ROUTES if path.startswith("/Archives/"))


class FakeClock:
    """The HTTP client's clock: sleeping (rate limit, retry backoff) advances it, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RecordedSec:
    """A MockTransport handler: fixtures by path; ``failing`` paths answer ``status`` (500: retried,
    then a failure); anything else gets SEC's 404."""

    failing: set[str] = field(default_factory=set)
    status: int = 500
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path in self.failing:
            return httpx.Response(self.status, text="<html><body>Service Unavailable</body></html>")
        name = ROUTES.get(path)
        if name is None:
            return httpx.Response(404, text="<html><body>File Not Found</body></html>")
        kind = "application/json" if name.endswith(".json") else "text/html"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes(), headers={"content-type": kind})

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def documents_fetched(self) -> list[str]:
        return sorted(p for p in self.paths() if p.startswith("/Archives/"))
