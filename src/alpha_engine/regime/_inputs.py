"""The regime model's inputs: weekly series read from the market store up to the as-of session.

The market index is required (its symbol comes from the weekly data manifest). Macro series are
used when the macro library holds them: ``VIX`` (implied volatility) and the term spread
``TNX - IRX`` (10-year minus 13-week yield). Each missing one is listed with what the model loses
without it; the bundled sample has neither, so there the model runs on the index alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._errors import RegimeInputError

if TYPE_CHECKING:
    from alpha_engine.store import MarketStore

__all__ = ["MACRO_INPUTS", "RegimeInputs", "load_regime_inputs", "weekly_inputs"]

# Macro series the model uses when present, and what it loses when one is absent.
MACRO_INPUTS: dict[str, str] = {
    "VIX": "no implied-volatility input: the HMM sees the index's weekly return only and the composite "
           "drops its VIX-level component",
    "TNX": "no 10-year yield: the composite drops its term-spread component",
    "IRX": "no 13-week yield: the composite drops its term-spread component",
}


@dataclass(frozen=True)
class RegimeInputs:
    """Weekly (week ending Friday) closes up to the as-of session.

    Attributes
    ----------
    as_of : date, the last session whose data may be used
    market_symbol : str
    market : Series of shape (n_weeks,), the index's last close of each week
    macro : dict of symbol -> Series on the same weeks (only the symbols present)
    missing : tuple of (symbol, consequence)
    """

    as_of: date
    market_symbol: str
    market: pd.Series
    macro: dict[str, pd.Series]
    missing: tuple[tuple[str, str], ...]

    @property
    def used(self) -> list[str]:
        return [self.market_symbol, *sorted(self.macro)]

    def hmm_features(self) -> pd.DataFrame:
        """HMM observations per week, each known at the week's close: the index's weekly log return,
        the log of its trailing 8-week volatility (what makes the states persistent regimes rather
        than single weeks), and the weekly change of log VIX when VIX is present (weeks where any is
        unknown are dropped)."""
        ret = np.log(self.market).diff()
        out = pd.DataFrame({"market_return": ret, "market_log_vol_8w": np.log(ret.rolling(8).std())})
        if "VIX" in self.macro:
            out["vix_change"] = np.log(self.macro["VIX"]).diff()
        return out.dropna()


def _weekly(close: pd.Series, as_of: date, where: str) -> pd.Series:
    if not isinstance(close.index, pd.DatetimeIndex):
        raise RegimeInputError(f"regime: {where} is not indexed by dates")
    daily = close.sort_index().loc[: pd.Timestamp(as_of)].astype(float)
    daily = daily[np.isfinite(daily)]
    if (daily <= 0).any():
        bad = daily.index[daily <= 0][0].date().isoformat()
        raise RegimeInputError(f"regime: {where} has a non-positive close on {bad}")
    return daily.resample("W-FRI").last().dropna()


def weekly_inputs(market_symbol: str, market_close: pd.Series, macro_close: Mapping[str, pd.Series],
                  as_of: date) -> RegimeInputs:
    """Weekly inputs from daily closes (data after ``as_of`` is dropped here, whatever the caller passes)."""
    market = _weekly(market_close, as_of, f"the market series {market_symbol!r}")
    if len(market) < 2:
        raise RegimeInputError(f"regime: the market series {market_symbol!r} has {len(market)} weeks up to "
                               f"{as_of.isoformat()}")
    macro: dict[str, pd.Series] = {}
    missing: list[tuple[str, str]] = []
    for symbol, consequence in MACRO_INPUTS.items():
        series = macro_close.get(symbol)
        weekly = None if series is None else _weekly(series, as_of, f"the macro series {symbol!r}")
        if weekly is None or weekly.empty:
            missing.append((symbol, consequence))
        else:
            macro[symbol] = weekly.reindex(market.index).ffill()
    return RegimeInputs(as_of=as_of, market_symbol=market_symbol, market=market, macro=macro,
                        missing=tuple(missing))


def load_regime_inputs(store: MarketStore, market_symbol: str, as_of: date) -> RegimeInputs:
    """Read the market index and the macro inputs present (up to ``as_of``) and make them weekly."""
    macro_symbols = set(store.macro_symbols())
    wanted = sorted(s for s in MACRO_INPUTS if s in macro_symbols)
    if market_symbol in macro_symbols:
        frames = store.read_macro([market_symbol, *wanted], end=as_of)
        market_frame = frames.pop(market_symbol)
    elif market_symbol in store.tickers():
        frames = store.read_macro(wanted, end=as_of) if wanted else {}
        market_frame = store.read(market_symbol, end=as_of, columns=["Close"])
    else:
        raise RegimeInputError(f"regime: the market symbol {market_symbol!r} is in neither the macro library nor "
                               f"the universe of the market store")
    for symbol, frame in {market_symbol: market_frame, **frames}.items():
        if "Close" not in frame.columns:
            raise RegimeInputError(f"regime: the series {symbol!r} has no Close column ({list(frame.columns)})")
    return weekly_inputs(market_symbol, market_frame["Close"], {s: f["Close"] for s, f in frames.items()}, as_of)
