"""compute_features as a whole: close-only policy, causality, determinism, the FeatureSet views, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from features_support import (
    BAR_FIELDS,
    SAMPLE_MISSING_MACRO,
    compute_synthetic,
    needs_any,
    panel_of,
    sample_market,
    synthetic_market,
    truncate_macro,
)

from alpha_engine.data._errors import DataError
from alpha_engine.data.features import FEATURE_ORDER, FeatureSet, compute_features
from alpha_engine.store import Panel

WARM_UP = 300  # rows: the longest look-back (252-day high/low, 2 x 60-day drawdown) plus margin
# features whose value depends on all earlier rows (EWM recursions, OBV's running sum, the expanding
# volume mean); every other feature is a function of a bounded trailing window
HISTORY_DEPENDENT = {"rsi_14", "macd_cross", "macd_above_zero", "macd_line_last", "ema_cross_8_21", "atr_14_pct",
                     "rsi_slope_5d", "avg_volume_20d", "obv_slope_10d", "rsi_x_vix", "atr_x_vix"}


def _frames_equal(a: FeatureSet, b: FeatureSet, rows: slice = slice(None)) -> list[str]:
    """Names of the features whose rows differ in any bit (NaN equal to NaN)."""
    return [name for name in FEATURE_ORDER
            if not np.array_equal(a.frames[name].to_numpy()[rows], b.frames[name].to_numpy()[rows], equal_nan=True)]


@pytest.fixture(scope="module")
def synthetic() -> FeatureSet:
    return compute_synthetic()


@pytest.fixture(scope="module")
def sample() -> FeatureSet:
    panel, macro = sample_market()
    return compute_features(panel, macro, market_symbol="SP500")


# -- close-only policy ---------------------------------------------------------------------------------

def test_sample_nans_exactly_the_features_needing_missing_inputs(sample: FeatureSet) -> None:
    missing = BAR_FIELDS + SAMPLE_MISSING_MACRO
    all_nan = {name for name in FEATURE_ORDER if np.isnan(sample.frames[name].to_numpy()).all()}
    assert all_nan == {name for name in FEATURE_ORDER if needs_any(name, missing)}
    assert len(all_nan) == 25  # 14 technical (OHLV, sector), 6 macro, 5 interactions


def test_sample_close_features_are_finite_after_warm_up(sample: FeatureSet) -> None:
    for name in FEATURE_ORDER:
        if needs_any(name, BAR_FIELDS + SAMPLE_MISSING_MACRO):
            continue
        values = sample.frames[name].to_numpy()[WARM_UP:]
        # RRC's closes sit flat for weeks in 1991 (zero-width bands, 0/0 vol ratios) and on some days
        # most names are at their 52-week high (MAD 0): NaN by definition, and rare
        assert np.isfinite(values).mean() > 0.999, name


def test_close_only_synthetic_panel_is_finite_after_warm_up() -> None:
    panel, macro, sectors = synthetic_market()
    nan = pd.DataFrame(np.nan, index=panel.close.index, columns=panel.close.columns)
    close_only = Panel(open=nan, high=nan, low=nan, close=panel.close, volume=nan, vwap=nan)
    features = compute_features(close_only, macro, sector_of=sectors)
    for name in FEATURE_ORDER:
        values = features.frames[name].to_numpy()
        if needs_any(name, BAR_FIELDS):
            assert np.isnan(values).all(), name
        else:
            assert np.isfinite(values[WARM_UP:]).all(), name


def test_full_synthetic_market_gives_every_feature(synthetic: FeatureSet) -> None:
    for name in FEATURE_ORDER:
        assert np.isfinite(synthetic.frames[name].to_numpy()[WARM_UP:]).all(), name


def test_missing_market_symbol_nans_only_market_features() -> None:
    panel, macro, sectors = synthetic_market()
    features = compute_features(panel, macro, market_symbol="NOPE", sector_of=sectors)
    for name in FEATURE_ORDER:
        values = features.frames[name].to_numpy()[WARM_UP:]
        assert np.isnan(values).all() == needs_any(name, ("SPY",)), name


# -- causality -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cut", [0, 40, 200, 333, 418])
def test_truncated_history_reproduces_every_row_exactly(synthetic: FeatureSet, cut: int) -> None:
    panel, macro, sectors = synthetic_market()
    end = panel.dates[cut]
    truncated = compute_features(panel.truncate(end), truncate_macro(macro, end), sector_of=sectors)
    assert len(truncated.dates) == cut + 1
    assert _frames_equal(truncated, synthetic, slice(0, cut + 1)) == []


def test_appending_one_day_at_a_time_matches_full_history(synthetic: FeatureSet) -> None:
    panel, macro, sectors = synthetic_market()
    for cut in range(len(panel.dates) - 8, len(panel.dates)):
        end = panel.dates[cut]
        step = compute_features(panel.truncate(end), truncate_macro(macro, end), sector_of=sectors)
        for name in FEATURE_ORDER:
            assert np.array_equal(step.frames[name].to_numpy()[-1], synthetic.frames[name].to_numpy()[cut],
                                  equal_nan=True), (name, cut)


@pytest.mark.parametrize("cut", [250, 4000, 8000])
def test_sample_truncation_reproduces_rows_exactly(sample: FeatureSet, cut: int) -> None:
    panel, macro = sample_market()
    end = panel.dates[cut]
    truncated = compute_features(panel.truncate(end), truncate_macro(macro, end), market_symbol="SP500")
    assert _frames_equal(truncated, sample, slice(0, cut + 1)) == []


def test_perturbing_the_future_leaves_the_past_unchanged(synthetic: FeatureSet) -> None:
    panel, macro, sectors = synthetic_market()
    cut = 300
    rng = np.random.default_rng(5)

    def shaken(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.copy()
        out.iloc[cut + 1:] = out.iloc[cut + 1:].to_numpy() * rng.uniform(0.5, 1.5, out.iloc[cut + 1:].shape)
        return out

    fields = ("open", "high", "low", "close", "volume", "vwap")
    perturbed = Panel(*(shaken(getattr(panel, f)) for f in fields))
    perturbed_macro = {s: frame.assign(Close=shaken(frame[["Close"]])["Close"]) for s, frame in macro.items()}
    features = compute_features(perturbed, perturbed_macro, sector_of=sectors)
    assert _frames_equal(features, synthetic, slice(0, cut + 1)) == []
    assert set(_frames_equal(features, synthetic, slice(cut + 1, None))) == set(FEATURE_ORDER)


def test_windowed_features_do_not_depend_on_older_history(synthetic: FeatureSet) -> None:
    # the upstream writer recomputes on a trimmed history; window-local features must not notice
    panel, macro, sectors = synthetic_market()
    start = panel.dates[100]
    trimmed = Panel(*(getattr(panel, f).loc[start:] for f in ("open", "high", "low", "close", "volume", "vwap")))
    features = compute_features(trimmed, {s: f.loc[start:] for s, f in macro.items()}, sector_of=sectors)
    full_tail = FeatureSet({name: frame.iloc[100:] for name, frame in synthetic.frames.items()})
    differing = set(_frames_equal(features, full_tail, slice(-1, None)))
    assert differing <= HISTORY_DEPENDENT
    assert "rsi_14" in differing  # EWMs do remember (so the check above can see a difference)


# -- determinism ---------------------------------------------------------------------------------------

def test_same_inputs_give_byte_identical_features(synthetic: FeatureSet) -> None:
    again = compute_synthetic()
    for name in FEATURE_ORDER:
        assert synthetic.frames[name].to_numpy().tobytes() == again.frames[name].to_numpy().tobytes(), name
        assert synthetic.frames[name].to_numpy().dtype == np.float64


# -- FeatureSet views ----------------------------------------------------------------------------------

def test_frames_follow_feature_order_and_panel_axes(synthetic: FeatureSet) -> None:
    panel, _, _ = synthetic_market()
    assert tuple(synthetic.frames) == FEATURE_ORDER
    for frame in synthetic.frames.values():
        assert frame.index.equals(panel.dates) and list(frame.columns) == panel.tickers
    assert synthetic.tickers == panel.tickers


def test_for_ticker_is_float32_dates_by_features(synthetic: FeatureSet) -> None:
    one = synthetic.for_ticker("SYN0003")
    assert list(one.columns) == list(FEATURE_ORDER) and (one.dtypes == np.float32).all()
    assert one.index.equals(synthetic.dates)
    expected = np.stack([synthetic.frames[n]["SYN0003"].to_numpy() for n in FEATURE_ORDER], axis=1)
    assert np.array_equal(one.to_numpy(), expected.astype(np.float32), equal_nan=True)
    with pytest.raises(KeyError, match="NOPE"):
        synthetic.for_ticker("NOPE")


def test_by_ticker_equals_for_ticker_for_every_ticker(synthetic: FeatureSet) -> None:
    every = synthetic.by_ticker()
    assert list(every) == synthetic.tickers
    for ticker, frame in every.items():
        pd.testing.assert_frame_equal(frame, synthetic.for_ticker(ticker))


def test_latest_is_the_last_row(synthetic: FeatureSet) -> None:
    latest = synthetic.latest()
    assert list(latest.index) == synthetic.tickers and list(latest.columns) == list(FEATURE_ORDER)
    for ticker in ("SYN0000", "SYN0017"):
        assert np.array_equal(latest.loc[ticker].to_numpy(), synthetic.for_ticker(ticker).to_numpy()[-1],
                              equal_nan=True)


# -- errors --------------------------------------------------------------------------------------------

def test_duplicate_or_unsorted_dates_are_refused() -> None:
    panel = panel_of({"AAA": {"Close": [1.0, 2.0, 3.0]}})
    close = panel.close
    for bad, match in ((close.iloc[[0, 1, 1]], "duplicate date"), (close.iloc[[1, 0, 2]], "increasing")):
        broken = Panel(*(bad for _ in range(6)))
        with pytest.raises(DataError, match=match):
            compute_features(broken, {})


def test_macro_frame_without_close_is_refused() -> None:
    panel = panel_of({"AAA": {"Close": [1.0, 2.0, 3.0]}})
    with pytest.raises(DataError, match="'VIX' has no 'Close'"):
        compute_features(panel, {"VIX": pd.DataFrame({"Open": [1.0]}, index=panel.dates[:1])})


def test_short_and_empty_panels_give_nan_not_errors() -> None:
    short = compute_features(panel_of({"AAA": {"Close": [1.0, 2.0]}, "BBB": {"Close": [2.0, 1.0]}}), {})
    assert np.isnan(short.frames["return_60d"].to_numpy()).all()
    assert short.frames["momentum_5d"].shape == (2, 2)
    empty = compute_features(panel_of({"AAA": {"Close": []}}), {})
    assert empty.latest().shape == (1, len(FEATURE_ORDER)) and empty.latest().isna().all().all()
