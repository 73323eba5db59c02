"""The SEC EDGAR client: one declared identity, at most 10 requests per second, retried.

SEC's fair-access policy (https://www.sec.gov/os/accessing-edgar-data) asks every automated
client to declare itself in the ``User-Agent`` header as ``"Company or name email@domain"`` and to
stay at or below 10 requests per second; undeclared clients are refused (HTTP 403). So:

* the identity is required and checked before any request (:func:`check_identity`);
* requests go through :class:`~alpha_engine.data.providers.HttpClient`: a token bucket at 10/s
  (burst 1, so requests are spaced by at least 100 ms), retries with exponential backoff on 429,
  5xx and timeouts (honouring ``Retry-After``), and errors naming the URL and the HTTP status;
* ``base_url`` replaces both SEC hosts (``www.sec.gov`` and ``data.sec.gov``) with one server
  that serves the same paths, for tests and mirrors.

Endpoints: the ticker map ``/files/company_tickers.json`` (www), submissions
``/submissions/CIK##########.json`` (data), company facts
``/api/xbrl/companyfacts/CIK##########.json`` (data), and filing documents
``/Archives/edgar/data/<cik>/<accession without dashes>/<document>`` (www).
"""

from __future__ import annotations

import re
from datetime import date
from types import TracebackType
from typing import Any

from .._errors import ProviderAuthError, ProviderError
from ..providers import HttpClient, HttpSettings
from ._filings import (
    CompanyTicker,
    Filing,
    Submissions,
    normalize_ticker,
    parse_company_tickers,
    parse_submissions,
)
from ._form4 import Form4, parse_form4

__all__ = ["EDGAR_ARCHIVES_URL", "EDGAR_DATA_URL", "EDGAR_IDENTITY_HINT", "EDGAR_MAX_REQUESTS_PER_SECOND",
           "EdgarClient", "check_identity", "cik10"]

EDGAR_ARCHIVES_URL = "https://www.sec.gov"
EDGAR_DATA_URL = "https://data.sec.gov"
EDGAR_MAX_REQUESTS_PER_SECOND = 10.0
EDGAR_IDENTITY_HINT = ("set [data] edgar_identity in the config file or ALPHA_ENGINE_EDGAR_IDENTITY to "
                 "'Name email@example.com' (SEC fair-access policy: https://www.sec.gov/os/accessing-edgar-data)")

