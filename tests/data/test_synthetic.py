"""The seeded synthetic market: shapes, bar invariants, macro symbols, determinism."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data._synthetic import (
    SECTOR_ETFS,
    SYNTHETIC_MACRO_SYMBOLS,
    synthetic_bars,
    synthetic_sector_map,
)
from alpha_engine.store import PRICE_COLUMNS, normalize_ticker_frame, panel_from_frames

N_TICKERS, N_DAYS = 23, 300


@pytest.fixture(scope="module")
def market() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    return synthetic_bars(N_TICKERS, N_DAYS, seed=7)


def _parquet_bytes(frames: dict[str, pd.DataFrame]) -> list[bytes]:
    out = []
    for name in sorted(frames):
        buffer = io.BytesIO()
        frames[name].to_parquet(buffer)
        out.append(name.encode() + buffer.getvalue())
    return out


def test_tickers_are_named_and_dated_as_documented(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    bars, _ = market
    assert list(bars) == [f"SYN{i:04d}" for i in range(N_TICKERS)]
    expected_dates = pd.bdate_range("2015-01-02", periods=N_DAYS)
    for frame in bars.values():
        assert frame.index.equals(expected_dates)
        assert frame.index.name == "date"
        assert (frame.index.dayofweek < 5).all()


def test_frames_are_already_normalized(market: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]) -> None:
    bars, macro = market
    for frame in [*bars.values(), *macro.values()]:
        pd.testing.assert_frame_equal(normalize_ticker_frame(frame, source="synthetic"), frame)
        assert list(frame.columns) == [*PRICE_COLUMNS, "source"]
        assert (frame["source"] == "synthetic").all()


def test_bars_satisfy_ohlcv_invariants(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    panel = panel_from_frames(market[0])
    o, h, low, c, v, w = (getattr(panel, f).to_numpy() for f in ("open", "high", "low", "close", "volume", "vwap"))
    assert np.isfinite(np.stack([o, h, low, c, v, w])).all()
    assert (h >= np.maximum(o, c)).all() and (low <= np.minimum(o, c)).all()
    assert (w >= low).all() and (w <= h).all()
    assert (v > 0).all() and (c > 0).all() and (low > 0).all()
    assert (h > low).any()


def test_macro_has_every_symbol_with_closes_only(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    bars, macro = market
    assert set(macro) == set(SYNTHETIC_MACRO_SYMBOLS)
    assert {"SPY", "VIX", "VIX3M", "TNX", "IRX", "GLD", "USO", *SECTOR_ETFS} == set(macro)
    for frame in macro.values():
        assert frame.index.equals(bars["SYN0000"].index)
        assert np.isfinite(frame["Close"]).all() and (frame["Close"] > 0).all()
        assert frame[["Open", "High", "Low", "Volume", "VWAP"]].isna().all().all()


def test_tickers_load_on_the_market_factor(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    bars, macro = market
    spy = np.diff(np.log(macro["SPY"]["Close"].to_numpy()))
    corr = [np.corrcoef(np.diff(np.log(f["Close"].to_numpy())), spy)[0, 1] for f in bars.values()]
    assert np.median(corr) > 0.3


def test_sector_map_round_robins_over_the_sector_etfs() -> None:
    mapping = synthetic_sector_map(13)
    assert list(mapping) == [f"SYN{i:04d}" for i in range(13)]
    assert mapping["SYN0000"] == SECTOR_ETFS[0] and mapping["SYN0011"] == SECTOR_ETFS[0]
    assert set(mapping.values()) == set(SECTOR_ETFS)


def test_same_seed_gives_byte_identical_frames(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    again = synthetic_bars(N_TICKERS, N_DAYS, seed=7)
    for first, second in zip(market, again, strict=True):
        assert _parquet_bytes(first) == _parquet_bytes(second)
        for name in first:
            assert np.array_equal(first[name][list(PRICE_COLUMNS)].to_numpy(),
                                  second[name][list(PRICE_COLUMNS)].to_numpy(), equal_nan=True)


def test_another_seed_gives_other_data(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    other, _ = synthetic_bars(N_TICKERS, N_DAYS, seed=8)
    assert not np.array_equal(other["SYN0000"]["Close"].to_numpy(), market[0]["SYN0000"]["Close"].to_numpy())


def test_macro_does_not_depend_on_the_number_of_tickers(market: tuple[dict[str, pd.DataFrame], ...]) -> None:
    _, macro_small = synthetic_bars(2, N_DAYS, seed=7)
    assert _parquet_bytes(macro_small) == _parquet_bytes(market[1])


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="n_days"):
        synthetic_bars(3, 0)
    with pytest.raises(ValueError, match="n_tickers"):
        synthetic_sector_map(-1)
