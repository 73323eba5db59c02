"""Feature formulas against plain hand computations (Python loops, statistics) on tiny panels."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from features_support import macro_of, panel_of

from alpha_engine.data.features import FeatureSet, compute_features, cross_sectional_zscore

N = 150
RTOL = 1e-10


def _walk(seed: int, n: int = N, start: float = 50.0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(start * np.exp(np.cumsum(rng.normal(0.0, 0.02, n))))


@pytest.fixture(scope="module")
def tiny() -> tuple[dict[str, dict[str, list[float]]], dict[str, list[float]], FeatureSet]:
    rng = np.random.default_rng(11)
    bars = {}
    for k, ticker in enumerate(("AAA", "BBB", "CCC")):
        close = _walk(k)
        open_ = [c * math.exp(e) for c, e in zip(close, rng.normal(0.0, 0.01, N), strict=True)]
        high = [max(o, c) * (1 + abs(e)) for o, c, e in zip(open_, close, rng.normal(0.0, 0.01, N), strict=True)]
        low = [min(o, c) * (1 - abs(e)) for o, c, e in zip(open_, close, rng.normal(0.0, 0.01, N), strict=True)]
        volume = list(np.round(np.exp(rng.normal(13.0, 0.5, N))))
        bars[ticker] = {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}
    macro = {"SPY": _walk(7, start=300.0), "VIX": list(15 + 10 * rng.random(N)), "VIX3M": list(18 + 5 * rng.random(N)),
             "TNX": list(2 + rng.random(N)), "IRX": list(1 + rng.random(N)), "GLD": _walk(8), "USO": _walk(9),
             "XLK": _walk(10)}
    features = compute_features(panel_of(bars), macro_of(macro), sector_of={"AAA": "XLK", "BBB": "XLK"})
    return bars, macro, features


def _column(features: FeatureSet, name: str, ticker: str = "AAA") -> np.ndarray:
    return features.frames[name][ticker].to_numpy()


def _assert_matches(actual: np.ndarray, expected: list[float | None]) -> None:
    want = np.array([np.nan if v is None else v for v in expected], dtype=float)
    assert np.array_equal(np.isnan(actual), np.isnan(want)), "warm-up NaN pattern differs"
    np.testing.assert_allclose(actual[~np.isnan(want)], want[~np.isnan(want)], rtol=RTOL, atol=1e-13)


def _ewm(values: list[float | None], alpha: float, min_periods: int) -> list[float | None]:
    """adjust=False EWM over values without gaps after the first valid one."""
    out: list[float | None] = []
    state, seen = None, 0
    for v in values:
        if v is None:
            out.append(None)
            continue
        state = v if state is None else (1 - alpha) * state + alpha * v
        seen += 1
        out.append(state if seen >= min_periods else None)
    return out


def _sub(a: list[float | None], b: list[float | None]) -> list[float | None]:
    return [None if x is None or y is None else x - y for x, y in zip(a, b, strict=True)]


def _rsi(close: list[float]) -> list[float | None]:
    deltas: list[float | None] = [None] + [close[t] - close[t - 1] for t in range(1, len(close))]
    gains = _ewm([None if d is None else max(d, 0.0) for d in deltas], 1 / 14, 14)
    losses = _ewm([None if d is None else max(-d, 0.0) for d in deltas], 1 / 14, 14)
    return [None if g is None or lo is None else 100 - 100 / (1 + g / lo) for g, lo in zip(gains, losses, strict=True)]


def test_rsi_is_wilder_ewm_of_gains_and_losses(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    expected = _rsi(bars["AAA"]["Close"])
    assert expected[13] is None and expected[14] is not None  # 14 changes needed
    _assert_matches(_column(features, "rsi_14"), expected)


def test_rsi_of_a_flat_stretch_is_50_and_of_a_rising_one_100() -> None:
    closes = {"FLAT": {"Close": [10.0] * 20}, "UP": {"Close": [10.0 + t for t in range(20)]}}
    features = compute_features(panel_of(closes), {})
    assert features.frames["rsi_14"]["FLAT"].iloc[-1] == 50.0
    assert features.frames["rsi_14"]["UP"].iloc[-1] == 100.0


def test_macd_line_signal_and_cross(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    close: list[float | None] = list(bars["AAA"]["Close"])
    macd = _sub(_ewm(close, 2 / 13, 12), _ewm(close, 2 / 27, 26))
    signal = _ewm(macd, 2 / 10, 9)
    _assert_matches(_column(features, "macd_line_last"), macd)
    _assert_matches(_column(features, "macd_above_zero"), [None if m is None else float(m > 0) for m in macd])
    spread = _sub(macd, signal)
    events: list[float | None] = [None]
    for t in range(1, N):
        prev, cur = spread[t - 1], spread[t]
        if prev is None or cur is None:
            events.append(None)
        else:
            events.append(1.0 if cur > 0 >= prev else -1.0 if cur < 0 <= prev else 0.0)
    cross: list[float | None] = [None] * 2
    for t in range(2, N):
        window = events[t - 2:t + 1]
        cross.append(None if None in window else next((e for e in reversed(window) if e), 0.0))
    _assert_matches(_column(features, "macd_cross"), cross)
    assert {-1.0, 1.0} <= set(_column(features, "macd_cross")[~np.isnan(_column(features, "macd_cross"))])


def test_momentum_and_returns_are_simple_returns(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, macro, features = tiny
    close = bars["AAA"]["Close"]
    for name, n in (("momentum_5d", 5), ("momentum_20d", 20), ("return_60d", 60), ("return_120d", 120)):
        _assert_matches(_column(features, name), [None if t < n else close[t] / close[t - n] - 1 for t in range(N)])
    spy = macro["SPY"]
    _assert_matches(_column(features, "return_vs_spy_5d"),
                    [None if t < 5 else close[t] / close[t - 5] - spy[t] / spy[t - 5] for t in range(N)])
    _assert_matches(_column(features, "price_accel"),
                    [None if t < 20 else close[t] / close[t - 5] - close[t] / close[t - 20] for t in range(N)])


def test_bollinger_pct_is_the_position_within_two_sigma_bands(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    close = bars["AAA"]["Close"]
    expected: list[float | None] = []
    for t in range(N):
        if t < 19:
            expected.append(None)
            continue
        window = close[t - 19:t + 1]
        mid, sd = statistics.fmean(window), statistics.stdev(window)
        expected.append((close[t] - (mid - 2 * sd)) / (4 * sd))
    _assert_matches(_column(features, "bollinger_pct"), expected)


def test_atr_pct_is_ewm_of_true_range_over_close(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    b = bars["AAA"]
    true_range: list[float | None] = [b["High"][0] - b["Low"][0]]
    for t in range(1, N):
        prev = b["Close"][t - 1]
        true_range.append(max(b["High"][t] - b["Low"][t], abs(b["High"][t] - prev), abs(b["Low"][t] - prev)))
    atr = _ewm(true_range, 2 / 15, 14)
    _assert_matches(_column(features, "atr_14_pct"),
                    [None if a is None else a / c for a, c in zip(atr, b["Close"], strict=True)])


def test_beta_and_idio_vol_are_rolling_ols_on_log_returns(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, macro, features = tiny
    x = np.diff(np.log(bars["AAA"]["Close"]))
    y = np.diff(np.log(macro["SPY"]))
    betas: list[float | None] = [None] * 60
    idio: list[float | None] = [None] * 60
    for t in range(60, N):
        xs, ys = x[t - 60:t], y[t - 60:t]  # log returns of rows t-59..t
        beta = statistics.covariance(list(xs), list(ys)) / statistics.variance(list(ys))
        alpha = statistics.fmean(xs) - beta * statistics.fmean(ys)
        betas.append(beta)
        idio.append(statistics.stdev(list(xs - alpha - beta * ys)) * math.sqrt(252))
    _assert_matches(_column(features, "beta_60d"), betas)
    got = _column(features, "idio_vol_60d")
    np.testing.assert_allclose(got[60:], np.array(idio[60:], dtype=float), rtol=1e-8)


def test_max_drawdown_follows_upstream_two_window_formula(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    close = bars["AAA"]["Close"]
    drawdown = [None if t < 59 else close[t] / max(close[t - 59:t + 1]) - 1 for t in range(N)]
    expected = [None if t < 118 else min(d for d in drawdown[t - 59:t + 1] if d is not None) for t in range(N)]
    _assert_matches(_column(features, "max_drawdown_60d"), expected)


def test_avg_volume_uses_the_expanding_mean_not_the_whole_series(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    volume = bars["AAA"]["Volume"]
    expected = [None if t < 19 else statistics.fmean(volume[t - 19:t + 1]) / statistics.fmean(volume[:t + 1])
                for t in range(N)]
    _assert_matches(_column(features, "avg_volume_20d"), expected)


def test_obv_slope_and_volume_ratios(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    close, volume = bars["AAA"]["Close"], bars["AAA"]["Volume"]
    obv = [0.0]
    for t in range(1, N):
        obv.append(obv[-1] + math.copysign(volume[t], close[t] - close[t - 1]))
    slope = [None if t < 19 else (statistics.fmean(obv[t - 4:t + 1]) - statistics.fmean(obv[t - 19:t + 1]))
             / statistics.fmean(volume[t - 19:t + 1]) for t in range(N)]
    _assert_matches(_column(features, "obv_slope_10d"), slope)
    trend = [None if t < 19 else statistics.fmean(volume[t - 4:t + 1]) / statistics.fmean(volume[t - 19:t + 1])
             for t in range(N)]
    _assert_matches(_column(features, "volume_trend"), trend)


def test_overnight_and_intraday_returns(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    b = bars["AAA"]
    overnight = [None if t < 5 else sum(b["Open"][s] / b["Close"][s - 1] - 1 for s in range(t - 4, t + 1))
                 for t in range(N)]
    intraday = [None if t < 4 else sum(b["Close"][s] / b["Open"][s] - 1 for s in range(t - 4, t + 1)) for t in range(N)]
    _assert_matches(_column(features, "overnight_return_5d"), overnight)
    _assert_matches(_column(features, "intraday_return_5d"), intraday)
    _assert_matches(_column(features, "dist_from_20d_high"),
                    [None if t < 19 else b["Close"][t] / max(b["High"][t - 19:t + 1]) - 1 for t in range(N)])


def test_macro_features_and_interactions(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, macro, features = tiny
    vix, vix3m, tnx, irx = macro["VIX"], macro["VIX3M"], macro["TNX"], macro["IRX"]
    t = N - 1
    last = features.latest().loc["AAA"].astype(float)
    assert last["vix_level"] == pytest.approx(vix[t] / 20, rel=1e-6)
    assert last["yield_curve_slope"] == pytest.approx((tnx[t] - irx[t]) / 10, rel=1e-6)
    assert last["vix_term_slope"] == pytest.approx((vix3m[t] - vix[t]) / max(vix[t], 1.0), rel=1e-6)
    assert last["gold_mom_5d"] == pytest.approx(macro["GLD"][t] / macro["GLD"][t - 5] - 1, rel=1e-6)
    close = bars["AAA"]["Close"]
    m5 = close[t] / close[t - 5] - 1
    assert _column(features, "mom5d_x_vix")[t] == pytest.approx(m5 * (vix[t] / 20 - 1), rel=1e-12)
    sector = macro["XLK"][t] / macro["XLK"][t - 5] - macro["SPY"][t] / macro["SPY"][t - 5]
    assert _column(features, "sector_vs_spy_5d")[t] == pytest.approx(sector, rel=1e-12)
    assert _column(features, "sector_x_trend")[t] == pytest.approx(
        sector * (macro["SPY"][t] / macro["SPY"][t - 20] - 1), rel=1e-12)
    assert np.isnan(_column(features, "sector_vs_spy_5d", "CCC")).all()  # CCC has no sector


def test_xsect_dispersion_is_the_std_of_the_days_log_returns(tiny) -> None:  # type: ignore[no-untyped-def]
    bars, _, features = tiny
    for t in (1, 77, N - 1):
        returns = [math.log(bars[k]["Close"][t] / bars[k]["Close"][t - 1]) for k in ("AAA", "BBB", "CCC")]
        assert _column(features, "xsect_dispersion")[t] == pytest.approx(statistics.stdev(returns), rel=1e-12)
    assert np.isnan(_column(features, "xsect_dispersion")[0])


def _robust_z(row: list[float]) -> list[float]:
    median = statistics.median(row)
    sigma = 1.4826 * statistics.median([abs(v - median) for v in row])
    clipped = [min(max(v, median - 3 * sigma), median + 3 * sigma) for v in row]
    mean, std = statistics.fmean(clipped), statistics.pstdev(clipped)
    return [(v - mean) / std for v in clipped]


def test_zscore_clips_outliers_at_three_mad_sigmas_then_standardizes() -> None:
    row = [0.01, 0.02, -0.01, 0.03, 0.00, 0.015, 5.0, -0.02]
    frame = pd.DataFrame([row, [1.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan], [2.0] * 8,
                          [*row[:4], np.nan, np.inf, *row[6:]]])
    z = cross_sectional_zscore(frame).to_numpy()
    np.testing.assert_allclose(z[0], _robust_z(row), rtol=1e-12)
    assert z[0].max() < 3  # the outlier is clipped, then re-standardized
    assert abs(z[0].mean()) < 1e-12 and z[0].std() == pytest.approx(1.0)
    assert np.isnan(z[1]).all()  # fewer than 2 finite values
    assert np.isnan(z[2]).all()  # sigma == 0
    known = [v for v in [*row[:4], *row[6:]]]
    np.testing.assert_allclose(z[3][[0, 1, 2, 3, 6, 7]], _robust_z(known), rtol=1e-12)
    assert np.isnan(z[3][[4, 5]]).all()  # NaN and inf count as missing


def test_zscore_features_are_the_zscore_of_their_base(tiny) -> None:  # type: ignore[no-untyped-def]
    _, _, features = tiny
    base = features.frames["beta_60d"]
    pd.testing.assert_frame_equal(features.frames["beta_60d_zscore"], cross_sectional_zscore(base))
    assert np.isfinite(features.frames["beta_60d_zscore"].to_numpy()[-1]).all()
