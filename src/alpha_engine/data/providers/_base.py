"""The provider contract, the symbol sets every feed speaks in, and the frame helpers they share.

A *provider* answers four questions about a market: which tickers exist (``universe``), their daily
bars (``daily_bars``), the macro series around them (``macro_series``) and their sectors
(``sector_map``). Ticker and macro frames follow :mod:`alpha_engine.data._bars`: a ticker or
symbol with no rows in the asked range is *absent* from the result, never an empty frame. Symbols
are stored in one canonical spelling (share classes with a dot: ``BRK.B``; indices without a caret:
``VIX``); each network provider maps them to its own at its edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from alpha_engine.store import normalize_ticker_frame

__all__ = [
    "ETF_MACRO_SYMBOLS",
    "FRED_ONLY_SYMBOLS",
    "INDEX_SYMBOLS",
    "MACRO_SYMBOLS",
    "SECTOR_ETFS",
    "MacroProvider",
    "Provider",
]

SECTOR_ETFS: tuple[str, ...] = (
    "XLB", "XLC", "XLE", "XLF", "XLI", "XLK", "XLP", "XLRE", "XLU", "XLV", "XLY",
)
# Exchange-traded macro symbols: any equity feed can serve them.
ETF_MACRO_SYMBOLS: tuple[str, ...] = ("SPY", "GLD", "USO", *SECTOR_ETFS)
# Indices (stored without Yahoo's caret): Yahoo serves them, Polygon's stock feed does not.
INDEX_SYMBOLS: tuple[str, ...] = ("VIX", "VIX3M", "TNX", "IRX")
# Series only FRED publishes.
FRED_ONLY_SYMBOLS: tuple[str, ...] = ("TWO", "HYOAS", "BAA10Y")
# The daily macro set of the upstream pipeline (modules.md 1.1, library ``macro``).
MACRO_SYMBOLS: tuple[str, ...] = ("SPY", "VIX", "VIX3M", "TNX", "IRX", "GLD", "USO", *SECTOR_ETFS)


@runtime_checkable
class MacroProvider(Protocol):
    """A source of macro series only (FRED); every :class:`Provider` is one too."""

    name: str

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        """Macro frames (Close set, other fields NaN unless known) for ``start <= date <= end``;
        ``None`` asks for every symbol the source has; unknown symbols are absent."""
        ...

    def probe(self) -> None:
        """Preflight; raises ProviderAuthError or ProviderError naming the provider, endpoint and fix."""
        ...


@runtime_checkable
class Provider(Protocol):
    """A source of daily bars, macro series and sectors for one market."""

    name: str
    market_symbol: str
    caveats: tuple[str, ...]

    def universe(self, as_of: date) -> list[str]:
        """The sorted tickers available at ``as_of``."""
        ...

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        """Ticker frames (``source`` = provider name) with ``start <= date <= end``; tickers
        without rows are absent."""
        ...

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        """Macro frames; ``None`` = every symbol the provider has; unknown symbols are absent."""
        ...

    def sector_map(self) -> dict[str, str]:
        """Ticker -> sector ETF symbol; ``{}`` when unknown."""
        ...

    def last_available_date(self) -> date | None:
        """The last bar of a fixed dataset; ``None`` for live feeds."""
        ...

    def probe(self) -> None:
        """Preflight; raises ProviderAuthError or ProviderError naming the provider, endpoint and fix."""
        ...


def as_day(day: date) -> date:
    """A plain date (a ``datetime``/``pd.Timestamp`` passed as a date would print its time in URLs)."""
    return day.date() if isinstance(day, datetime) else day


def clip_to_range(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Rows with ``start <= date <= end`` (the index is tz-naive midnight dates)."""
    index = pd.DatetimeIndex(frame.index)
    mask = (index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end))
    return frame.loc[mask]


def bars_from_columns(dates: pd.DatetimeIndex, columns: dict[str, np.ndarray | pd.Series],
                      source: str) -> pd.DataFrame:
    """A canonical ticker frame from per-field arrays aligned on ``dates`` (missing fields -> NaN)."""
    frame = pd.DataFrame({k: np.asarray(v, dtype="float64") for k, v in columns.items()},
                         index=pd.DatetimeIndex(dates))
    out = normalize_ticker_frame(frame, source=source)
    # normalize() infers a freq from the dates ('D', 'B'); a frame's metadata must not depend on its data.
    out.index = pd.DatetimeIndex(out.index, freq=None)
    return out


def collect_present(frames: dict[str, pd.DataFrame], start: date, end: date) -> dict[str, pd.DataFrame]:
    """Clip each frame to the range, drop the empty ones and order the result by symbol."""
    out = {}
    for symbol in sorted(frames):
        clipped = clip_to_range(frames[symbol], start, end)
        if len(clipped):
            out[symbol] = clipped
    return out


def requested(symbols: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """The sorted, de-duplicated symbols to serve: all of ``available`` for ``None``."""
    if isinstance(symbols, str):  # one symbol, not its letters
        symbols = [symbols]
    return sorted(set(available if symbols is None else symbols))
