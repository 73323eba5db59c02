"""Bars from a directory of CSV or Parquet files.

Layout (``root`` is the ``root`` option)::

    <root>/<TICKER>.csv | <TICKER>.parquet        one file per ticker; the file name is the ticker
    <root>/macro/<SYMBOL>.csv | <SYMBOL>.parquet  one file per macro symbol (SPY, VIX, XLK, ...); the
                                                  market index (``market_symbol``, SPY) is required
    <root>/sectors.csv                            optional: columns ticker, sector_etf

Ticker files have the columns ``date`` and ``close`` (required) and ``open``, ``high``, ``low``,
``volume``, ``vwap`` (optional; NaN when absent, never invented). Macro files have ``date``,
``close`` and optionally ``open``, ``high``, ``low``, ``volume``. Column names are
case-insensitive and surrounding spaces are ignored; other columns (``adj close``, ...) are
ignored. A Parquet file may carry the dates as its index instead of a column. Dates are daily
(a time of day or a timezone is dropped: the bar is the session's date); rows need not be sorted.

A file is refused with a :class:`ProviderError` naming it and the problem when: the ``date`` or
``close`` column is missing, a date does not parse, a date appears twice, a price is not a
number, or the same ticker exists as both ``.csv`` and ``.parquet``.

The directory is the universe: there are no listing dates, so ``universe(as_of)`` is every ticker
file whatever its first date (a ticker simply has no rows before its data starts).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd
from pandas.api.types import is_datetime64_any_dtype, is_numeric_dtype

from .._errors import ProviderError
from ._base import bars_from_columns, collect_present, requested

__all__ = ["FilesProvider"]

_SUFFIXES = (".csv", ".parquet")
_BAR_FIELDS = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume",
               "vwap": "VWAP"}
_MACRO_FIELDS = {k: v for k, v in _BAR_FIELDS.items() if k != "vwap"}
_SECTORS_FILE = "sectors.csv"


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
            if "date" not in {str(c).strip().lower() for c in table.columns} and table.index.name is not None:
                table = table.reset_index()
            return table
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise ProviderError(f"files: {path}: cannot be read as {path.suffix[1:]} ({exc})") from exc


def _columns_by_name(table: pd.DataFrame, path: Path) -> dict[str, str]:
    """Lower-cased, stripped column name -> the file's own name (ambiguity is an error)."""
    names: dict[str, str] = {}
    for column in table.columns:
        key = str(column).strip().lower()
        if key in names:
            raise ProviderError(f"files: {path}: columns {names[key]!r} and {column!r} are the same "
                                "column ignoring case")
        names[key] = str(column)
    return names


def read_bar_file(path: Path, fields: dict[str, str], source: str) -> pd.DataFrame:
    """One ticker or macro file as a canonical ticker frame (errors name the file and the problem)."""
    table = _read_table(path)
    names = _columns_by_name(table, path)
    for required in ("date", "close"):
        if required not in names:
            raise ProviderError(f"files: {path}: missing the {required!r} column "
                                f"(columns: {', '.join(map(str, table.columns)) or 'none'})")
    raw_dates = table[names["date"]]
    # 20230103 read as an integer would otherwise parse as nanoseconds since 1970.
    text_dates = raw_dates.astype(str).where(raw_dates.notna()) if is_numeric_dtype(raw_dates) else raw_dates
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            parsed = pd.to_datetime(text_dates, errors="coerce", format="mixed")
    except (TypeError, ValueError) as exc:
        raise ProviderError(f"files: {path}: the 'date' column does not parse as dates ({exc})") from exc
    if not is_datetime64_any_dtype(parsed):
        raise ProviderError(f"files: {path}: the 'date' column mixes time zones; write dates or one zone")
    bad = parsed.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ProviderError(f"files: {path}: unparseable date {raw_dates.iloc[row]!r} on data row {row + 1}")
    dates = pd.DatetimeIndex(parsed)
    if dates.tz is not None:
        # A timestamp with a zone is a moment in that zone: its local calendar date is the session.
        dates = dates.tz_localize(None)
    dates = dates.normalize()
    duplicated = dates[dates.duplicated()]
    if len(duplicated):
        shown = ", ".join(d.date().isoformat() for d in duplicated.unique()[:5])
        raise ProviderError(f"files: {path}: duplicate dates {shown} ({len(duplicated)} repeated rows)")
    columns = {}
    for key, field in fields.items():
        if key not in names:
            continue
        values = pd.to_numeric(table[names[key]], errors="coerce")
        invalid = values.isna() & table[names[key]].notna()
        if invalid.any():
            row = int(invalid.to_numpy().nonzero()[0][0])
            raise ProviderError(f"files: {path}: column {names[key]!r} has the non-numeric value "
                                f"{table[names[key]].iloc[row]!r} on data row {row + 1}")
        columns[field] = values.to_numpy(dtype="float64")
    return bars_from_columns(dates, columns, source)


