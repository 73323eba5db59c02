"""The ticker -> CIK map and a company's filing list, parsed from SEC's JSON.

Formats (as SEC documents them, https://www.sec.gov/edgar/sec-api-documentation):

* ``https://www.sec.gov/files/company_tickers.json``: an object keyed ``"0"``, ``"1"``, ... whose
  values are ``{"cik_str": 320193, "ticker": "AAPL", "title": "Apple Inc."}``.
* ``https://data.sec.gov/submissions/CIK##########.json``: the company (``cik``, ``name``,
  ``tickers``) and ``filings.recent``, a table in columns: parallel arrays ``accessionNumber``,
  ``filingDate``, ``reportDate``, ``form``, ``primaryDocument``, ... (at least a year or 1,000
  filings, newest first); older filings are in the pages ``filings.files`` names.

Parsers are pure; a payload without the documented shape raises :class:`ProviderError` naming
the source and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .._errors import ProviderError

__all__ = ["CompanyTicker", "Filing", "Submissions", "normalize_ticker", "parse_company_tickers",
           "parse_submissions"]


def normalize_ticker(ticker: str) -> str:
    """A ticker as SEC's map spells it: upper case, share classes with ``-`` (``BRK.B`` -> ``BRK-B``)."""
    return ticker.strip().upper().replace(".", "-").replace("/", "-")


@dataclass(frozen=True)
class CompanyTicker:
    """One row of SEC's ticker map."""

    ticker: str
    cik: int
    title: str


@dataclass(frozen=True)
class Filing:
    """One filing of a company's submissions: ``accession_number`` as SEC prints it (dashed)."""

    form: str
    accession_number: str
    filing_date: date
    report_date: date | None
    primary_document: str

    @property
    def accession_folder(self) -> str:
        """The accession number without dashes: the filing's folder under ``Archives/edgar/data/<cik>/``."""
        return self.accession_number.replace("-", "")


@dataclass(frozen=True)
class Submissions:
    """A company's identity and its recent filings, newest first as SEC lists them."""

    cik: int
    name: str
    tickers: tuple[str, ...]
    filings: tuple[Filing, ...]
    # Older filings live in further pages (``filings.files``); ``filings`` is the recent list only.
    has_older_pages: bool

    def of_form(self, *forms: str) -> tuple[Filing, ...]:
        wanted = set(forms)
        return tuple(f for f in self.filings if f.form in wanted)


def parse_company_tickers(payload: Any, source: str) -> dict[str, CompanyTicker]:
    """``company_tickers.json`` as a map from normalized ticker to its row (the first row wins
    when SEC lists a ticker twice)."""
    if not isinstance(payload, Mapping):
        raise ProviderError(f"edgar: {source}: expected an object of rows, got {type(payload).__name__}")
    out: dict[str, CompanyTicker] = {}
    for key in sorted(payload, key=lambda k: (len(str(k)), str(k))):
        row = payload[key]
        try:
            ticker, cik, title = str(row["ticker"]), int(row["cik_str"]), str(row["title"])
        except (TypeError, KeyError, ValueError):
            raise ProviderError(f"edgar: {source}: row {key!r} lacks ticker/cik_str/title: {row!r:.120}") from None
        out.setdefault(normalize_ticker(ticker), CompanyTicker(ticker=ticker, cik=cik, title=title))
    return out


def _date(value: Any, where: str, *, required: bool) -> date | None:
    if value in (None, "") and not required:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ProviderError(f"edgar: {where}: {value!r} is not a YYYY-MM-DD date") from None


def parse_submissions(payload: Any, source: str) -> Submissions:
    """A submissions document (see module docstring) as :class:`Submissions`."""
    if not isinstance(payload, Mapping):
        raise ProviderError(f"edgar: {source}: expected an object, got {type(payload).__name__}")
    try:
        recent = payload["filings"]["recent"]
        cik = int(payload["cik"])
    except (KeyError, TypeError, ValueError):
        raise ProviderError(f"edgar: {source}: no cik or filings.recent") from None
    columns = ("accessionNumber", "filingDate", "reportDate", "form", "primaryDocument")
    missing = [c for c in columns if not isinstance(recent.get(c), list)]
    if missing:
        raise ProviderError(f"edgar: {source}: filings.recent lacks the column(s) {', '.join(missing)}")
    lengths = {c: len(recent[c]) for c in columns}
    if len(set(lengths.values())) != 1:
        raise ProviderError(f"edgar: {source}: filings.recent columns differ in length: {lengths}")
    filings = []
    for i in range(lengths["form"]):
        where = f"{source}: filings.recent[{i}]"
        filing_date = _date(recent["filingDate"][i], f"{where}.filingDate", required=True)
        assert filing_date is not None
        filings.append(Filing(form=str(recent["form"][i]), accession_number=str(recent["accessionNumber"][i]),
                              filing_date=filing_date,
                              report_date=_date(recent["reportDate"][i], f"{where}.reportDate", required=False),
                              primary_document=str(recent["primaryDocument"][i])))
    tickers = payload.get("tickers") or []
    return Submissions(cik=cik, name=str(payload.get("name", "")),
                       tickers=tuple(str(t) for t in tickers if isinstance(t, str)),
                       filings=tuple(filings), has_older_pages=bool(payload["filings"].get("files")))
