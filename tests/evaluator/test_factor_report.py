"""The factor report: its kernels against scipy/pandas, the whole report against alphalens, the
look-ahead guard against planted leaks, and the evaluator's daily ICs on the fast path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alpha_engine.evaluator import (
    LookAheadError,
    check_forward_returns,
    cross_sectional_ic,
    factor_report,
    forward_returns,
    hac_mean_interval,
    rank_ic,
)
from alpha_engine.evaluator import _factor as factor_module
from alpha_engine.evaluator._cross_section import row_quantiles, row_ranks
from alpha_engine.evaluator._predictor_eval import daily_ics

HORIZONS = (1, 5, 10)


def _panel(n_dates: int = 150, n_assets: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closes, a factor with a weak genuine signal (it leans on the next day's return) and 2% gaps,
    and one of 4 groups per asset."""
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.02, size=(n_dates, n_assets))
    prices = 100 * np.cumprod(1 + returns, axis=0)
    factor = rng.normal(0, 1, size=(n_dates, n_assets))
    factor[:-1] += 8.0 * returns[1:]
    factor[rng.random(factor.shape) < 0.02] = np.nan
    return factor, prices, np.arange(n_assets) % 4


def _reference_ic(factor: np.ndarray, labels: np.ndarray, min_names: int) -> np.ndarray:
    """Per date, scipy.stats.spearmanr over the names with both values (the independent oracle)."""
    out = np.full(len(factor), np.nan)
    for t in range(len(factor)):
        both = np.isfinite(factor[t]) & np.isfinite(labels[t])
        if both.sum() >= min_names:
            out[t] = stats.spearmanr(factor[t][both], labels[t][both]).statistic
    return out


def test_row_ranks_are_scipys_average_ranks_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(1)
    values = rng.integers(0, 6, size=(30, 25)).astype(float)  # many ties
    values[rng.random(values.shape) < 0.1] = np.nan
    ranks = row_ranks(values).ranks
    for t in range(len(values)):
        finite = np.isfinite(values[t])
        np.testing.assert_array_equal(ranks[t][finite], stats.rankdata(values[t][finite]))
        assert np.isnan(ranks[t][~finite]).all()


def test_row_ranks_order_values_that_differ_only_in_their_last_bits() -> None:
    # The integer-key sort drops the lowest bits; values equal but for those bits must still rank exactly.
    base = 1.0 + np.arange(300) * np.finfo(float).eps
    values = np.random.default_rng(2).permuted(np.tile(base, (3, 1)), axis=1)
    values[1, :4] = [-0.0, 0.0, -1e-300, 1e-300]
    ranks = row_ranks(values).ranks
    for t in range(3):
        np.testing.assert_array_equal(ranks[t], stats.rankdata(values[t]))


def test_row_quantiles_are_pandas_qcut_labels() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=(20, 37))
    values[rng.random(values.shape) < 0.1] = np.nan
    labels = row_quantiles(row_ranks(values), values, 5)
    for t in range(len(values)):
        finite = np.isfinite(values[t])
        expected = pd.qcut(values[t][finite], 5, labels=False) + 1
        np.testing.assert_array_equal(labels[t][finite], expected)
        assert (labels[t][~finite] == 0).all()


def test_cross_sectional_ic_is_scipys_spearman_per_date() -> None:
    factor, prices, _ = _panel()
    labels = forward_returns(prices, 5)
    ours = cross_sectional_ic(factor, labels, min_names=10)
    np.testing.assert_allclose(ours, _reference_ic(factor, labels, 10), rtol=0, atol=1e-12)
    assert np.isnan(ours[-5:]).all()


def test_forward_returns_end_with_the_data_and_skip_missing_closes() -> None:
    prices = np.array([[10.0, 5.0], [11.0, np.nan], [12.1, 5.0], [13.31, 0.0]])
    labels = forward_returns(prices, 2)
    np.testing.assert_allclose(labels[:2, 0], [0.21, 0.21])
    assert labels[0, 1] == 0.0 and np.isnan(labels[1, 1])  # a missing close leaves the label missing
    assert np.isnan(labels[2:]).all()  # no close two rows after the last two dates: never filled


