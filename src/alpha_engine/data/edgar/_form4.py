"""Form 4 (statement of changes in beneficial ownership) parsed from its XML.

The document is SEC's ``ownershipDocument`` (EDGAR Ownership XML Technical Specification):
``issuer`` (``issuerCik``, ``issuerName``, ``issuerTradingSymbol``), one or more
``reportingOwner`` (``reportingOwnerId/rptOwnerCik``, ``rptOwnerName``,
``reportingOwnerRelationship``: ``isDirector``, ``isOfficer``, ``officerTitle``,
``isTenPercentOwner``, ``isOther``), and ``nonDerivativeTable/nonDerivativeTransaction`` rows:
``securityTitle/value``, ``transactionDate/value``, ``transactionCoding/transactionCode``
(``P`` open-market purchase, ``S`` open-market sale, ``A`` grant, ``M`` option exercise, ``F``
tax withholding, ``G`` gift, ...), ``transactionAmounts`` (``transactionShares/value``,
``transactionPricePerShare/value``, ``transactionAcquiredDisposedCode/value`` ``A``/``D``),
``postTransactionAmounts/sharesOwnedFollowingTransaction/value`` and
``ownershipNature/directOrIndirectOwnership/value`` (``D``/``I``). A value can be replaced by a
footnote (a price "see footnote"): it is then None here. The derivative table is not read.

Parsed with the standard library (expat refuses entity-expansion bombs and external entities are
never fetched).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date

from .._errors import ProviderError

__all__ = ["Form4", "InsiderTransaction", "ReportingOwner", "parse_form4"]


@dataclass(frozen=True)
class ReportingOwner:
    """An insider who signs the form."""

    cik: str
    name: str
    is_director: bool
    is_officer: bool
    is_ten_percent_owner: bool
    officer_title: str | None


@dataclass(frozen=True)
class InsiderTransaction:
    """One row of the non-derivative table. ``shares`` is unsigned: ``acquired`` says the direction."""

    security_title: str
    transaction_date: date
    code: str
    shares: float
    price: float | None
    acquired: bool
    shares_owned_after: float | None
    direct: bool

    @property
    def value(self) -> float | None:
        """shares x price, None when the form gives no price."""
        return None if self.price is None else self.shares * self.price


@dataclass(frozen=True)
class Form4:
    """A parsed Form 4: issuer, reporting owners and non-derivative transactions (document order)."""

    issuer_cik: str
    issuer_name: str
    issuer_ticker: str | None
    period_of_report: date | None
    owners: tuple[ReportingOwner, ...]
    transactions: tuple[InsiderTransaction, ...]


def _text(node: ET.Element | None, path: str) -> str | None:
    found = node.find(path) if node is not None else None
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _flag(node: ET.Element | None, path: str) -> bool:
    return (_text(node, path) or "").lower() in ("1", "true")


def _number(node: ET.Element, path: str, where: str) -> float | None:
    text = _text(node, path)
    if text is None:
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        raise ProviderError(f"edgar: {where}: {path} is {text!r}, not a number") from None


def _date(text: str | None, where: str) -> date:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        raise ProviderError(f"edgar: {where}: {text!r} is not a YYYY-MM-DD date") from None


def parse_form4(xml: bytes | str, source: str) -> Form4:
    """The Form 4 XML document at ``source`` (a URL or file name, for messages) as :class:`Form4`."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ProviderError(f"edgar: {source}: not well-formed XML ({exc})") from None
    if root.tag != "ownershipDocument":
        raise ProviderError(f"edgar: {source}: the root element is <{root.tag}>, not <ownershipDocument>")
    document_type = _text(root, "documentType")
    if document_type not in ("4", "4/A"):
        raise ProviderError(f"edgar: {source}: documentType is {document_type!r}, not a Form 4")
    issuer_cik = _text(root, "issuer/issuerCik")
    if issuer_cik is None:
        raise ProviderError(f"edgar: {source}: no issuer/issuerCik")
    owners = []
    for i, node in enumerate(root.findall("reportingOwner")):
        cik = _text(node, "reportingOwnerId/rptOwnerCik")
        if cik is None:
            raise ProviderError(f"edgar: {source}: reportingOwner[{i}] has no reportingOwnerId/rptOwnerCik")
        relation = node.find("reportingOwnerRelationship")
        owners.append(ReportingOwner(
            cik=cik.lstrip("0") or "0", name=_text(node, "reportingOwnerId/rptOwnerName") or "",
            is_director=_flag(relation, "isDirector"), is_officer=_flag(relation, "isOfficer"),
            is_ten_percent_owner=_flag(relation, "isTenPercentOwner"),
            officer_title=_text(relation, "officerTitle")))
    if not owners:
        raise ProviderError(f"edgar: {source}: no reportingOwner")
    transactions = []
    for i, row in enumerate(root.findall("nonDerivativeTable/nonDerivativeTransaction")):
        where = f"{source}: nonDerivativeTransaction[{i}]"
        code = _text(row, "transactionCoding/transactionCode")
        shares = _number(row, "transactionAmounts/transactionShares/value", where)
        direction = _text(row, "transactionAmounts/transactionAcquiredDisposedCode/value")
        if code is None or shares is None or direction not in ("A", "D"):
            raise ProviderError(f"edgar: {where}: needs transactionCode, transactionShares and "
                                f"transactionAcquiredDisposedCode A or D (got {code!r}, {shares!r}, {direction!r})")
        transactions.append(InsiderTransaction(
            security_title=_text(row, "securityTitle/value") or "",
            transaction_date=_date(_text(row, "transactionDate/value"), f"{where}: transactionDate"),
            code=code, shares=shares,
            price=_number(row, "transactionAmounts/transactionPricePerShare/value", where),
            acquired=direction == "A",
            shares_owned_after=_number(row, "postTransactionAmounts/sharesOwnedFollowingTransaction/value", where),
            direct=_text(row, "ownershipNature/directOrIndirectOwnership/value") != "I"))
    period = _text(root, "periodOfReport")
    return Form4(issuer_cik=issuer_cik.lstrip("0") or "0", issuer_name=_text(root, "issuer/issuerName") or "",
                 issuer_ticker=_text(root, "issuer/issuerTradingSymbol"),
                 period_of_report=_date(period, f"{source}: periodOfReport") if period else None,
                 owners=tuple(owners), transactions=tuple(transactions))
