"""SEC EDGAR filings as a RAG source: the primary document of each recent filing, as text.

The rag package may not import the data package's EDGAR client (a domain imports another
domain's ``Artifact`` constants only), so it declares what it needs: :class:`FilingFetcher`
(look a ticker up, list a company's recent filings, fetch a filing's primary document) and the
resource :data:`EDGAR_FILINGS`. The composition root (``app/_resources.py``) opens one backed by
``alpha_engine.data.edgar.EdgarClient`` (declared identity, 10 requests per second, retries), or
gives None when no EDGAR identity is configured.

:func:`fetch_filings` does every request of one ingestion *before* the index is written, and
returns an :class:`EdgarSource` (a :class:`~alpha_engine.rag.Source` over what it fetched) with
its report:

* **Which filings**: for each ticker (the first ``max_tickers``), the filings of ``forms`` filed
  in ``[run_date - lookback_days + 1, run_date]``, newest first, at most
  ``max_filings_per_ticker``. Tickers that share a company (``BRK-A``/``BRK-B``) are read once.
* **Source id** ``edgar:<cik>:<accession number>``. Filings are immutable, so a filing whose id the
  index already holds (``known``) is not fetched again: its document keeps the stored hash. Only
  when the index is rebuilt (another embedder or chunking) is it fetched again, to re-chunk it.
* **Failures**: a filing list or a document that cannot be fetched (or whose text cannot be
  extracted) is recorded (ticker, accession, why) and the rest goes on; it is retried on the next
  run, since it is not in the index. A company whose filing list failed keeps the filings the index
  holds for it. SEC refusing the identity (:class:`FilingAccessError`), SEC's ticker map being
  unreadable, every filing list failing, or every download failing raises
  :class:`~alpha_engine.rag.SourceError`: the stage is hard, and nothing is written.
* The source yields exactly the filings of this run's window: a filing that aged out of the window,
  or whose ticker is no longer covered, leaves the index (as a deleted file leaves the folder's).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alpha_engine.data import CANDIDATES, WEEKLY_CONSTITUENTS
from alpha_engine.pipeline import Resource, StageContext

from ._errors import ExtractionError, FilingAccessError, FilingFetchError, SourceError
from ._extract import SUFFIXES, extract_text
from ._sources import Document

__all__ = ["EDGAR_FILINGS", "EDGAR_SOURCE", "NO_IDENTITY", "EdgarCompany", "EdgarFiling", "EdgarOptions", "EdgarSource",
           "FilingFetcher", "FilingList", "check_edgar_inputs", "edgar_source", "edgar_source_id", "edgar_tickers",
           "fetch_filings", "skipped_edgar"]

EDGAR_SOURCE = "edgar"


def edgar_source_id(cik: int, accession_number: str) -> str:
    """``edgar:<cik>:<accession number>`` (the CIK without leading zeros, the accession as SEC prints it)."""
    return f"{EDGAR_SOURCE}:{int(cik)}:{accession_number}"


@dataclass(frozen=True)
class EdgarCompany:
    """A company SEC's ticker map lists: ``ticker`` as SEC spells it."""

    ticker: str
    cik: int
    name: str


@dataclass(frozen=True)
class EdgarFiling:
    """One filing: ``accession_number`` dashed, as SEC prints it; ``primary_document`` its file name."""

    cik: int
    form: str
    accession_number: str
    filing_date: date
    primary_document: str

    @property
    def source_id(self) -> str:
        return edgar_source_id(self.cik, self.accession_number)


@dataclass(frozen=True)
class FilingList:
    """A company's recent filings, newest first. ``listed_since``: the oldest filing's date when SEC's
    recent list is cut short (older filings are on further pages, not read); None when it is complete."""

    filings: tuple[EdgarFiling, ...]
    listed_since: date | None = None


class FilingFetcher(Protocol):
    """What the EDGAR source needs from an EDGAR client. Every method raises
    :class:`FilingFetchError` when a request fails, :class:`FilingAccessError` when SEC refuses it."""

    def company(self, ticker: str) -> EdgarCompany | None:
        """The company behind ``ticker``, None when SEC's ticker map does not list it."""
        ...

    def filings(self, cik: int) -> FilingList:
        """The company's recent filings, newest first."""
        ...

    def document(self, filing: EdgarFiling) -> bytes:
        """The bytes of the filing's primary document."""
        ...

    def close(self) -> None: ...


