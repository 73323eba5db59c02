"""The RAG EDGAR source's :class:`~alpha_engine.rag.FilingFetcher`, backed by the data package's
:class:`~alpha_engine.data.edgar.EdgarClient` (declared identity, at most 10 requests per second,
retries on 429/5xx/timeouts).

This is the one place the two packages meet: rag declares the protocol, data owns the client,
and the client's errors become rag's here (:data:`EDGAR_ERROR_MAP`), at one boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from alpha_engine.data import ProviderAuthError, ProviderError
from alpha_engine.rag import EdgarCompany, EdgarFiling, FilingAccessError, FilingFetchError, FilingList

if TYPE_CHECKING:
    from alpha_engine.data.edgar import EdgarClient

__all__ = ["EDGAR_ERROR_MAP", "EdgarClientFetcher"]

T = TypeVar("T")

# The client's errors -> rag's, most specific first: SEC refusing the identity stops the source;
# any other failed request (after retries, or a payload without SEC's documented shape) is one
# failed filing list or document.
EDGAR_ERROR_MAP: tuple[tuple[type[Exception], type[FilingFetchError]], ...] = (
    (ProviderAuthError, FilingAccessError),
    (ProviderError, FilingFetchError),
)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ProviderError as exc:
        target = next(rag for data, rag in EDGAR_ERROR_MAP if isinstance(exc, data))
        raise target(str(exc)) from exc


class EdgarClientFetcher:
    """:class:`~alpha_engine.rag.FilingFetcher` over ``client`` (which it closes)."""

    def __init__(self, client: EdgarClient) -> None:
        self.client = client

    def _call(self, request: Callable[[], T]) -> T:
        with _translated():
            return request()

    def company(self, ticker: str) -> EdgarCompany | None:
        found = self._call(lambda: self.client.lookup(ticker))
        return None if found is None else EdgarCompany(ticker=found.ticker, cik=found.cik, name=found.title)

    def filings(self, cik: int) -> FilingList:
        submissions = self._call(lambda: self.client.submissions(cik))
        filings = tuple(EdgarFiling(cik=cik, form=f.form, accession_number=f.accession_number,
                                    filing_date=f.filing_date, primary_document=f.primary_document)
                        for f in submissions.filings)
        since = filings[-1].filing_date if submissions.has_older_pages and filings else None
        return FilingList(filings, since)

    def document(self, filing: EdgarFiling) -> bytes:
        from alpha_engine.data.edgar import Filing

        listed = Filing(form=filing.form, accession_number=filing.accession_number, filing_date=filing.filing_date,
                        report_date=None, primary_document=filing.primary_document)
        return self._call(lambda: self.client.filing_document(filing.cik, listed))

    def close(self) -> None:
        self.client.close()