def test_the_look_ahead_guard_refuses_a_label_filled_past_the_data_end(monkeypatch: pytest.MonkeyPatch) -> None:
    factor, prices, _ = _panel()

    def filled(p: np.ndarray, h: int) -> np.ndarray:  # the planted leak: labels forward-filled to the end
        return pd.DataFrame(forward_returns(p, h)).ffill().to_numpy()

    monkeypatch.setattr(factor_module, "forward_returns", filled)
    with pytest.raises(LookAheadError, match="no close exists 1 rows later"):
        factor_report(factor, prices, horizons=(1,))


def test_the_look_ahead_guard_refuses_a_label_shifted_off_its_date(monkeypatch: pytest.MonkeyPatch) -> None:
    factor, prices, _ = _panel()

    def shifted(p: np.ndarray, h: int) -> np.ndarray:  # the planted leak: date t gets t+1's label
        out = np.full(p.shape, np.nan)
        out[:-h - 1] = forward_returns(p, h)[1:-h]
        return out

    monkeypatch.setattr(factor_module, "forward_returns", shifted)
    with pytest.raises(LookAheadError, match="misaligned"):
        factor_report(factor, prices, horizons=(5,))
    # Unpatched, the same data passes the guard.
    monkeypatch.undo()
    check_forward_returns(prices, forward_returns(prices, 5), 5)


def test_the_report_summarises_its_daily_ics() -> None:
    factor, prices, _ = _panel()
    report = factor_report(factor, prices, horizons=(5,), min_names=10, min_dates=20).horizon(5)
    ic = report.rank_ic[np.isfinite(report.rank_ic)]
    assert report.n_dates == len(ic) == 150 - 5
    assert report.ic_mean == pytest.approx(ic.mean()) and report.ic_std == pytest.approx(ic.std(ddof=1))
    assert report.icir == pytest.approx(ic.mean() / ic.std(ddof=1))
    assert report.hit_rate == pytest.approx((ic > 0).mean())
    assert report.ic_interval == hac_mean_interval(report.rank_ic, 10, 20)
    assert report.as_dict()["rank_ic_interval"]["hac_lag"] == 10


def test_the_signal_shows_in_the_report() -> None:
    factor, prices, groups = _panel(n_dates=400, n_assets=100)
    report = factor_report(factor, prices, horizons=(1,), groups=groups).horizon(1)
    assert report.ic_interval is not None and report.ic_interval.low > 0
    assert np.all(np.diff(report.quantile_mean_return) > 0)  # the bins line up with the next day's return
    assert np.nanmean(report.spread) > 0 and all(v > 0 for v in report.group_ic.values())


alphalens = pytest.importorskip("alphalens")


@pytest.fixture(scope="module")
def alphalens_oracle() -> dict[str, object]:
    """alphalens-reloaded (dev-only) on the same panel: the factor's last 10 dates, which alphalens
    drops for want of a 10-day return, are left out of ours too so that both use the same dates."""
    from alphalens import performance, utils

    factor, prices, groups = _panel()
    factor[-max(HORIZONS):] = np.nan
    dates = pd.bdate_range("2020-01-01", periods=len(prices), freq="B")
    assets = [f"A{i:02d}" for i in range(prices.shape[1])]
    series = pd.DataFrame(factor, index=dates, columns=assets).stack()
    series.index.names = ["date", "asset"]
    data = utils.get_clean_factor_and_forward_returns(
        series, pd.DataFrame(prices, index=dates, columns=assets), groupby=dict(zip(assets, groups, strict=True)),
        quantiles=5, periods=HORIZONS, max_loss=1.0)
    by_date, _ = performance.mean_return_by_quantile(data, by_date=True, demeaned=True)
    ours = factor_report(factor, prices, horizons=HORIZONS, quantiles=5, groups=groups, min_names=5)
    return {"data": data, "ours": ours, "dates": dates, "performance": performance,
            "ic": performance.factor_information_coefficient(data),
            "group_ic": performance.mean_information_coefficient(data, by_group=True),
            "quantile": performance.mean_return_by_quantile(data, demeaned=True)[0],
            "spread": performance.compute_mean_returns_spread(by_date, 5, 1)[0]}


