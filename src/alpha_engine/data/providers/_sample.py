"""The bundled, offline default: skfolio's real daily closes (1990-01-02 .. 2022-12-28).

* Stocks: ``load_sp500_dataset()``, 20 S&P 500 names. They are today's survivors, chosen in
  hindsight, so any result built on them carries survivorship bias.
* Macro: ``load_sp500_index()`` as ``SP500`` (the market benchmark, :attr:`market_symbol`) and
  ``load_factors_dataset()``: the factor ETFs ``MTUM QUAL SIZE USMV VLUE`` (2014 .. 2022).
* Closes only: Open, High, Low, Volume and VWAP are NaN, never invented.

The datasets ship inside the skfolio wheel, so nothing touches the network. They are read from
the wheel's files directly (:func:`_skfolio_dataset`) rather than through ``skfolio.datasets``,
whose import loads scikit-learn and SciPy first (2.5 s on this machine) to read three CSV files;
a test checks both give the same frames.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from .._errors import ProviderError
from ._base import bars_from_columns, collect_present, requested

__all__ = [
    "SAMPLE_CAVEATS",
    "SAMPLE_DEFAULT_RUN_DATE",
    "SAMPLE_LAST_DATE",
    "SAMPLE_SECTORS",
    "SampleProvider",
    "first_saturday_after",
]

SAMPLE_LAST_DATE = date(2022, 12, 28)
# The first Saturday after the last bar: the weekly run date at which the sample is fresh.
SAMPLE_DEFAULT_RUN_DATE = date(2022, 12, 31)

SAMPLE_CAVEATS: tuple[str, ...] = (
    "survivorship bias: the 20 sample stocks are S&P 500 members picked in hindsight (names that "
    "survived to 2022), so backtest returns on them are biased upward",
    "closes only: the sample has daily closes, so Open/High/Low/Volume/VWAP and every feature "
    "needing them are NaN",
)

# GICS sector (as of 2022, another hindsight choice) -> the SPDR sector ETF. The sample carries no
# sector-ETF series, so sector-relative features stay NaN; the map still groups the names.
SAMPLE_SECTORS: dict[str, str] = {
    "AAPL": "XLK", "AMD": "XLK", "MSFT": "XLK",
    "BAC": "XLF", "JPM": "XLF",
    "BBY": "XLY", "HD": "XLY",
    "CVX": "XLE", "RRC": "XLE", "XOM": "XLE",
    "GE": "XLI",
    "JNJ": "XLV", "LLY": "XLV", "MRK": "XLV", "PFE": "XLV", "UNH": "XLV",
    "KO": "XLP", "PEP": "XLP", "PG": "XLP", "WMT": "XLP",
}


_SKFOLIO_DATA = ("datasets", "data")  # where the skfolio wheel keeps its gzip-compressed CSV datasets


def _skfolio_dataset(name: str) -> pd.DataFrame:
    """The skfolio dataset ``name`` (``sp500_dataset``, ``sp500_index``, ``factors_dataset``) as
    ``skfolio.datasets`` loads it: the first column is the date index (``%Y-%m-%d``)."""
    spec = importlib.util.find_spec("skfolio")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError("sample: skfolio is not installed; it ships the bundled sample")
    path = Path(next(iter(spec.submodule_search_locations)), *_SKFOLIO_DATA, f"{name}.csv.gz")
    try:
        with gzip.open(path, mode="rt", encoding="utf-8") as text:
            frame = pd.read_csv(text, sep=",", index_col=0)
    except (OSError, ValueError) as exc:
        raise ProviderError(f"sample: skfolio's bundled dataset {path} could not be read ({exc}); "
                            "reinstall skfolio") from exc
    frame.index = pd.to_datetime(frame.index, format="%Y-%m-%d")
    return frame


def first_saturday_after(d: date) -> date:
    """The first Saturday strictly after ``d`` (a Saturday maps to the next one)."""
    return d + timedelta(days=(5 - d.weekday()) % 7 or 7)


class SampleProvider:
    """The skfolio sample as a :class:`~alpha_engine.data.providers.Provider`."""

    name = "sample"
    market_symbol = "SP500"
    caveats = SAMPLE_CAVEATS

    def __init__(self) -> None:
        self._stocks: pd.DataFrame | None = None
        self._macro: pd.DataFrame | None = None

    def _load(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self._stocks is None or self._macro is None:
            stocks = _skfolio_dataset("sp500_dataset")
            macro = pd.concat([_skfolio_dataset("sp500_index"), _skfolio_dataset("factors_dataset")], axis=1)
            self._stocks, self._macro = stocks.sort_index(), macro.sort_index()
        return self._stocks, self._macro

    @staticmethod
    def _frames(wide: pd.DataFrame, names: list[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        window = wide.loc[pd.Timestamp(start):pd.Timestamp(end)]
        frames = {}
        for name in names:
            if name in window:
                closes = window[name].dropna()
                frames[name] = bars_from_columns(pd.DatetimeIndex(closes.index), {"Close": closes}, "sample")
        return collect_present(frames, start, end)

    def universe(self, as_of: date) -> list[str]:
        stocks, _ = self._load()
        known = stocks.loc[: pd.Timestamp(as_of)].notna().any()
        return sorted(str(t) for t in known.index[known.to_numpy()])

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        stocks, _ = self._load()
        return self._frames(stocks, requested(tickers, []), start, end)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        _, macro = self._load()
        return self._frames(macro, requested(symbols, [str(c) for c in macro.columns]), start, end)

    def sector_map(self) -> dict[str, str]:
        return dict(SAMPLE_SECTORS)

    def last_available_date(self) -> date | None:
        return SAMPLE_LAST_DATE

    def probe(self) -> None:
        stocks, macro = self._load()
        if stocks.empty or macro.empty or self.market_symbol not in macro:
            raise ProviderError("sample: skfolio's bundled datasets are empty or lack the SP500 index; "
                                "reinstall skfolio")
