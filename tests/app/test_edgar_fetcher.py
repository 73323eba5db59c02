"""The app's FilingFetcher over the data package's EdgarClient (an httpx.MockTransport, never the
network): the opener, the translation of a filing list, and the error map at the boundary."""

from __future__ import annotations

import inspect
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

import alpha_engine.data as data
from alpha_engine.app import EDGAR_ERROR_MAP, EdgarClientFetcher, open_edgar_filings, probe_edgar_filings
from alpha_engine.config import load_settings
from alpha_engine.data.edgar import EdgarClient
from alpha_engine.data.providers import HttpSettings, RetryPolicy
from alpha_engine.rag import EdgarFiling, FilingAccessError, FilingFetchError

IDENTITY = "Alpha Engine Tests tests@example.com"
SUBMISSIONS = {
    "cik": "320193", "name": "Apple Inc.", "tickers": ["AAPL"],
    "filings": {"recent": {"accessionNumber": ["0000320193-22-000108"], "filingDate": ["2022-10-28"],
                           "reportDate": ["2022-09-24"], "form": ["10-K"], "primaryDocument": ["aapl-20220924.htm"]},
                "files": [{"name": "CIK0000320193-submissions-001.json"}]},
}
TICKERS = {"0": {"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}}


class _Clock:
    """The client's clock: waiting for the rate limit advances it, instantly."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _fetcher(handler: Any) -> EdgarClientFetcher:
    clock = _Clock()
    http = HttpSettings(transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=1), sleep=clock.sleep,
                        monotonic=clock.monotonic)
    return EdgarClientFetcher(EdgarClient(IDENTITY, http=http))


def _sec(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/files/company_tickers.json":
        return httpx.Response(200, json=TICKERS)
    if path == "/submissions/CIK0000320193.json":
        return httpx.Response(200, json=SUBMISSIONS)
    if path == "/Archives/edgar/data/320193/000032019322000108/aapl-20220924.htm":
        return httpx.Response(200, content=b"<html>10-K</html>")
    return httpx.Response(404, text="File Not Found")


def test_it_lists_looks_up_and_fetches_through_the_client() -> None:
    fetcher = _fetcher(_sec)
    company = fetcher.company("aapl")
    assert company is not None and (company.ticker, company.cik, company.name) == ("AAPL", 320193, "Apple Inc.")
    assert fetcher.company("ZZZZ") is None
    listed = fetcher.filings(320193)
    filing = EdgarFiling(320193, "10-K", "0000320193-22-000108", date(2022, 10, 28), "aapl-20220924.htm")
    assert listed.filings == (filing,) and listed.listed_since == date(2022, 10, 28)  # older pages exist
    assert fetcher.document(filing) == b"<html>10-K</html>"
    fetcher.close()


@pytest.mark.parametrize(("status", "error"), [(403, FilingAccessError), (500, FilingFetchError),
                                               (404, FilingFetchError)])
def test_the_clients_errors_become_rags(status: int, error: type[Exception]) -> None:
    fetcher = _fetcher(lambda request: httpx.Response(status, text="no"))
    with pytest.raises(error) as caught:
        fetcher.filings(320193)
    assert "/submissions/CIK0000320193.json" in str(caught.value)


def test_every_provider_error_class_has_a_mapping() -> None:
    provider_errors = [c for _, c in inspect.getmembers(data, inspect.isclass)
                       if issubclass(c, data.ProviderError)]
    assert provider_errors  # ProviderError and its subclasses, as the data package exports them
    for cls in provider_errors:
        assert any(issubclass(cls, source) for source, _ in EDGAR_ERROR_MAP), cls
    # most specific first, so an auth failure is never taken for an ordinary one
    sources = [source for source, _ in EDGAR_ERROR_MAP]
    assert all(not issubclass(sources[j], sources[i]) for i in range(len(sources)) for j in range(i + 1, len(sources)))


def test_the_opener_gives_none_without_an_identity_and_the_probe_checks_the_configuration(tmp_path: Path) -> None:
    bare = load_settings(workspace=tmp_path, env={})
    assert open_edgar_filings(bare, True, None) is None  # type: ignore[arg-type]
    probe_edgar_filings(bare)
    configured = load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_EDGAR_IDENTITY": IDENTITY})
    fetcher = open_edgar_filings(configured, True, None)  # type: ignore[arg-type]
    assert isinstance(fetcher, EdgarClientFetcher) and fetcher.client.identity == IDENTITY
    fetcher.close()
    with pytest.raises(data.ProviderAuthError, match="not 'Name email'"):
        probe_edgar_filings(load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_EDGAR_IDENTITY": "nobody"}))
    with pytest.raises(Exception, match="is not an http"):
        probe_edgar_filings(load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_EDGAR_IDENTITY": IDENTITY,
                                                                  "ALPHA_ENGINE_EDGAR_BASE_URL": "ftp://mirror"}))
