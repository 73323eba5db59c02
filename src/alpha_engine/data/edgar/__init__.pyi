from ._client import (
    EDGAR_ARCHIVES_URL,
    EDGAR_DATA_URL,
    EDGAR_IDENTITY_HINT,
    EDGAR_MAX_REQUESTS_PER_SECOND,
    EdgarClient,
    check_identity,
    cik10,
)
from ._facts import CompanyFact, annual_fact, latest_instant_fact
from ._filings import (
    CompanyTicker,
    Filing,
    Submissions,
    normalize_ticker,
    parse_company_tickers,
    parse_submissions,
)
from ._form4 import Form4, InsiderTransaction, ReportingOwner, parse_form4

__all__ = [
    "EDGAR_ARCHIVES_URL",
    "EDGAR_DATA_URL",
    "EDGAR_IDENTITY_HINT",
    "EDGAR_MAX_REQUESTS_PER_SECOND",
    "CompanyFact",
    "CompanyTicker",
    "EdgarClient",
    "Filing",
    "Form4",
    "InsiderTransaction",
    "ReportingOwner",
    "Submissions",
    "annual_fact",
    "check_identity",
    "cik10",
    "latest_instant_fact",
    "normalize_ticker",
    "parse_company_tickers",
    "parse_form4",
    "parse_submissions",
]
