"""Alternative data for promoted tickers (DataPhase2): insider transactions and company facts
from SEC EDGAR, as the body of ``alternative_data/{date}/insider.json``.

Point in time: the window is ``[run_date - window_days + 1, run_date]``; Form 4 filings filed in
it are read, and only their transactions dated in it count; company facts count only when filed
by ``run_date``. Bought = code ``P`` (open-market purchase), sold = code ``S`` (open-market sale);
grants, exercises, tax withholding and gifts are counted by code but are not buying or selling.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from alpha_engine.store import Artifact

from ._errors import DataError, ProviderAuthError, ProviderError

if TYPE_CHECKING:
    import httpx

    from alpha_engine.config import DataSettings

    from .edgar import EdgarClient, Filing, Form4

__all__ = ["EDGAR_SOURCE", "TickerSource", "collect_insider_data", "open_edgar_client", "skipped_insider_data",
           "summarize_insider"]

EDGAR_SOURCE = "sec-edgar"


@dataclass(frozen=True)
class TickerSource:
    """Where the tickers come from: an upstream artifact and its top-level ``field``, a list of
    tickers or of objects with a ``ticker`` key (so a signals file with rows fits too)."""

    artifact: Artifact
    field: str

    def tickers(self, payload: Any, key: str) -> list[str]:
        """The tickers in ``payload`` (read from ``key``), in order, without repeats."""
        rows = payload.get(self.field) if isinstance(payload, Mapping) else None
        if not isinstance(rows, list):
            raise DataError(f"{key}: no list at {self.field!r} to take the tickers from")
        out: list[str] = []
        for i, row in enumerate(rows):
            ticker = row.get("ticker") if isinstance(row, Mapping) else row
            if not isinstance(ticker, str) or not ticker.strip():
                raise DataError(f"{key}: {self.field}[{i}] is not a ticker: {row!r:.80}")
            if ticker not in out:
                out.append(ticker)
        return out


def open_edgar_client(data: DataSettings, *, transport: httpx.BaseTransport | None = None,
                      sleep: Callable[[float], None] | None = None,
                      monotonic: Callable[[], float] | None = None) -> EdgarClient:
    """The EDGAR client the settings describe (identity, base URL). DataPhase2 calls this module
    attribute, so a test can replace it with one over an ``httpx.MockTransport``."""
    from .edgar import EdgarClient
    from .providers import HttpSettings

    http = HttpSettings(transport=transport)  # the real clock unless a test injects one
    if sleep is not None:
        http = replace(http, sleep=sleep)
    if monotonic is not None:
        http = replace(http, monotonic=monotonic)
    return EdgarClient(data.edgar_identity, base_url=data.edgar_base_url or None, http=http)


def _money(value: float) -> float:
    return round(value, 2)


def summarize_insider(forms: Sequence[tuple[Filing, Form4]], start: date, end: date) -> dict[str, Any]:
    """Insider activity in ``[start, end]`` from parsed Form 4 filings (see module docstring)."""
    codes: Counter[str] = Counter()
    insiders: set[str] = set()
    buyers: set[str] = set()
    sellers: set[str] = set()
    bought = sold = value_bought = value_sold = 0.0
    unpriced = 0
    last: date | None = None
    transactions = 0
    for _, form in forms:
        rows = [t for t in form.transactions if start <= t.transaction_date <= end]
        owners = {owner.cik for owner in form.owners}
        if rows:
            insiders |= owners
        for row in rows:
            transactions += 1
            codes[row.code] += 1
            last = row.transaction_date if last is None else max(last, row.transaction_date)
            if row.code == "P" and row.acquired:
                buyers |= owners
                bought += row.shares
                value_bought += row.value or 0.0
                unpriced += row.value is None
            elif row.code == "S" and not row.acquired:
                sellers |= owners
                sold += row.shares
                value_sold += row.value or 0.0
                unpriced += row.value is None
    return {
        "filings": len(forms), "transactions": transactions, "insiders": len(insiders),
        "buyers": len(buyers), "sellers": len(sellers),
        "shares_bought": bought, "shares_sold": sold, "net_shares": bought - sold,
        "value_bought": _money(value_bought), "value_sold": _money(value_sold),
        "net_value": _money(value_bought - value_sold), "unpriced_trades": unpriced,
        "codes": dict(sorted(codes.items())),
        "last_transaction_date": last.isoformat() if last else None,
    }


def _facts(client: EdgarClient, cik: int, run_date: date) -> dict[str, Any] | None:
    from .edgar import annual_fact, latest_instant_fact

    facts = client.company_facts(cik)
    if facts is None:
        return None
    picks = {
        "shares_outstanding": latest_instant_fact(facts, "dei", ("EntityCommonStockSharesOutstanding",),
                                                  "shares", run_date),
        "revenue": annual_fact(facts, "us-gaap", ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax",
                                                  "SalesRevenueNet"), "USD", run_date),
        "net_income": annual_fact(facts, "us-gaap", ("NetIncomeLoss",), "USD", run_date),
    }
    return {name: fact.as_json() if fact else None for name, fact in picks.items()}


def _ticker_entry(client: EdgarClient, ticker: str, cik: int, company: str, run_date: date, start: date,
                  max_filings: int) -> dict[str, Any]:
    submissions = client.submissions(cik)
    filings = client.insider_filings(submissions, start, run_date)
    notes = []
    if len(filings) > max_filings:
        notes.append(f"{len(filings)} Form 4 filings in the window; the newest {max_filings} were read")
    oldest = submissions.filings[-1].filing_date if submissions.filings else None
    if submissions.has_older_pages and oldest is not None and oldest > start:
        notes.append(f"the recent filings list starts on {oldest.isoformat()}, after the window start")
    forms = [(f, client.form4(cik, f)) for f in filings[:max_filings]]
    return {"ticker": ticker, "cik": cik, "company": company,
            "insider": summarize_insider(forms, start, run_date),
            "facts": _facts(client, cik, run_date), "notes": notes, "error": None}


def collect_insider_data(client: EdgarClient, tickers: Sequence[str], run_date: date, *, window_days: int,
                         max_tickers: int, max_form4_filings: int, tickers_from: str,
                         log: Callable[[str], None] = lambda _: None) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The insider.json body for ``tickers`` (the first ``max_tickers``) and the run's warnings.

    A ticker SEC does not list is *unresolved*; a ticker whose requests fail is recorded with its
    error and the others go on. An identity SEC refuses, or every resolved ticker failing, raises.
    """
    start = run_date - timedelta(days=window_days - 1)
    warnings: list[str] = []
    chosen = list(tickers[:max_tickers])
    if len(tickers) > max_tickers:
        warnings.append(f"{len(tickers)} tickers from {tickers_from}; the first {max_tickers} were covered "
                        "(max_tickers)")
    rows: list[dict[str, Any]] = []
    unresolved: list[str] = []
    for ticker in chosen:
        company = client.lookup(ticker)
        if company is None:
            unresolved.append(ticker)
            continue
        log(f"{ticker}: CIK {company.cik}")
        try:
            rows.append(_ticker_entry(client, ticker, company.cik, company.title, run_date, start, max_form4_filings))
        except ProviderAuthError:
            raise
        except ProviderError as exc:
            warnings.append(f"{ticker}: {exc}")
            rows.append({"ticker": ticker, "cik": company.cik, "company": company.title, "insider": None,
                         "facts": None, "notes": [], "error": str(exc)})
    failed = [r["ticker"] for r in rows if r["error"]]
    if rows and len(failed) == len(rows):
        raise ProviderError(f"edgar: every ticker failed ({', '.join(failed)}); first error: {rows[0]['error']}")
    if unresolved:
        warnings.append(f"not in SEC's ticker map: {', '.join(unresolved)}")
    for row in rows:
        warnings.extend(f"{row['ticker']}: {note}" for note in row["notes"])
    body = {
        "run_date": run_date.isoformat(), "status": "ok", "reason": None,
        "source": {"provider": EDGAR_SOURCE, "tickers_from": tickers_from},
        "window": {"start": start.isoformat(), "end": run_date.isoformat(), "days": window_days},
        "counts": {"requested": len(tickers), "covered": len(rows) - len(failed), "unresolved": len(unresolved),
                   "failed": len(failed)},
        "unresolved": unresolved,
        "tickers": sorted(rows, key=lambda r: r["ticker"]),
    }
    return body, tuple(warnings)


def skipped_insider_data(run_date: date, reason: str, tickers_from: str) -> dict[str, Any]:
    """The insider.json body of a run that fetched nothing, and why."""
    return {"run_date": run_date.isoformat(), "status": "skipped", "reason": reason,
            "source": {"provider": None, "tickers_from": tickers_from}, "window": None,
            "counts": {"requested": 0, "covered": 0, "unresolved": 0, "failed": 0},
            "unresolved": [], "tickers": []}
