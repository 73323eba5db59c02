"""Helpers for the EDGAR tests: the hand-written SEC responses (fixtures/edgar/README.md) served
by URL path through an httpx.MockTransport, and an EDGAR client over them with a fake clock."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from providers_support import FakeClock

from alpha_engine.data.edgar import EdgarClient
from alpha_engine.data.providers import HttpSettings, RetryPolicy

EDGAR_FIXTURES = Path(__file__).parent / "fixtures" / "edgar"
IDENTITY = "Alpha Engine Tests tests@example.com"

# URL path -> fixture file; both SEC hosts serve from this one table.
ROUTES: Mapping[str, str] = {
    "/files/company_tickers.json": "company_tickers.json",
    "/submissions/CIK0000320193.json": "submissions_CIK0000320193.json",
    "/submissions/CIK0000789019.json": "submissions_CIK0000789019.json",
    "/api/xbrl/companyfacts/CIK0000320193.json": "companyfacts_CIK0000320193.json",
    "/Archives/edgar/data/320193/000032019322000120/wf-form4_166999986528134.xml": "form4_aapl_sale.xml",
    "/Archives/edgar/data/320193/000032019322000115/wf-form4_166810503960512.xml": "form4_aapl_purchase.xml",
}


class SecServer:
    """A MockTransport handler serving the fixtures by path (404 with SEC's page otherwise)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []  # the fake clock at each request

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.clock is not None:
            self.times.append(self.clock.now)
        name = ROUTES.get(request.url.path)
        if name is None:
            return httpx.Response(404, text=(EDGAR_FIXTURES / "not_found.html").read_text(),
                                  headers={"content-type": "text/html"})
        kind = "application/json" if name.endswith(".json") else "text/xml"
        return httpx.Response(200, content=(EDGAR_FIXTURES / name).read_bytes(), headers={"content-type": kind})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def edgar_client(handler: object, clock: FakeClock | None = None, *, max_attempts: int = 4,
                 requests_per_minute: float | None = None) -> EdgarClient:
    """An EdgarClient over ``handler`` (a MockTransport handler) with a fake clock."""
    clock = clock or FakeClock()
    http = HttpSettings(transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                        retry=RetryPolicy(max_attempts=max_attempts), requests_per_minute=requests_per_minute,
                        sleep=clock.sleep, monotonic=clock.monotonic)
    return EdgarClient(IDENTITY, http=http)