EDGAR_FILINGS: Resource[FilingFetcher | None] = Resource(
    "edgar-filings", "SEC EDGAR filings for RAGIngestion, through the EDGAR client of [data] edgar_identity "
                     "(10 requests/s, retried); None when no EDGAR identity is configured")


class EdgarOptions(BaseModel):
    """``[stages.rag-ingestion.edgar]``: which filings the EDGAR source reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # false: the source is off (SKIPPED), even with an EDGAR identity.
    enabled: bool = True
    # The first N tickers: the Scanner's candidates first, then the rest of the universe by ticker.
    max_tickers: int = Field(default=100, ge=1)
    # Forms as SEC names them; an amendment ("10-K/A") only if listed.
    forms: tuple[str, ...] = ("10-K", "10-Q", "8-K")
    # Filings filed in the lookback_days ending on the run date.
    lookback_days: int = Field(default=365, ge=1, le=3660)
    # Per company, newest first.
    max_filings_per_ticker: int = Field(default=20, ge=1)

    @field_validator("forms")
    @classmethod
    def _forms_named(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not form.strip() for form in value):
            raise ValueError("forms must name at least one form, each non-empty (e.g. '10-K')")
        return value


def edgar_tickers(universe: Sequence[str], candidates: Sequence[str]) -> list[str]:
    """The order tickers are covered in: the Scanner's candidates that are in the universe (their
    order: strongest momentum first), then the rest of the universe sorted."""
    members = set(universe)
    first = list(dict.fromkeys(t for t in candidates if t in members))
    chosen = set(first)
    return first + sorted(t for t in members if t not in chosen)


@dataclass(frozen=True)
class _Failure:
    ticker: str
    cik: int | None
    accession_number: str | None
    form: str | None
    error: str

    def as_json(self) -> dict[str, Any]:
        return {"ticker": self.ticker, "cik": self.cik, "accession_number": self.accession_number,
                "form": self.form, "error": self.error}

    def __str__(self) -> str:
        what = f"{self.form} {self.accession_number}" if self.accession_number else "filing list"
        return f"{self.ticker}: {what}: {self.error}"


@dataclass(frozen=True)
class EdgarSource:
    """The filings one :func:`fetch_filings` found, as a :class:`~alpha_engine.rag.Source`, and its report."""

    fetched: tuple[Document, ...]
    report: Mapping[str, Any] = field(compare=False)
    warnings: tuple[str, ...] = ()
    name: str = EDGAR_SOURCE

    def check(self) -> None:
        """Nothing to check: the requests were made by :func:`fetch_filings`."""

    def documents(self) -> Iterator[Document]:
        yield from sorted(self.fetched, key=lambda d: d.source_id)


def _window(run_date: date, options: EdgarOptions) -> dict[str, Any]:
    start = run_date - timedelta(days=options.lookback_days - 1)
    return {"start": start.isoformat(), "end": run_date.isoformat(), "days": options.lookback_days}


def skipped_edgar(reason: str, tickers_from: str, run_date: date, options: EdgarOptions) -> dict[str, Any]:
    """The report of an EDGAR source that made no request, and why."""
    return {"status": "skipped", "reason": reason, "tickers_from": tickers_from, "forms": list(options.forms),
            "window": _window(run_date, options),
            "counts": {"tickers": 0, "companies": 0, "unresolved": 0, "filings": 0, "known": 0, "fetched": 0,
                       "failed": 0, "unsupported": 0, "retained": 0},
            "unresolved": [], "failures": [], "notes": []}


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _text(fetcher: FilingFetcher, filing: EdgarFiling, digest: str | None = None) -> tuple[str, str]:
    """The filing's primary document as (sha256 of its bytes, text); raises FilingFetchError or
    ExtractionError. ``digest``: the hash the index holds, which the bytes must still have."""
    data = fetcher.document(filing)
    found = hashlib.sha256(data).hexdigest()
    if digest is not None and found != digest:
        raise SourceError(f"EDGAR filing {filing.source_id} ({filing.primary_document}) changed since it was "
                          "indexed, but filings are immutable: delete the index file and ingest again")
    return found, extract_text(filing.primary_document, data)


def _refetch(fetcher: FilingFetcher, filing: EdgarFiling, digest: str) -> str:
    """An indexed filing's text, fetched again (only when the index is rebuilt)."""
    try:
        return _text(fetcher, filing, digest)[1]
    except (FilingFetchError, ExtractionError) as exc:
        raise SourceError(f"rebuilding the RAG index fetches every EDGAR filing again; {filing.source_id} "
                          f"failed: {exc}; run again") from exc


