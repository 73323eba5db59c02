"""The EDGAR client against hand-written SEC responses: identity, pacing, retries, errors, endpoints."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from edgar_support import IDENTITY, SecServer, edgar_client
from providers_support import FakeClock, Script

from alpha_engine.data import ProviderAuthError, ProviderError
from alpha_engine.data.edgar import EdgarClient, check_identity, cik10
from alpha_engine.data.providers import HttpSettings


@pytest.mark.parametrize("identity", [None, "", "   "])
def test_a_missing_identity_is_refused_before_any_request(identity: str | None) -> None:
    server = SecServer()
    with pytest.raises(ProviderAuthError, match="no User-Agent identity configured: set .*edgar_identity"):
        EdgarClient(identity, http=HttpSettings(transport=server.transport))
    assert server.requests == []


@pytest.mark.parametrize("identity", ["alpha-engine", "me@example.com", "Name email"])
def test_an_identity_without_a_name_and_an_email_is_refused(identity: str) -> None:
    with pytest.raises(ProviderAuthError, match="is not 'Name email'"):
        check_identity(identity)


def test_every_request_declares_the_identity() -> None:
    server = SecServer()
    with edgar_client(server) as client:
        client.ticker_map()
        client.submissions(320193)
    assert [r.headers["User-Agent"] for r in server.requests] == [IDENTITY, IDENTITY]
    assert [r.url.host for r in server.requests] == ["www.sec.gov", "data.sec.gov"]


def test_requests_are_spaced_at_ten_per_second_on_the_injected_clock() -> None:
    clock = FakeClock()
    server = SecServer(clock)
    with edgar_client(server, clock) as client:
        for _ in range(5):
            client.submissions(320193)
    gaps = [b - a for a, b in zip(server.times, server.times[1:], strict=False)]
    assert len(gaps) == 4 and all(gap >= 0.1 - 1e-9 for gap in gaps), gaps
    assert clock.now - 1000.0 == pytest.approx(0.4)  # no more waiting than the limit needs


@pytest.mark.parametrize("rate", [0, 601])
def test_no_limit_or_a_rate_above_secs_limit_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="SEC allows 10 requests per second"):
        EdgarClient(IDENTITY, http=HttpSettings(requests_per_minute=rate))


def test_a_429_is_retried_after_its_retry_after_then_succeeds() -> None:
    clock = FakeClock()
    server = SecServer()
    script = Script(httpx.Response(429, headers={"Retry-After": "3"}, text="Too Many Requests"), server)
    with edgar_client(script, clock, requests_per_minute=600) as client:
        assert client.cik("AAPL") == 320193
    assert len(script.requests) == 2
    assert 3.0 in clock.sleeps


def test_a_timeout_then_a_503_are_retried_with_backoff() -> None:
    clock = FakeClock()
    script = Script(httpx.ReadTimeout("read timed out"), httpx.Response(503, text="busy"), SecServer())
    with edgar_client(script, clock, requests_per_minute=600) as client:
        assert client.submissions(320193).name == "Apple Inc."
    assert [s for s in clock.sleeps if s >= 1.0] == [1.0, 2.0]  # backoff_base 1 s, doubled


def test_a_404_names_the_url_and_the_status() -> None:
    with edgar_client(SecServer()) as client, pytest.raises(ProviderError) as caught:
        client.submissions(1234)
    message = str(caught.value)
    assert "https://data.sec.gov/submissions/CIK0000001234.json" in message
    assert "HTTP 404" in message and "File Not Found" in message
    assert "after 1 attempt" in message  # a 404 is not retried


def test_a_403_is_an_identity_problem() -> None:
    script = Script(httpx.Response(403, text="Your Request Originates from an Undeclared Automated Tool"))
    with edgar_client(script) as client, pytest.raises(ProviderAuthError, match="HTTP 403.*check the identity"):
        client.ticker_map()


def test_tickers_resolve_to_ciks_with_share_classes_normalized() -> None:
    with edgar_client(SecServer()) as client:
        assert client.cik("aapl") == 320193
        assert client.lookup("BRK.B") is not None and client.cik("BRK.B") == 1067983
        assert client.lookup("ZZZZ") is None
        with pytest.raises(ProviderError, match="'ZZZZ' is not in SEC's ticker map"):
            client.cik("ZZZZ")
    assert cik10(320193) == "0000320193"


def test_the_ticker_map_is_fetched_once_per_client() -> None:
    server = SecServer()
    with edgar_client(server) as client:
        client.cik("AAPL")
        client.cik("MSFT")
    assert server.paths() == ["/files/company_tickers.json"]


def test_submissions_list_recent_filings_and_form4s_in_a_window() -> None:
    with edgar_client(SecServer()) as client:
        subs = client.submissions(320193)
        assert (subs.cik, subs.name, subs.tickers, subs.has_older_pages) == (320193, "Apple Inc.", ("AAPL",), False)
        assert [f.form for f in subs.filings] == ["4", "4", "4/A", "4", "10-K", "4"]
        ten_k = subs.of_form("10-K")[0]
        assert (ten_k.accession_number, ten_k.filing_date, ten_k.primary_document) == (
            "0000320193-22-000108", date(2022, 10, 28), "aapl-20220924.htm")
        window = client.insider_filings(subs, date(2022, 10, 3), date(2022, 12, 31))
        assert [f.accession_number for f in window] == ["0000320193-22-000120", "0000320193-22-000115"]
        assert client.filing_url(320193, ten_k) == \
            "https://www.sec.gov/Archives/edgar/data/320193/000032019322000108/aapl-20220924.htm"


def test_a_form4_is_fetched_as_its_raw_xml_not_the_rendered_view() -> None:
    server = SecServer()
    with edgar_client(server) as client:
        filing = client.submissions(320193).filings[1]
        form = client.form4(320193, filing)
        raw = client.filing_document(320193, filing, "wf-form4_166999986528134.xml")
    assert form.issuer_ticker == "AAPL" and len(form.transactions) == 3
    assert raw.startswith(b"<?xml")
    assert server.paths()[-1] == "/Archives/edgar/data/320193/000032019322000120/wf-form4_166999986528134.xml"


def test_company_facts_are_none_for_a_company_without_xbrl() -> None:
    with edgar_client(SecServer()) as client:
        assert client.company_facts(789019) is None
        facts = client.company_facts(320193)
    assert facts is not None and facts["entityName"] == "Apple Inc."


def test_a_malformed_submissions_document_names_the_url_and_the_field() -> None:
    script = Script(httpx.Response(200, json={"cik": "320193", "filings": {"recent": {"form": ["4"]}}}))
    with edgar_client(script) as client, pytest.raises(ProviderError, match=r"CIK0000320193\.json: .*accessionNumber"):
        client.submissions(320193)


def test_a_base_url_replaces_both_sec_hosts() -> None:
    server = SecServer()
    clock = FakeClock()
    http = HttpSettings(transport=server.transport, sleep=clock.sleep, monotonic=clock.monotonic)
    with EdgarClient(IDENTITY, base_url="http://127.0.0.1:8123/", http=http) as client:
        client.ticker_map()
        client.submissions(320193)
    assert [str(r.url) for r in server.requests] == [
        "http://127.0.0.1:8123/files/company_tickers.json", "http://127.0.0.1:8123/submissions/CIK0000320193.json"]
