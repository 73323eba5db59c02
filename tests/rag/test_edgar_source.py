"""fetch_filings over a fake FilingFetcher: which filings, the caps, known and unsupported filings
(never requested), failures, and the index rebuild that fetches known filings again."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from alpha_engine.rag import (
    EdgarCompany,
    EdgarFiling,
    EdgarOptions,
    FilingAccessError,
    FilingFetchError,
    FilingList,
    HashingEmbedder,
    RagIndex,
    SourceError,
    edgar_tickers,
    fetch_filings,
)

DAY = date(2022, 12, 31)
HTML = b"<html><body><p>Quarterly results: revenue grew.</p></body></html>"


def _filing(cik: int, n: int, form: str, filed: str, document: str = "doc.htm") -> EdgarFiling:
    return EdgarFiling(cik, form, f"0000000000-22-{n:06d}", date.fromisoformat(filed), document)


@dataclass
class FakeEdgar:
    """Companies by ticker, filings by CIK; ``broken``: accession numbers whose download fails."""

    companies: dict[str, EdgarCompany]
    listed: dict[int, tuple[EdgarFiling, ...]]
    broken: set[str] = field(default_factory=set)
    unlisted: set[int] = field(default_factory=set)
    listed_since: date | None = None
    asked: list[str] = field(default_factory=list)

    def company(self, ticker: str) -> EdgarCompany | None:
        return self.companies.get(ticker)

    def filings(self, cik: int) -> FilingList:
        if cik in self.unlisted:
            raise FilingFetchError(f"submissions of {cik}: HTTP 503")
        return FilingList(self.listed.get(cik, ()), self.listed_since)

    def document(self, filing: EdgarFiling) -> bytes:
        self.asked.append(filing.accession_number)
        if filing.accession_number in self.broken:
            raise FilingFetchError(f"{filing.primary_document}: HTTP 500 after 2 attempts")
        return HTML

    def close(self) -> None:
        pass


def _acme(*filings: EdgarFiling) -> FakeEdgar:
    return FakeEdgar({"ACME": EdgarCompany("ACME", 42, "Acme Corp")}, {42: filings})


def _fetch(fake: FakeEdgar, known: dict[str, str] | None = None, tickers: tuple[str, ...] = ("ACME",),
           **options: object):
    return fetch_filings(fake, tickers, run_date=DAY, options=EdgarOptions.model_validate(options),
                         known=known or {}, tickers_from="test")


def test_only_listed_forms_filed_in_the_window_are_read_newest_first_up_to_the_cap() -> None:
    fake = _acme(_filing(42, 1, "8-K", "2023-01-03"), _filing(42, 2, "10-K", "2022-12-30"),
                 _filing(42, 3, "10-K/A", "2022-12-29"), _filing(42, 4, "10-Q", "2022-12-02"),
                 _filing(42, 5, "8-K", "2022-12-01"), _filing(42, 6, "10-Q", "2022-11-30"))
    source = _fetch(fake, lookback_days=31, max_filings_per_ticker=2)
    assert fake.asked == ["0000000000-22-000002", "0000000000-22-000004"]
    assert [d.source_id for d in source.documents()] == ["edgar:42:0000000000-22-000002", "edgar:42:0000000000-22-000004"]
    assert source.report["window"] == {"start": "2022-12-01", "end": "2022-12-31", "days": 31}
    assert source.report["notes"] == ["ACME: 3 filings in the window; the newest 2 were read (max_filings_per_ticker)"]
    document = next(source.documents())
    assert document.content_hash == hashlib.sha256(HTML).hexdigest()
    assert document.load() == "Quarterly results: revenue grew."


def test_known_and_unsupported_filings_are_never_requested() -> None:
    fake = _acme(_filing(42, 1, "10-K", "2022-10-28"), _filing(42, 2, "10-Q", "2022-07-29", "scan.tif"),
                 _filing(42, 3, "10-Q", "2022-04-29"))
    source = _fetch(fake, known={"edgar:42:0000000000-22-000001": "f" * 64, "documents:x.md": "0" * 64})
    assert fake.asked == ["0000000000-22-000003"]
    counts = source.report["counts"]
    assert (counts["known"], counts["unsupported"], counts["fetched"]) == (1, 1, 1)
    known = next(d for d in source.documents() if d.source_id.endswith("-000001"))
    assert known.content_hash == "f" * 64  # as the index holds it: the ingestion sees it unchanged


def test_tickers_beyond_max_tickers_are_not_covered() -> None:
    companies = {t: EdgarCompany(t, i, t) for i, t in enumerate(("AAA", "BBB", "CCC"), start=1)}
    fake = FakeEdgar(companies, {i: (_filing(i, i, "10-K", "2022-10-01"),) for i in (1, 2, 3)})
    source = _fetch(fake, tickers=("AAA", "BBB", "CCC"), max_tickers=2)
    assert source.report["counts"]["tickers"] == 2 and len(fake.asked) == 2
    assert source.report["notes"][0] == "3 tickers from test; the first 2 were covered (max_tickers)"


def test_the_candidates_come_first_then_the_rest_of_the_universe_sorted() -> None:
    assert edgar_tickers(["MSFT", "AAPL", "XOM", "BRK.B"], ["XOM", "NOTIN", "AAPL", "XOM"]) == [
        "XOM", "AAPL", "BRK.B", "MSFT"]


def test_a_failed_download_is_recorded_and_the_others_kept() -> None:
    fake = _acme(_filing(42, 1, "10-K", "2022-10-28"), _filing(42, 2, "10-Q", "2022-07-29"))
    fake.broken = {"0000000000-22-000001"}
    source = _fetch(fake)
    assert source.report["failures"] == [{"ticker": "ACME", "cik": 42, "accession_number": "0000000000-22-000001",
                                          "form": "10-K", "error": "doc.htm: HTTP 500 after 2 attempts"}]
    assert source.warnings == ("EDGAR ACME: 10-K 0000000000-22-000001: doc.htm: HTTP 500 after 2 attempts",)
    assert [d.source_id for d in source.documents()] == ["edgar:42:0000000000-22-000002"]


def test_every_download_failing_raises() -> None:
    fake = _acme(_filing(42, 1, "10-K", "2022-10-28"))
    fake.broken = {"0000000000-22-000001"}
    with pytest.raises(SourceError, match="every filing download failed"):
        _fetch(fake)


def test_nothing_to_download_is_not_a_failure() -> None:
    source = _fetch(_acme(_filing(42, 1, "10-K", "2022-10-28")), known={"edgar:42:0000000000-22-000001": "a" * 64})
    assert source.report["counts"]["failed"] == 0


def test_sec_refusing_the_identity_stops_at_once() -> None:
    class Refused(FakeEdgar):
        def filings(self, cik: int) -> FilingList:
            raise FilingAccessError("HTTP 403: check the identity")

    fake = Refused({"ACME": EdgarCompany("ACME", 42, "Acme")}, {})
    with pytest.raises(FilingAccessError):
        _fetch(fake)


def test_a_listing_cut_short_after_the_window_start_is_noted() -> None:
    fake = _acme(_filing(42, 1, "10-K", "2022-10-28"))
    fake.listed_since = date(2022, 6, 1)
    notes = _fetch(fake).report["notes"]
    assert notes == ["ACME: SEC's recent filings list starts on 2022-06-01, after the window start; older filings "
                     "are not read"]


def test_a_rebuilt_index_fetches_known_filings_again_and_checks_their_hash(tmp_path: Path) -> None:
    fake = _acme(_filing(42, 1, "10-K", "2022-10-28"))
    with RagIndex(tmp_path / "index.sqlite") as index:
        index.ingest([_fetch(fake)], HashingEmbedder(64))
        fake.asked.clear()
        source = _fetch(fake, known=index.document_hashes())
        assert fake.asked == []
        stats = index.ingest([source], HashingEmbedder(64), chunk_size=600, chunk_overlap=100)  # another chunking
        assert stats.rebuilt and fake.asked == ["0000000000-22-000001"]
        tampered = _fetch(fake, known={"edgar:42:0000000000-22-000001": "0" * 64})
        with pytest.raises(SourceError, match="changed since it was indexed"):
            index.ingest([tampered], HashingEmbedder(64), chunk_size=800, chunk_overlap=100)


@pytest.mark.parametrize("forms", [(), ("10-K", " ")])
def test_forms_must_be_named(forms: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="forms must name at least one form"):
        EdgarOptions(forms=forms)
