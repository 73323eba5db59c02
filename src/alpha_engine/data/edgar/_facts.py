"""Point-in-time values out of a company's XBRL facts (``companyfacts``).

The document (``https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json``) holds
``facts.<taxonomy>.<concept>.units.<unit>``: a list of facts ``{"start"?, "end", "val", "accn",
"fy", "fp", "form", "filed", "frame"?}``; instants (shares outstanding) have no ``start``.

Only facts filed on or before ``as_of`` count, so a rerun for a past date reads what was known
then. Among those, the latest period wins, then the latest filing (a restatement), then the
first concept in the caller's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["CompanyFact", "annual_fact", "latest_instant_fact"]

# An annual duration: a fiscal year of 52 or 53 weeks, or a calendar year.
_ANNUAL_DAYS = range(350, 380)


@dataclass(frozen=True)
class CompanyFact:
    """One reported value: ``concept`` is ``taxonomy:name`` (``us-gaap:Revenues``)."""

    concept: str
    unit: str
    value: float
    period_start: date | None
    period_end: date
    filed: date
    form: str
    accession_number: str

    def as_json(self) -> dict[str, Any]:
        return {"concept": self.concept, "unit": self.unit, "value": self.value,
                "period_start": self.period_start.isoformat() if self.period_start else None,
                "period_end": self.period_end.isoformat(), "filed": self.filed.isoformat(),
                "form": self.form, "accession_number": self.accession_number}


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _candidates(facts: Mapping[str, Any], taxonomy: str, concepts: Sequence[str], unit: str,
                as_of: date) -> list[tuple[int, CompanyFact]]:
    out: list[tuple[int, CompanyFact]] = []
    tree = facts.get("facts", {}).get(taxonomy, {}) if isinstance(facts.get("facts"), Mapping) else {}
    for rank, concept in enumerate(concepts):
        rows = tree.get(concept, {}).get("units", {}).get(unit, []) if isinstance(tree, Mapping) else []
        for row in rows if isinstance(rows, list) else []:
            end, filed, value = _day(row.get("end")), _day(row.get("filed")), row.get("val")
            if end is None or filed is None or filed > as_of or not isinstance(value, int | float):
                continue  # unreadable rows and facts filed after as_of are not known at as_of
            out.append((rank, CompanyFact(
                concept=f"{taxonomy}:{concept}", unit=unit, value=float(value),
                period_start=_day(row["start"]) if row.get("start") else None, period_end=end, filed=filed,
                form=str(row.get("form", "")), accession_number=str(row.get("accn", "")))))
    return out


def _latest(found: list[tuple[int, CompanyFact]]) -> CompanyFact | None:
    if not found:
        return None
    return max(found, key=lambda rf: (rf[1].period_end, rf[1].filed, -rf[0], rf[1].accession_number))[1]


def latest_instant_fact(facts: Mapping[str, Any], taxonomy: str, concepts: Sequence[str], unit: str,
                        as_of: date) -> CompanyFact | None:
    """The latest instant value of the first matching concept (e.g. ``dei`` /
    ``EntityCommonStockSharesOutstanding`` / ``shares``), or None."""
    return _latest([(r, f) for r, f in _candidates(facts, taxonomy, concepts, unit, as_of) if f.period_start is None])


def annual_fact(facts: Mapping[str, Any], taxonomy: str, concepts: Sequence[str], unit: str,
                as_of: date) -> CompanyFact | None:
    """The latest full-year value (a 350..379-day duration) of the given concepts, or None."""
    annual = [(r, f) for r, f in _candidates(facts, taxonomy, concepts, unit, as_of)
              if f.period_start is not None and (f.period_end - f.period_start).days in _ANNUAL_DAYS]
    return _latest(annual)