def _given(text: str) -> str:
    return text


def _unavailable(source_id: str) -> str:
    raise SourceError(f"rebuilding the RAG index needs {source_id} again, but its company's filing list could not "
                      "be read this run; run again")


def _retained(known: Mapping[str, str], cik: int) -> list[Document]:
    prefix = edgar_source_id(cik, "")
    return [Document(sid, digest, functools.partial(_unavailable, sid))
            for sid, digest in sorted(known.items()) if sid.startswith(prefix)]


def fetch_filings(fetcher: FilingFetcher, tickers: Sequence[str], *, run_date: date, options: EdgarOptions,
                  known: Mapping[str, str], tickers_from: str,
                  log: Callable[[str], None] = lambda _: None) -> EdgarSource:
    """Every request of one EDGAR ingestion (see the module docstring). ``tickers`` in coverage order,
    ``known``: source id -> content hash of the documents the index holds."""
    window = _window(run_date, options)
    start = date.fromisoformat(window["start"])
    wanted_forms = set(options.forms)
    chosen = list(dict.fromkeys(tickers))[:options.max_tickers]
    notes: list[str] = []
    if len(set(tickers)) > options.max_tickers:
        notes.append(f"{len(set(tickers))} tickers from {tickers_from}; the first {options.max_tickers} were "
                     "covered (max_tickers)")
    documents: list[Document] = []
    failures: list[_Failure] = []
    unresolved: list[str] = []
    companies: dict[int, str] = {}
    counts = dict.fromkeys(("filings", "known", "fetched", "unsupported", "retained"), 0)
    listings = listing_failures = downloads = download_failures = 0
    for ticker in chosen:
        try:
            company = fetcher.company(ticker)
        except FilingAccessError:
            raise
        except FilingFetchError as exc:
            raise SourceError(f"EDGAR: cannot read SEC's ticker map, so no filing can be found: {exc}") from exc
        if company is None:
            unresolved.append(ticker)
            continue
        if company.cik in companies:
            notes.append(f"{ticker}: same company as {companies[company.cik]} (CIK {company.cik}), read once")
            continue
        companies[company.cik] = ticker
        listings += 1
        try:
            listed = fetcher.filings(company.cik)
        except FilingAccessError:
            raise
        except FilingFetchError as exc:
            listing_failures += 1
            failures.append(_Failure(ticker, company.cik, None, None, str(exc)))
            kept = _retained(known, company.cik)
            counts["retained"] += len(kept)
            documents.extend(kept)
            continue
        if listed.listed_since is not None and listed.listed_since > start:
            notes.append(f"{ticker}: SEC's recent filings list starts on {listed.listed_since.isoformat()}, after "
                         "the window start; older filings are not read")
        in_window = sorted((f for f in listed.filings if f.form in wanted_forms and start <= f.filing_date <= run_date),
                           key=lambda f: (f.filing_date, f.accession_number), reverse=True)
        if len(in_window) > options.max_filings_per_ticker:
            notes.append(f"{ticker}: {len(in_window)} filings in the window; the newest "
                         f"{options.max_filings_per_ticker} were read (max_filings_per_ticker)")
            in_window = in_window[:options.max_filings_per_ticker]
        log(f"EDGAR {ticker} (CIK {company.cik}): {len(in_window)} filing(s) in the window")
        for filing in in_window:
            counts["filings"] += 1
            sid = filing.source_id
            if sid in known:
                counts["known"] += 1
                documents.append(Document(sid, known[sid], functools.partial(_refetch, fetcher, filing, known[sid])))
                continue
            if _suffix(filing.primary_document) not in SUFFIXES:
                counts["unsupported"] += 1
                notes.append(f"{ticker}: {filing.form} {filing.accession_number}: primary document "
                             f"{filing.primary_document!r} is not a supported type; not read")
                continue
            downloads += 1
            try:
                digest, text = _text(fetcher, filing)
            except FilingAccessError:
                raise
            except (FilingFetchError, ExtractionError) as exc:
                download_failures += 1
                failures.append(_Failure(ticker, company.cik, filing.accession_number, filing.form, str(exc)))
                continue
            counts["fetched"] += 1
            documents.append(Document(sid, digest, functools.partial(_given, text)))
    failures.sort(key=lambda f: (f.ticker, f.accession_number or ""))
    if listings and listing_failures == listings:
        raise SourceError(f"EDGAR: every filing list failed ({listings} companies); nothing was ingested. "
                          f"First: {failures[0]}. Run again later, or set [stages.rag-ingestion.edgar] enabled = false")
    if downloads and download_failures == downloads:
        raise SourceError(f"EDGAR: every filing download failed ({downloads}); nothing was ingested. "
                          f"First: {next(f for f in failures if f.accession_number)}. Run again later, or set "
                          "[stages.rag-ingestion.edgar] enabled = false")
    report = {
        "status": "ok", "reason": None, "tickers_from": tickers_from, "forms": list(options.forms), "window": window,
        "counts": {"tickers": len(chosen), "companies": len(companies), "unresolved": len(unresolved),
                   "filings": counts["filings"], "known": counts["known"], "fetched": counts["fetched"],
                   "failed": len(failures), "unsupported": counts["unsupported"], "retained": counts["retained"]},
        "unresolved": unresolved, "failures": [f.as_json() for f in failures], "notes": notes,
    }
    warnings = [f"EDGAR {failure}" for failure in failures]
    if unresolved:
        warnings.append(f"EDGAR: not in SEC's ticker map: {', '.join(unresolved)}")
    return EdgarSource(tuple(documents), report, tuple(warnings))


