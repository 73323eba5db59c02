"""The walk-forward's closes: incomplete tickers are left out with the reason; a bad close, an empty
store or too short a window is an error naming the store, the ticker and date, and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pytest

from alpha_engine.backtest import PortfolioDataError, load_closes

AS_OF = date(2022, 12, 30)


class FakeStore:
    """The three MarketStore reads load_closes makes, over in-memory closes."""

    uri = "lmdb:///tmp/fake-market"

    def __init__(self, closes: pd.DataFrame) -> None:
        self.closes = closes

    def libraries_present(self) -> bool:
        return True

    def tickers(self) -> list[str]:
        return sorted(self.closes.columns)

    def read_many(self, tickers: Sequence[str], *, end: date, columns: Sequence[str]) -> dict[str, pd.DataFrame]:
        out = {}
        for t in tickers:
            series = self.closes[t].dropna()
            out[t] = series[series.index <= pd.Timestamp(end)].to_frame("Close")
        return out


def _closes(n_days: int = 300, n_assets: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = 50 * np.cumprod(1 + rng.normal(0, 0.01, size=(n_days, n_assets)), axis=0)
    return pd.DataFrame(values, index=pd.bdate_range(end="2022-12-30", periods=n_days),
                        columns=[f"T{i}" for i in range(n_assets)])



def test_a_short_gap_is_carried_forward_and_a_late_listing_is_left_out_with_the_reason() -> None:
    closes = _closes()
    closes.iloc[100:103, 0] = np.nan  # three missing closes: carried forward
    closes.iloc[:50, 1] = np.nan  # listed 50 days into the window: left out
    panel = load_closes(FakeStore(closes), AS_OF, history_days=None, min_assets=3, min_rows=100)
    assert panel.tickers == ["T0", "T2", "T3", "T4", "T5"]
    ((ticker, reason),) = panel.dropped
    assert ticker == "T1" and reason.startswith("50 of 300 dates without a close")
    assert panel.closes.iloc[100:103, 0].tolist() == [closes.iloc[99, 0]] * 3


def test_history_days_keeps_the_last_returns_only() -> None:
    panel = load_closes(FakeStore(_closes()), AS_OF, history_days=150, min_assets=3, min_rows=100)
    assert len(panel.closes) == 151 and panel.closes.index[-1] == pd.Timestamp(AS_OF)


def test_a_negative_close_is_an_error_naming_the_ticker_the_day_and_the_store() -> None:
    closes = _closes()
    closes.iloc[200, 4] = -1.0
    day = closes.index[200].date().isoformat()
    with pytest.raises(PortfolioDataError, match=f"lmdb:///tmp/fake-market: universe/T4 has a close of -1.0 on {day}"):
        load_closes(FakeStore(closes), AS_OF, history_days=None, min_assets=3, min_rows=100)


def test_too_few_complete_tickers_is_an_error_naming_min_assets() -> None:
    closes = _closes()
    closes.iloc[:20, :5] = np.nan
    with pytest.raises(PortfolioDataError, match="1 of 6 tickers have complete closes .* at least 3 \\(min_assets\\)"):
        load_closes(FakeStore(closes), AS_OF, history_days=None, min_assets=3, min_rows=100)


def test_too_short_a_window_is_an_error_naming_the_options() -> None:
    with pytest.raises(PortfolioDataError, match="has 99 daily returns; the walk-forward needs at least 100"):
        load_closes(FakeStore(_closes(100)), AS_OF, history_days=None, min_assets=3, min_rows=100)


def test_an_empty_store_names_the_stage_that_builds_it() -> None:
    store = FakeStore(_closes())
    store.libraries_present = lambda: False  # type: ignore[method-assign]
    with pytest.raises(PortfolioDataError, match="has no universe tickers: DataPhase1 builds it"):
        load_closes(store, AS_OF, history_days=None, min_assets=3, min_rows=100)  # type: ignore[arg-type]
