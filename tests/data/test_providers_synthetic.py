"""The synthetic provider: seeded, deterministic, honest about being synthetic."""

from __future__ import annotations

import io
from datetime import date

import pandas as pd

from alpha_engine.data.providers import Provider, SyntheticProvider
from alpha_engine.store import PRICE_COLUMNS

START, END = date(2015, 1, 1), date(2016, 12, 31)


def parquet_bytes(frames: dict[str, pd.DataFrame]) -> list[bytes]:
    out = []
    for symbol in sorted(frames):
        buffer = io.BytesIO()
        frames[symbol].to_parquet(buffer)
        out.append(symbol.encode() + buffer.getvalue())
    return out


def test_same_options_give_identical_bytes() -> None:
    a = SyntheticProvider(n_tickers=6, n_days=120, seed=7)
    b = SyntheticProvider(n_tickers=6, n_days=120, seed=7)
    tickers = a.universe(END)
    assert parquet_bytes(a.daily_bars(tickers, START, END)) == parquet_bytes(b.daily_bars(tickers, START, END))
    assert parquet_bytes(a.macro_series(None, START, END)) == parquet_bytes(b.macro_series(None, START, END))


def test_another_seed_gives_other_prices() -> None:
    a = SyntheticProvider(n_tickers=3, n_days=60, seed=1).daily_bars(["SYN0000"], START, END)["SYN0000"]
    b = SyntheticProvider(n_tickers=3, n_days=60, seed=2).daily_bars(["SYN0000"], START, END)["SYN0000"]
    assert not a["Close"].equals(b["Close"])


def test_full_ohlcv_frames_in_range() -> None:
    p = SyntheticProvider(n_tickers=4, n_days=30)
    assert p.universe(END) == ["SYN0000", "SYN0001", "SYN0002", "SYN0003"]
    assert p.universe(date(2014, 12, 31)) == []
    bars = p.daily_bars(["SYN0001", "NOPE"], date(2015, 1, 5), date(2015, 1, 9))
    frame = bars["SYN0001"]
    assert list(bars) == ["SYN0001"] and len(frame) == 5
    assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
    assert frame[list(PRICE_COLUMNS)].notna().all().all() and (frame["source"] == "synthetic").all()


def test_macro_sectors_caveats_and_last_date() -> None:
    p = SyntheticProvider(n_tickers=12, n_days=30)
    macro = p.macro_series(None, START, END)
    assert p.market_symbol in macro and {"VIX", "TNX", "XLK"} <= set(macro)
    sectors = p.sector_map()
    assert sorted(sectors) == p.universe(END) and set(sectors.values()) <= set(macro)
    assert p.caveats == ("synthetic data: a seeded factor model, not market prices",)
    assert p.last_available_date() == macro["SPY"].index[-1].date() == date(2015, 2, 12)
    p.probe()
    assert isinstance(p, Provider)
