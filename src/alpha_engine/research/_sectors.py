"""The sector map: ticker -> GICS sector, and the six sector teams' grouping of the 11 sectors.

Shipped as ``data/sectors.json`` (its ``source`` field says where the facts come from). A ticker the
file does not name falls back to the sector ETF the data provider reports for it
(``etf_sectors``); a ticker with neither has no sector and no team looks at it.

Teams (upstream's six): technology = Information Technology; healthcare = Health Care;
financials = Financials; industrials = Industrials + Materials; consumer = Consumer
Discretionary + Consumer Staples + Communication Services; defensives = Energy + Utilities +
Real Estate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ._errors import ResearchInputError

__all__ = ["SectorMap", "load_sector_map"]


@dataclass(frozen=True)
class SectorMap:
    """Sectors, teams and the ticker lookup (see module docstring)."""

    sectors: tuple[str, ...]
    teams: Mapping[str, tuple[str, ...]]
    tickers: Mapping[str, str]
    etf_sectors: Mapping[str, str]
    source: str

    def sector_of(self, ticker: str, provider_etf: str | None = None) -> str | None:
        """The ticker's GICS sector: the file's row, else the provider's sector ETF, else None."""
        if ticker in self.tickers:
            return self.tickers[ticker]
        return self.etf_sectors.get(provider_etf or "")

    def team_of(self, sector: str) -> str:
        for team, sectors in self.teams.items():
            if sector in sectors:
                return team
        raise ResearchInputError(f"sector map: sector {sector!r} belongs to no team")


@cache
def load_sector_map() -> SectorMap:
    """The shipped map (``alpha_engine/research/data/sectors.json``), checked for consistency."""
    where = "alpha_engine/research/data/sectors.json"
    raw = json.loads(resources.files(__package__ or "").joinpath("data/sectors.json").read_text(encoding="utf-8"))
    sectors = tuple(raw["sectors"])
    teams = {team: tuple(members) for team, members in raw["teams"].items()}
    grouped = sorted(s for members in teams.values() for s in members)
    if grouped != sorted(sectors):
        raise ResearchInputError(f"{where}: the teams must cover each of the {len(sectors)} sectors exactly once")
    for ticker, sector in {**raw["tickers"], **raw["etf_sectors"]}.items():
        if sector not in sectors:
            raise ResearchInputError(f"{where}: {ticker} has unknown sector {sector!r}")
    return SectorMap(sectors=sectors, teams=teams, tickers=dict(raw["tickers"]),
                     etf_sectors=dict(raw["etf_sectors"]), source=str(raw["source"]))
