"""A seeded synthetic market (:func:`alpha_engine.data._synthetic.synthetic_bars`) as a provider.

Full OHLCV for ``SYN0000``.. on weekdays from ``start``, plus SPY (the market symbol), VIX, VIX3M,
TNX, IRX, GLD, USO and the 11 sector ETFs. Generated once, on first use, and kept: the same
options give byte-identical frames. For benchmarks and tests at upstream scale
(900 tickers x 2520 days); every report built on it says it is synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from .._errors import ProviderError
from ._base import collect_present, requested

__all__ = ["SYNTHETIC_CAVEATS", "SyntheticProvider"]

SYNTHETIC_CAVEATS: tuple[str, ...] = ("synthetic data: a seeded factor model, not market prices",)


class SyntheticProvider:
    """Synthetic bars (see the module docstring); options ``n_tickers``, ``n_days``, ``seed``, ``start``."""

    name = "synthetic"
    market_symbol = "SPY"
    caveats = SYNTHETIC_CAVEATS

    def __init__(self, *, n_tickers: int = 50, n_days: int = 2520, seed: int = 0,
                 start: str = "2015-01-02") -> None:
        if n_tickers < 1 or n_days < 1:
            raise ValueError(f"synthetic: n_tickers and n_days must be >= 1, got {n_tickers}, {n_days}")
        self.n_tickers = n_tickers
        self.n_days = n_days
        self.seed = seed
        self.start = start
        self._data: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]] | None = None

    def _generated(self) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
        if self._data is None:
            from .._synthetic import synthetic_bars

            self._data = synthetic_bars(self.n_tickers, self.n_days, seed=self.seed, start=self.start)
        return self._data

    def universe(self, as_of: date) -> list[str]:
        bars, _ = self._generated()
        # Every synthetic ticker starts on the first day: none exists before it.
        return sorted(t for t, f in bars.items() if len(f) and f.index[0] <= pd.Timestamp(as_of))

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> dict[str, pd.DataFrame]:
        bars, _ = self._generated()
        return collect_present({t: bars[t] for t in requested(tickers, []) if t in bars}, start, end)

    def macro_series(self, symbols: Sequence[str] | None, start: date, end: date) -> dict[str, pd.DataFrame]:
        _, macro = self._generated()
        return collect_present({s: macro[s] for s in requested(symbols, list(macro)) if s in macro}, start, end)

    def sector_map(self) -> dict[str, str]:
        from .._synthetic import synthetic_sector_map

        return dict(sorted(synthetic_sector_map(self.n_tickers).items()))

    def last_available_date(self) -> date | None:
        _, macro = self._generated()
        last: date = pd.Timestamp(macro[self.market_symbol].index[-1]).date()
        return last

    def probe(self) -> None:
        bars, macro = self._generated()
        if not bars or self.market_symbol not in macro:
            raise ProviderError("synthetic: the generator produced no tickers or no SPY series; "
                                "check n_tickers and n_days")
