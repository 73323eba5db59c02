"""Causality at the predictor level: nothing the model sees at date t may depend on data after t.

Every input ``build_dataset`` reads (the bars, hence every feature the engine computes from them;
the market and other macro series) is perturbed from t + 1 onward with seeded noise, for several
t. Every non-label column of the model dataset, and the live prediction (``expected_move`` of the
volatility model, ``predicted_alpha`` of the L2), must be unchanged at every date <= t.

A causality test is only worth something if it fails on a leak: the second half injects a one-day
look-ahead into each input the predictor builds (through the functions ``build_dataset`` calls)
and shows the check catches it. The audit of issue 12 found that such a leak in
``momentum_score`` or ``macro_market_20d_return`` passed the whole suite before these tests.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data import compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import (
    META_FEATURES,
    MetaModel,
    VolatilityModel,
    _rows,
    build_dataset,
    momentum_score,
)
from alpha_engine.store import panel_from_frames

N_TICKERS, N_DAYS = 20, 420
CUTS = (260, 333, 419 - 30)  # positions of t: t + 1 .. end is perturbed
PRICES = ["Open", "High", "Low", "Close", "VWAP"]

Bars = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def market() -> tuple[Bars, Bars]:
    return synthetic_bars(N_TICKERS, N_DAYS, seed=11)


def _dataset(bars: Bars, macro: Bars) -> pd.DataFrame:
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    data, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=21, label_clip=0.15)
    return data


def _perturbed_after(frames: Bars, cut: pd.Timestamp, rng: np.random.Generator) -> Bars:
    """Each frame with every price scaled by one factor per row (bars stay consistent) and the volume by
    another, on the dates after ``cut``; one ticker also loses its bars after ``cut`` (a missing future)."""
    out = {}
    for k, (name, frame) in enumerate(frames.items()):
        frame = frame.copy()
        after = frame.index > cut
        n = int(after.sum())
        prices = [c for c in PRICES if c in frame]
        frame.loc[after, prices] = frame.loc[after, prices].to_numpy() * rng.uniform(0.6, 1.4, (n, 1))
        if "Volume" in frame:
            frame.loc[after, "Volume"] = frame.loc[after, "Volume"].to_numpy() * rng.uniform(0.2, 3.0, n)
        if k == 1:
            frame = frame.loc[~after | (np.arange(len(frame)) % 3 != 0)]  # a third of its later bars missing
        out[name] = frame
    return out


@pytest.fixture(scope="module")
def models(market: tuple[Bars, Bars]) -> tuple[VolatilityModel, MetaModel]:
    """The live models: a volatility model and an L2 fitted once on the unperturbed rows."""
    data = _dataset(*market)
    labelled = data[data["label"].notna()]
    volatility = VolatilityModel(n_estimators=20, min_child_samples=20).fit(labelled, labelled["label"])
    labelled = labelled.assign(expected_move=volatility.predict(labelled))
    used = [c for c in META_FEATURES if c in labelled and labelled[c].notna().any()]
    return volatility, MetaModel(features=used).fit(labelled[used], labelled["label"])


def _live(data: pd.DataFrame, models: tuple[VolatilityModel, MetaModel]) -> pd.DataFrame:
    """What inference computes for each row: expected move, then the L2's alpha and its std."""
    volatility, meta = models
    section = data.assign(expected_move=volatility.predict(data))
    alpha, std = meta.predict(section[list(meta.features)], return_std=True)
    return pd.DataFrame({"expected_move": section["expected_move"], "predicted_alpha": alpha,
                         "predicted_alpha_std": std})


def assert_causal(market: tuple[Bars, Bars], models: tuple[VolatilityModel, MetaModel], *, cut: int,
                  seed: int) -> None:
    """Perturb every input after date ``cut`` (a position); rows dated <= it must not change."""
    bars, macro = market
    t = bars["SYN0000"].index[cut]
    rng = np.random.default_rng(seed)
    changed_bars, changed_macro = _perturbed_after(bars, t, rng), _perturbed_after(macro, t, rng)
    base, changed = _dataset(bars, macro), _dataset(changed_bars, changed_macro)
    upto = slice(None, t)
    inputs = [c for c in base.columns if c != "label"]
    assert [c for c in changed.columns if c != "label"] == inputs
    pd.testing.assert_frame_equal(changed.loc[upto, inputs], base.loc[upto, inputs])
    pd.testing.assert_frame_equal(_live(changed.loc[upto], models), _live(base.loc[upto], models))
    # The perturbation does reach the later rows, so the equality above is not vacuous.
    later = base.index.get_level_values("date") > t
    assert not base.loc[later, "Close"].equals(changed["Close"].reindex(base.index[later]))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("cut", CUTS)
def test_inputs_after_t_change_no_model_input_or_live_prediction_at_or_before_t(
        market: tuple[Bars, Bars], models: tuple[VolatilityModel, MetaModel], cut: int, seed: int) -> None:
    assert_causal(market, models, cut=cut, seed=seed)


def _shift_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with ``column`` replaced by the next session's value: a one-day look-ahead."""
    leaked = frame.copy()
    if isinstance(frame.index, pd.MultiIndex):
        leaked[column] = frame[column].groupby(level="ticker").shift(-1)
    else:
        leaked[column] = frame[column].shift(-1)
    return leaked


def _leak_momentum(monkeypatch: pytest.MonkeyPatch) -> None:
    original = momentum_score
    monkeypatch.setattr(_rows, "momentum_score",
                        lambda long: original(long).groupby(level="ticker").shift(-1).rename("momentum_score"))


def _leak_macro(column: str) -> Callable[[pytest.MonkeyPatch], None]:
    def inject(monkeypatch: pytest.MonkeyPatch) -> None:
        original = _rows.macro_features
        monkeypatch.setattr(_rows, "macro_features", lambda *args: _shift_column(original(*args), column))
    return inject


def _leak_feature(column: str) -> Callable[[pytest.MonkeyPatch], None]:
    """A look-ahead in one of the engine's features, as ``build_dataset`` receives them."""
    def inject(monkeypatch: pytest.MonkeyPatch) -> None:
        original = _rows.build_dataset

        def leaky(frames: Bars, market: pd.Series | None, **kwargs: object) -> tuple[pd.DataFrame, pd.DataFrame]:
            leaked = {t: _shift_column(f, column) for t, f in frames.items()}
            return original(leaked, market, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setitem(globals(), "build_dataset", leaky)
    return inject


LEAKS = {
    "momentum_score": _leak_momentum,
    "macro_market_20d_return": _leak_macro("macro_market_20d_return"),
    "macro_market_20d_vol": _leak_macro("macro_market_20d_vol"),
    "macro_market_breadth": _leak_macro("macro_market_breadth"),
    "realized_vol_20d": _leak_feature("realized_vol_20d"),
    "momentum_5d": _leak_feature("momentum_5d"),
}


@pytest.mark.parametrize("leak", sorted(LEAKS))
def test_a_one_day_look_ahead_in_any_input_fails_the_causality_check(
        market: tuple[Bars, Bars], models: tuple[VolatilityModel, MetaModel], monkeypatch: pytest.MonkeyPatch,
        leak: str) -> None:
    LEAKS[leak](monkeypatch)
    assert leak in _dataset(*market)
    with pytest.raises(AssertionError, match=f'column name="{leak}"'):  # caught, and at the leaking column
        assert_causal(market, models, cut=CUTS[0], seed=0)
