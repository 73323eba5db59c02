"""The shapes data moves in.

* A **ticker frame**: one ticker's daily bars, a ``pandas.DataFrame`` indexed by a tz-naive,
  sorted, unique ``DatetimeIndex`` named ``date`` (midnight timestamps), with the float64
  columns :data:`OHLCV_COLUMNS` and the string column ``source``. Missing fields are NaN, never
  invented: the bundled sample has closes only, so its Open/High/Low/Volume/VWAP are NaN.
* A :class:`Panel`: the same bars for many tickers as wide float64 frames (dates x tickers),
  one per field, on one shared date index. Feature computation works on panels (vectorized
  over tickers).
* A **macro frame**: one macro symbol's daily closes, a ticker frame whose OHLV are NaN unless
  the source has them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "OHLCV_COLUMNS",
    "PRICE_COLUMNS",
    "SOURCE_COLUMN",
    "Panel",
    "content_digest",
    "empty_ticker_frame",
    "normalize_ticker_frame",
    "panel_from_frames",
]

PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Volume", "VWAP")
OHLCV_COLUMNS = PRICE_COLUMNS  # the bar columns, in canonical order; 'source' follows them
SOURCE_COLUMN = "source"


def empty_ticker_frame() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in PRICE_COLUMNS})
    frame[SOURCE_COLUMN] = pd.Series(dtype="object")
    frame.index = pd.DatetimeIndex([], name="date")
    return frame


def normalize_ticker_frame(frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """Canonical ticker frame: tz-naive midnight index named 'date', sorted, duplicates keep the
    last row, all price columns present as float64 (missing -> NaN), then 'source'."""
    out = frame.copy()
    index = pd.DatetimeIndex(out.index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    out.index = index.normalize().rename("date")
    out = out[~out.index.duplicated(keep="last")].sort_index()
    for column in PRICE_COLUMNS:
        out[column] = out[column].astype("float64") if column in out else np.nan
    if source is not None or SOURCE_COLUMN not in out:
        out[SOURCE_COLUMN] = source or "unknown"
    out[SOURCE_COLUMN] = out[SOURCE_COLUMN].astype("object")
    return out[[*PRICE_COLUMNS, SOURCE_COLUMN]]


@dataclass(frozen=True)
class Panel:
    """Wide bars: each field a float64 DataFrame indexed by date, one column per ticker."""

    open: pd.DataFrame
    high: pd.DataFrame
    low: pd.DataFrame
    close: pd.DataFrame
    volume: pd.DataFrame
    vwap: pd.DataFrame

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.close.index)

    @property
    def tickers(self) -> list[str]:
        return [str(c) for c in self.close.columns]

    def truncate(self, end: pd.Timestamp) -> Panel:
        """The panel as it was known at ``end`` (rows after it dropped)."""
        return Panel(*(getattr(self, f).loc[:end] for f in ("open", "high", "low", "close", "volume", "vwap")))


def panel_from_frames(frames: Mapping[str, pd.DataFrame]) -> Panel:
    """Align ticker frames on the union of their dates (NaN where a ticker has no bar)."""
    tickers = sorted(frames)
    fields = {}
    for column in PRICE_COLUMNS:
        data = {t: frames[t][column] for t in tickers}
        wide = pd.DataFrame(data) if data else pd.DataFrame()
        wide.index = pd.DatetimeIndex(wide.index, name="date")
        fields[column.lower()] = wide.sort_index().astype("float64")
    return Panel(**fields)


def content_digest(frames: Mapping[str, pd.DataFrame]) -> str:
    """sha256 over every ticker's rows (index, values, source), in ticker order: a data vintage."""
    digest = hashlib.sha256()
    for ticker in sorted(frames):
        digest.update(ticker.encode())
        digest.update(pd.util.hash_pandas_object(frames[ticker], index=True).to_numpy().tobytes())
    return digest.hexdigest()