# "Name email": some words, then something that looks like an e-mail address.
_IDENTITY = re.compile(r"^\S.*\s[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_identity(identity: str | None) -> str:
    """``identity`` stripped, or ProviderAuthError when it is missing or not ``"Name email"``."""
    value = (identity or "").strip()
    if not value:
        raise ProviderAuthError(f"edgar: no User-Agent identity configured: {EDGAR_IDENTITY_HINT}")
    if not _IDENTITY.match(value):
        raise ProviderAuthError(f"edgar: the User-Agent identity {value!r} is not 'Name email': {EDGAR_IDENTITY_HINT}")
    return value


def cik10(cik: int | str) -> str:
    """The CIK as the 10-digit, zero-padded string SEC's data URLs use."""
    text = str(cik).strip()
    if not text.isdigit() or len(text) > 10:
        raise ValueError(f"edgar: CIK {cik!r} is not 1 to 10 digits")
    return text.zfill(10)


def _form4_xml_document(filing: Filing) -> str:
    """The raw XML of a Form 4. Submissions list its rendered view, ``xslF345X05/<name>.xml``; the
    XML itself is ``<name>.xml`` in the same folder."""
    document = filing.primary_document
    head, sep, tail = document.partition("/")
    return tail if sep and head.lower().startswith("xsl") else document


class EdgarClient:
    """SEC EDGAR over one retried, rate-limited HTTP client (see module docstring).

    Parameters
    ----------
    identity : str
        The ``User-Agent``: ``"Name email"``. Required.
    base_url : str, optional
        One server standing in for both SEC hosts (same paths); ``None`` or ``""`` = SEC.
    http : HttpSettings, optional
        Transport, timeout, retries, clock. ``requests_per_minute`` defaults to 600 (10/s), and a
        higher value is refused.
    """

    def __init__(self, identity: str | None, *, base_url: str | None = None,
                 http: HttpSettings | None = None) -> None:
        self.identity = check_identity(identity)
        http = http or HttpSettings()
        limit = EDGAR_MAX_REQUESTS_PER_SECOND * 60
        if http.requests_per_minute is not None and not (0 < http.requests_per_minute <= limit):
            raise ValueError(f"edgar: requests_per_minute must be in (0, {limit:g}] (SEC allows 10 requests "
                             f"per second), got {http.requests_per_minute}")
        base = (base_url or "").rstrip("/")
        self.archives_url = base or EDGAR_ARCHIVES_URL
        self.data_url = base or EDGAR_DATA_URL
        self._http = HttpClient("edgar", http, default_requests_per_minute=limit,
                                headers={"User-Agent": self.identity, "Accept-Encoding": "gzip, deflate"},
                                auth_statuses=(401, 403),
                                auth_hint=f"SEC refused the request; check the identity: {EDGAR_IDENTITY_HINT}")
        self._tickers: dict[str, CompanyTicker] | None = None

    def __enter__(self) -> EdgarClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- URLs ---------------------------------------------------------------------------------

    def company_tickers_url(self) -> str:
        return f"{self.archives_url}/files/company_tickers.json"

    def submissions_url(self, cik: int | str) -> str:
        return f"{self.data_url}/submissions/CIK{cik10(cik)}.json"

    def company_facts_url(self, cik: int | str) -> str:
        return f"{self.data_url}/api/xbrl/companyfacts/CIK{cik10(cik)}.json"

    def filing_url(self, cik: int | str, filing: Filing, document: str | None = None) -> str:
        """A document of the filing (its primary document by default)."""
        return (f"{self.archives_url}/Archives/edgar/data/{int(cik10(cik))}/{filing.accession_folder}/"
                f"{document or filing.primary_document}")

    # -- endpoints ----------------------------------------------------------------------------

    def ticker_map(self) -> dict[str, CompanyTicker]:
        """SEC's ticker -> CIK map, keyed by normalized ticker (fetched once per client)."""
        if self._tickers is None:
            url = self.company_tickers_url()
            self._tickers = parse_company_tickers(self._http.get_json(url), url)
        return self._tickers

    def lookup(self, ticker: str) -> CompanyTicker | None:
        """The company behind ``ticker`` (``BRK.B`` finds ``BRK-B``), None when SEC does not list it."""
        return self.ticker_map().get(normalize_ticker(ticker))

    def cik(self, ticker: str) -> int:
        """The CIK of ``ticker``; ProviderError when SEC's map does not list it."""
        company = self.lookup(ticker)
        if company is None:
            raise ProviderError(f"edgar: ticker {ticker!r} is not in SEC's ticker map ({self.company_tickers_url()})")
        return company.cik

    def submissions(self, cik: int | str) -> Submissions:
        """The company's identity and recent filings."""
        url = self.submissions_url(cik)
        return parse_submissions(self._http.get_json(url), url)

    def filing_document(self, cik: int | str, filing: Filing, document: str | None = None) -> bytes:
        """The bytes of one document of a filing (its primary document by default)."""
        return self._http.get(self.filing_url(cik, filing, document)).content

    def company_facts(self, cik: int | str) -> dict[str, Any] | None:
        """The company's XBRL facts, or None when SEC has none for it (HTTP 404: no XBRL filer)."""
        url = self.company_facts_url(cik)
        response = self._http.get(url, passthrough=(404,))
        if response.status_code == 404:
            return None
        payload = self._http.json_of(response)
        if not isinstance(payload, dict) or not isinstance(payload.get("facts"), dict):
            raise self._http.malformed(url, "no 'facts' object")
        return payload

    def form4(self, cik: int | str, filing: Filing) -> Form4:
        """A Form 4 filing's XML document, parsed."""
        document = _form4_xml_document(filing)
        return parse_form4(self.filing_document(cik, filing, document), self.filing_url(cik, filing, document))

    @staticmethod
    def insider_filings(submissions: Submissions, start: date, end: date) -> tuple[Filing, ...]:
        """The Form 4 filings (amendments left out: they restate) filed in ``[start, end]``, newest first."""
        return tuple(f for f in submissions.of_form("4") if start <= f.filing_date <= end)