NO_IDENTITY = ("no EDGAR identity configured: set [data] edgar_identity in the config file or "
               "ALPHA_ENGINE_EDGAR_IDENTITY to 'Name email@example.com' (SEC's fair-access policy requires a "
               "declared User-Agent)")


def _tickers_from(ctx: StageContext[Any]) -> tuple[str, list[str]]:
    """Where the tickers come from (for the report) and the tickers, in coverage order."""
    universe_key, candidates_key = ctx.key(WEEKLY_CONSTITUENTS), ctx.key(CANDIDATES)
    universe = [str(t) for t in ctx.artifacts.read_json(universe_key)["tickers"]]
    if not ctx.artifacts.exists(candidates_key):
        return universe_key, edgar_tickers(universe, [])
    candidates = [str(t) for t in ctx.artifacts.read_json(candidates_key)["candidates"]]
    return f"{universe_key} ({candidates_key} first)", edgar_tickers(universe, candidates)


def check_edgar_inputs(ctx: StageContext[Any], options: EdgarOptions) -> None:
    """Preflight, read-only and offline: the universe (and the Scanner's candidates) read, when present."""
    if options.enabled and not ctx.is_pending(WEEKLY_CONSTITUENTS) and ctx.artifacts.exists(ctx.key(WEEKLY_CONSTITUENTS)):
        _tickers_from(ctx)


def edgar_source(ctx: StageContext[Any], options: EdgarOptions,
                 known: Mapping[str, str]) -> tuple[EdgarSource | None, dict[str, Any]]:
    """The EDGAR source of one RAGIngestion run and its report; (None, the skipped report) when it is
    off, no identity is configured, or there is no universe to take tickers from."""
    universe_key = ctx.key(WEEKLY_CONSTITUENTS)
    if not options.enabled:
        return None, skipped_edgar("[stages.rag-ingestion.edgar] enabled is false", universe_key, ctx.run_date, options)
    fetcher = ctx.resource(EDGAR_FILINGS)
    if fetcher is None:
        return None, skipped_edgar(NO_IDENTITY, universe_key, ctx.run_date, options)
    try:
        if not ctx.artifacts.exists(universe_key):
            reason = f"no tickers: {universe_key} is absent (DataPhase1 failed or was skipped)"
            return None, skipped_edgar(reason, universe_key, ctx.run_date, options)
        tickers_from, tickers = _tickers_from(ctx)
        edgar_known = {k: v for k, v in known.items() if k.startswith(EDGAR_SOURCE + ":")}
        source = fetch_filings(fetcher, tickers, run_date=ctx.run_date, options=options, known=edgar_known,
                               tickers_from=tickers_from, log=ctx.logger.info)
        return source, dict(source.report)
    finally:
        fetcher.close()
