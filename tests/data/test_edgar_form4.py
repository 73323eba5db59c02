"""Form 4 parsing, point-in-time company facts and the insider summary, on hand-written SEC documents."""

from __future__ import annotations

import json
from datetime import date

import pytest
from edgar_support import EDGAR_FIXTURES

from alpha_engine.data import ProviderError
from alpha_engine.data._alternative import summarize_insider
from alpha_engine.data.edgar import Filing, annual_fact, latest_instant_fact, parse_form4


def form4(name: str):  # type: ignore[no-untyped-def]
    return parse_form4((EDGAR_FIXTURES / name).read_bytes(), name)


def test_the_non_derivative_table_is_read_row_by_row() -> None:
    form = form4("form4_aapl_sale.xml")
    assert (form.issuer_cik, form.issuer_name, form.issuer_ticker) == ("320193", "Apple Inc.", "AAPL")
    assert form.period_of_report == date(2022, 11, 30)
    (owner,) = form.owners
    assert (owner.cik, owner.name, owner.is_officer, owner.is_director, owner.officer_title) == (
        "1000001", "EXAMPLE OFFICER A", True, False, "Senior Vice President")
    exercise, sale, by_trust = form.transactions  # the derivative table is not read
    assert (exercise.code, exercise.shares, exercise.acquired) == ("M", 20000.0, True)
    assert (sale.code, sale.transaction_date, sale.shares, sale.price, sale.acquired) == (
        "S", date(2022, 11, 30), 12500.0, 146.40, False)
    assert sale.value == pytest.approx(1_830_000.0) and sale.shares_owned_after == 107500.0 and sale.direct
    assert by_trust.price is None and by_trust.value is None and not by_trust.direct  # price by footnote only


def test_a_joint_filing_has_every_reporting_owner() -> None:
    form = form4("form4_aapl_purchase.xml")
    assert [(o.cik, o.is_director) for o in form.owners] == [("1000002", True), ("1000003", False)]
    assert [t.code for t in form.transactions] == ["P", "G"]


@pytest.mark.parametrize(("xml", "message"), [
    (b"<ownershipDocument><documentType>4", "not well-formed XML"),
    (b"<html/>", "root element is <html>"),
    (b"<ownershipDocument><documentType>3</documentType></ownershipDocument>", "documentType is '3'"),
    (b"<ownershipDocument><documentType>4</documentType><issuer><issuerCik>1</issuerCik></issuer>"
     b"<reportingOwner><reportingOwnerId><rptOwnerCik>2</rptOwnerCik></reportingOwnerId></reportingOwner>"
     b"<nonDerivativeTable><nonDerivativeTransaction><transactionDate><value>2022-01-03</value></transactionDate>"
     b"<transactionAmounts><transactionShares><value>ten</value></transactionShares></transactionAmounts>"
     b"</nonDerivativeTransaction></nonDerivativeTable></ownershipDocument>",
     r"doc\.xml: nonDerivativeTransaction\[0\]: .*transactionShares/value is 'ten'"),
])
def test_a_bad_document_names_the_source_and_the_problem(xml: bytes, message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        parse_form4(xml, "doc.xml")


def _filing(day: str) -> Filing:
    return Filing("4", "0000000000-22-000001", date.fromisoformat(day), None, "doc.xml")


def test_the_insider_summary_counts_open_market_trades_in_the_window() -> None:
    forms = [(_filing("2022-12-02"), form4("form4_aapl_sale.xml")),
             (_filing("2022-11-10"), form4("form4_aapl_purchase.xml"))]
    summary = summarize_insider(forms, date(2022, 10, 3), date(2022, 12, 31))
    assert summary == {
        "filings": 2, "transactions": 4,  # the gift of 2022-09-28 is before the window
        "insiders": 3, "buyers": 2, "sellers": 1,  # both owners of the joint filing bought
        "shares_bought": 1000.0, "shares_sold": 17500.0, "net_shares": -16500.0,
        "value_bought": 139500.0, "value_sold": 1830000.0, "net_value": -1690500.0,
        "unpriced_trades": 1, "codes": {"M": 1, "P": 1, "S": 2}, "last_transaction_date": "2022-12-01",
    }


def test_an_empty_window_summarizes_to_zeros() -> None:
    summary = summarize_insider([], date(2022, 10, 3), date(2022, 12, 31))
    assert summary["insiders"] == 0 and summary["net_value"] == 0.0 and summary["last_transaction_date"] is None


FACTS = json.loads((EDGAR_FIXTURES / "companyfacts_CIK0000320193.json").read_text())
REVENUE = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax", "SalesRevenueNet")


def test_facts_filed_after_the_run_date_are_not_known_yet() -> None:
    shares = latest_instant_fact(FACTS, "dei", ("EntityCommonStockSharesOutstanding",), "shares", date(2022, 12, 31))
    assert shares is not None and (shares.value, shares.period_end, shares.filed) == (
        15908118000.0, date(2022, 10, 14), date(2022, 10, 28))
    later = latest_instant_fact(FACTS, "dei", ("EntityCommonStockSharesOutstanding",), "shares", date(2023, 3, 1))
    assert later is not None and later.value == 15821946000.0
    assert latest_instant_fact(FACTS, "dei", ("EntityCommonStockSharesOutstanding",), "shares",
                               date(2022, 1, 1)) is None


def test_annual_revenue_is_the_latest_full_year_whatever_the_fp_tag() -> None:
    revenue = annual_fact(FACTS, "us-gaap", REVENUE, "USD", date(2022, 12, 31))
    assert revenue is not None
    assert (revenue.concept, revenue.value, revenue.period_start, revenue.period_end) == (
        "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax", 394328000000.0,
        date(2021, 9, 26), date(2022, 9, 24))  # not the quarter tagged fp FY, not the 2017 concept
    assert revenue.as_json()["accession_number"] == "0000320193-22-000108"
    assert annual_fact(FACTS, "us-gaap", ("Revenues",), "USD", date(2022, 12, 31)) is None