class FilesProvider:
    """Bars from ``<root>/<TICKER>.csv|.parquet`` (see the module docstring for the layout)."""

    name = "files"

    def __init__(self, root: str | Path, *, market_symbol: str = "SPY", caveats: Sequence[str] = ()) -> None:
        self.root = Path(root)
        self.market_symbol = market_symbol
        self.caveats = tuple(caveats)

    def _index(self, folder: Path) -> dict[str, Path]:
        """Symbol -> file in ``folder``; a symbol with both a CSV and a Parquet file is an error."""
        if not folder.is_dir():
            return {}
        found: dict[str, Path] = {}
        for path in sorted(folder.iterdir()):
            if not path.is_file() or path.suffix.lower() not in _SUFFIXES or path.name.startswith("."):
                continue
            if folder == self.root and path.name.lower() == _SECTORS_FILE:
                continue
            symbol = path.name[: -len(path.suffix)]
            if symbol in found:
                raise ProviderError(f"files: {found[symbol]} and {path} both hold {symbol}; keep one")
            found[symbol] = path
        return found

    def _tickers(self) -> dict[str, Path]:
        if not self.root.is_dir():
            raise ProviderError(f"files: data directory {self.root} does not exist; set provider_options.root "
                                "to a directory of <TICKER>.csv or .parquet files")
        return self._index(self.root)

    def _read(self, files: dict[str, Path], names: list[str], fields: dict[str, str],
              start: date, end: date) -> dict[str, pd.DataFrame]:
        frames = {n: read_bar_file(files[n], fields, self.name) for n in names if n in files}
        return collect_present(frames, start, end)

    def universe(self, as_of: date) -> list[str]:
        return sorted(self._tickers())

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        return self._read(self._tickers(), requested(tickers, []), _BAR_FIELDS, start, end)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        files = self._index(self.root / "macro")
        return self._read(files, requested(symbols, list(files)), _MACRO_FIELDS, start, end)

    def sector_map(self) -> dict[str, str]:
        path = self.root / _SECTORS_FILE
        if not path.is_file():
            return {}
        table = _read_table(path)
        names = _columns_by_name(table, path)
        for required in ("ticker", "sector_etf"):
            if required not in names:
                raise ProviderError(f"files: {path}: missing the {required!r} column "
                                    f"(columns: {', '.join(map(str, table.columns)) or 'none'})")
        pairs = table[[names["ticker"], names["sector_etf"]]].dropna()
        return {str(t).strip(): str(s).strip() for t, s in sorted(pairs.itertuples(index=False, name=None))}

    def last_available_date(self) -> date | None:
        """The newest bar over every ticker file (reads each file once)."""
        files = self._tickers()
        newest = [read_bar_file(p, _BAR_FIELDS, self.name).index.max() for p in files.values()]
        valid = [d for d in newest if pd.notna(d)]
        return max(valid).date() if valid else None

    def macro_location(self, symbol: str) -> str:
        """Where the file of macro ``symbol`` is looked for (for error messages)."""
        return f"{self.root / 'macro' / symbol}.csv or .parquet"

    def probe(self) -> None:
        if not self._tickers():
            raise ProviderError(f"files: data directory {self.root} has no <TICKER>.csv or .parquet file; "
                                "add one file per ticker (see alpha_engine.data.providers._files)")
        if self.market_symbol not in self._index(self.root / "macro"):
            raise ProviderError(f"files: no file for the market index {self.market_symbol}: expected "
                                f"{self.macro_location(self.market_symbol)}; the market-relative features need it. "
                                "Add it, or set provider_options.market_symbol to the index you have")