@pytest.mark.parametrize("h", HORIZONS)
def test_rank_ic_matches_alphalens(alphalens_oracle: dict[str, object], h: int) -> None:
    ic: pd.DataFrame = alphalens_oracle["ic"]  # type: ignore[assignment]
    ours = pd.Series(alphalens_oracle["ours"].horizon(h).rank_ic, index=alphalens_oracle["dates"])  # type: ignore[attr-defined]
    theirs = ic[f"{h}D"]
    # The issue asks for 1e-3 (tie handling); on the same dates and names the two agree far closer.
    np.testing.assert_allclose(ours.reindex(theirs.index), theirs, rtol=0, atol=1e-9)
    assert abs(ours.mean() - theirs.mean()) < 1e-3
    assert ours.dropna().index.equals(theirs.dropna().index)


@pytest.mark.parametrize("h", HORIZONS)
def test_quantile_returns_spread_and_group_ic_match_alphalens(alphalens_oracle: dict[str, object], h: int) -> None:
    report = alphalens_oracle["ours"].horizon(h)  # type: ignore[attr-defined]
    quantile: pd.DataFrame = alphalens_oracle["quantile"]  # type: ignore[assignment]
    np.testing.assert_allclose(report.quantile_mean_return, quantile[f"{h}D"].to_numpy(), rtol=1e-9, atol=1e-12)
    spread: pd.DataFrame = alphalens_oracle["spread"]  # type: ignore[assignment]
    # alphalens halves the difference (a dollar-neutral book at 100% gross); ours is top minus bottom.
    assert np.nanmean(report.spread) == pytest.approx(2 * spread[f"{h}D"].mean(), rel=1e-9)
    group_ic: pd.DataFrame = alphalens_oracle["group_ic"]  # type: ignore[assignment]
    for group, value in report.group_ic.items():
        assert value == pytest.approx(group_ic.loc[int(group), f"{h}D"], abs=1e-9)


@pytest.mark.parametrize("h", HORIZONS)
def test_turnover_and_rank_autocorrelation_match_alphalens(alphalens_oracle: dict[str, object], h: int) -> None:
    performance = alphalens_oracle["performance"]
    data: pd.DataFrame = alphalens_oracle["data"]  # type: ignore[assignment]
    report = alphalens_oracle["ours"].horizon(h)  # type: ignore[attr-defined]
    theirs = [performance.quantile_turnover(data["factor_quantile"], q, period=h).mean()  # type: ignore[attr-defined]
              for q in range(1, 6)]
    np.testing.assert_allclose(report.quantile_turnover, theirs, rtol=1e-9)
    autocorrelation = performance.factor_rank_autocorrelation(data, period=h).mean()  # type: ignore[attr-defined]
    assert report.rank_autocorrelation == pytest.approx(autocorrelation, rel=1e-9)


def _daily_ics_by_date(frame: pd.DataFrame, column: str, outcome: str, min_names: int) -> pd.Series:
    """The per-date loop daily_ics replaced (the previous implementation, kept as the oracle)."""
    values: dict[str, float] = {}
    for day, rows in frame.groupby("signal_date", sort=True):
        realised = rows[np.isfinite(rows[outcome].to_numpy(dtype=float))]
        if len(realised) >= min_names:
            ic = rank_ic(realised[column], realised[outcome])
            if np.isfinite(ic):
                values[str(day)] = ic
    return pd.Series(values, dtype=float)


def test_daily_ics_on_the_fast_path_equal_the_per_date_loop() -> None:
    rng = np.random.default_rng(4)
    rows = []
    for week, size in enumerate([30, 4, 12, 25, 3, 18]):
        day = f"2022-0{week + 1}-07"
        for i in range(size):
            rows.append({"signal_date": day, "ticker": f"T{i % 10}",  # a ticker listed twice on a date stays two rows
                         "score": float(rng.integers(0, 5)), "alpha_5": rng.normal()})
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)
    frame.loc[frame.index[::7], "alpha_5"] = np.nan
    frame.loc[(frame["signal_date"] == "2022-06-07"), "score"] = 1.0  # a constant side gives no IC
    ours, loop = daily_ics(frame, "score", "alpha_5", 5), _daily_ics_by_date(frame, "score", "alpha_5", 5)
    assert list(ours.index) == list(loop.index) == ["2022-01-07", "2022-03-07", "2022-04-07"]
    np.testing.assert_allclose(ours.to_numpy(), loop.to_numpy(), rtol=0, atol=1e-12)
    assert daily_ics(frame.iloc[:0], "score", "alpha_5", 5).empty
