import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from alpha_engine.predictor._volatility import VOLATILITY_FEATURES, VolatilityModel, rank_normalize_by_date

N_DATES, N_TICKERS = 240, 30


def _dataset(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Long frame where realized_vol_20d drives the size of the label; the other features are noise."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=N_DATES)
    tickers = [f"T{i:02d}" for i in range(N_TICKERS)]
    index = pd.MultiIndex.from_product([dates, tickers], names=["date", "ticker"])
    n = len(index)
    level = np.tile(np.linspace(0.1, 0.6, N_TICKERS), N_DATES) * np.exp(rng.normal(0, 0.2, n))
    frame = pd.DataFrame({
        "realized_vol_20d": level,
        "atr_14_pct": level * 0.1 + rng.normal(0, 0.05, n),
        "beta_60d": rng.normal(1, 0.3, n),
    }, index=index)
    frame.loc[rng.random(n) < 0.05, "beta_60d"] = np.nan
    label = pd.Series(level * rng.standard_normal(n), index=index, name="label")
    return frame, label


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return _dataset()


def _model(**overrides: object) -> VolatilityModel:
    params: dict[str, object] = {"n_estimators": 40, "min_child_samples": 20}
    params.update(overrides)
    return VolatilityModel(**params)  # type: ignore[arg-type]


def test_rank_normalize_maps_each_date_to_unit_interval() -> None:
    index = pd.MultiIndex.from_tuples(
        [("2024-01-02", "A"), ("2024-01-02", "B"), ("2024-01-02", "C"), ("2024-01-02", "D"), ("2024-01-02", "E"),
         ("2024-01-03", "A"), ("2024-01-03", "B")], names=["date", "ticker"])
    frame = pd.DataFrame({"x": [3.0, 1.0, 2.0, np.nan, 2.0, 7.0, np.inf]}, index=index)
    ranked = rank_normalize_by_date(frame)["x"].to_numpy()
    np.testing.assert_array_equal(ranked[:5], [1.0, 0.0, 0.5, np.nan, 0.5])
    # inf counts as missing, so A is alone on its date.
    np.testing.assert_array_equal(ranked[5:], [0.5, np.nan])


def test_rank_normalize_is_per_date() -> None:
    frame, _ = _dataset()
    ranked = rank_normalize_by_date(frame)
    shifted = frame.copy()
    first = frame.index.get_level_values("date") == frame.index.get_level_values("date")[0]
    shifted.loc[first, "realized_vol_20d"] *= 100.0
    changed = rank_normalize_by_date(shifted)
    pd.testing.assert_frame_equal(ranked, changed)
    assert ranked.groupby(level="date")["realized_vol_20d"].agg(["min", "max"]).eq([0.0, 1.0]).all().all()


def test_predictions_ignore_per_date_scale_of_features(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model().fit(frame, label)
    factor = pd.Series(np.linspace(0.5, 5.0, N_DATES), index=frame.index.levels[0])
    scaled = frame.mul(factor.reindex(frame.index.get_level_values("date")).to_numpy(), axis=0)
    np.testing.assert_array_equal(model.predict(frame).to_numpy(), model.predict(scaled).to_numpy())


def test_fit_is_deterministic(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    first = _model(seed=7).fit(frame, label)
    second = _model(seed=7).fit(frame, label)
    assert first.to_text() == second.to_text()
    for pinned in ("[deterministic: 1]", "[force_row_wise: 1]", "[seed: 7]", "[num_threads: 1]"):
        assert pinned in first.to_text()
    np.testing.assert_array_equal(first.predict(frame).to_numpy(), second.predict(frame).to_numpy())


def test_the_model_does_not_depend_on_the_thread_count(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    one, two = _model(num_threads=1).fit(frame, label), _model(num_threads=2).fit(frame, label)
    assert one.to_text().replace("[num_threads: 1]", "[num_threads: 2]") == two.to_text()


def test_a_fit_on_shared_bins_equals_a_fit_on_its_own_rows(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    ranked = rank_normalize_by_date(frame)
    dates = frame.index.get_level_values("date")
    rows = np.flatnonzero(dates < dates.unique()[150])
    model = _model()
    # `fit` bins its fit block (before the early-stopping block): share exactly those edges.
    fit_block = rows[model._early_stopping_blocks(pd.DatetimeIndex(dates[rows]))[0]]
    binned = model.bin_rows(ranked, label.abs().to_numpy(), reference_rows=fit_block)
    shared = _model().fit_binned(binned, rows)
    own = _model().fit(ranked.iloc[rows], label.iloc[rows], ranked=True)
    assert shared.to_text() == own.to_text()
    assert (shared.best_iteration_, shared.n_fit_rows_, shared.n_valid_rows_, shared.valid_start_) == \
        (own.best_iteration_, own.n_fit_rows_, own.n_valid_rows_, own.valid_start_)
    # A later, larger fold reuses the same bins: only the rows differ.
    later = _model().fit_binned(binned, np.arange(len(frame)))
    assert later.n_fit_rows_ + later.n_valid_rows_ == len(frame)
    with pytest.raises(ValueError, match="target must be finite"):
        model.bin_rows(ranked, label.to_numpy() * np.nan, reference_rows=rows)


def test_features_used_records_present_and_missing(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model().fit(frame.assign(unrelated=1.0)[["beta_60d", "realized_vol_20d", "unrelated", "atr_14_pct"]],
                         label)
    assert model.features_used_ == ("atr_14_pct", "realized_vol_20d", "beta_60d")
    assert set(model.features_missing_) == set(VOLATILITY_FEATURES) - set(model.features_used_)
    assert model.n_features_in_ == 3
    assert model.booster_.feature_name() == list(model.features_used_)


def test_fit_without_any_volatility_feature_names_them(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    with pytest.raises(ValueError, match="realized_vol_20d"):
        _model().fit(frame.rename(columns=lambda c: c + "_x"), label)


def test_validation_block_is_the_last_dates(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    # The last 21 dates are unlabelled (forward window), so they are neither fit nor validation.
    dates = frame.index.levels[0]
    label = label.where(frame.index.get_level_values("date") < dates[-21])
    model = _model().fit(frame, label)
    labelled_dates = dates[:-21]
    n_valid = round(0.15 * len(labelled_dates))
    assert model.valid_start_ == labelled_dates[len(labelled_dates) - n_valid]
    assert model.n_valid_rows_ == n_valid * N_TICKERS
    assert model.n_fit_rows_ == (len(labelled_dates) - n_valid) * N_TICKERS


@pytest.mark.parametrize("purge", [1, 5, 21])
def test_the_dates_in_front_of_the_validation_block_are_purged(data: tuple[pd.DataFrame, pd.Series],
                                                                purge: int) -> None:
    frame, _ = data
    row_dates = pd.DatetimeIndex(frame.index.get_level_values("date"))
    dates = row_dates.unique()
    in_fit, in_valid, valid_start = _model(purge=purge)._early_stopping_blocks(row_dates)
    n_valid = round(0.15 * len(dates))
    first_valid = len(dates) - n_valid
    assert valid_start == dates[first_valid]
    # Row indices: fit rows are the dates before first_valid - purge, validation rows the last n_valid dates,
    # and the purge dates' rows are in neither.
    np.testing.assert_array_equal(np.flatnonzero(in_fit), np.arange((first_valid - purge) * N_TICKERS))
    np.testing.assert_array_equal(np.flatnonzero(in_valid), np.arange(first_valid * N_TICKERS, len(row_dates)))
    # No fit label, spanning `purge` sessions past its date, reaches the validation block.
    last_fit = int(np.flatnonzero(dates == row_dates[in_fit].max())[0])
    assert last_fit + purge < first_valid
    unpurged = _model()._early_stopping_blocks(row_dates)
    assert unpurged[0].sum() == first_valid * N_TICKERS and (unpurged[1] == in_valid).all()


def test_fit_and_fit_binned_train_on_the_purged_fit_block(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model(purge=10).fit(frame, label)
    n_valid = round(0.15 * N_DATES)
    assert (model.n_fit_rows_, model.n_valid_rows_) == ((N_DATES - n_valid - 10) * N_TICKERS, n_valid * N_TICKERS)
    ranked = rank_normalize_by_date(frame)
    rows = np.arange(len(frame))
    fit_block = rows[model._early_stopping_blocks(pd.DatetimeIndex(frame.index.get_level_values("date")))[0]]
    binned = model.bin_rows(ranked, label.abs().to_numpy(), reference_rows=fit_block)
    shared = _model(purge=10).fit_binned(binned, rows)
    assert shared.to_text() == model.to_text() and shared.n_fit_rows_ == model.n_fit_rows_
    # The purged rows' labels play no part: changing them changes nothing.
    purged = ~np.isin(rows, fit_block) & (frame.index.get_level_values("date") < model.valid_start_)
    assert purged.sum() == 10 * N_TICKERS
    assert _model(purge=10).fit(frame, label.where(~purged, label * 5.0 + 1.0)).to_text() == model.to_text()


def test_a_purge_that_leaves_no_fit_dates_is_refused(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    with pytest.raises(ValueError, match="purge=300"):
        _model(purge=300).fit(frame, label)


def test_validation_labels_only_choose_the_stopping_round(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    base = _model().fit(frame, label)
    in_valid = frame.index.get_level_values("date") >= base.valid_start_
    in_fit = ~in_valid
    noisy_valid = _model().fit(frame, label.where(in_fit, label * 3.0 + 0.5))
    noisy_fit = _model().fit(frame, label.where(in_valid, label * 3.0 + 0.5))
    ranked = rank_normalize_by_date(frame[list(base.features_used_)]).to_numpy()
    k = min(base.best_iteration_, noisy_valid.best_iteration_)
    np.testing.assert_array_equal(base.booster_.predict(ranked, num_iteration=k),
                                  noisy_valid.booster_.predict(ranked, num_iteration=k))
    assert not np.array_equal(base.booster_.predict(ranked, num_iteration=1),
                              noisy_fit.booster_.predict(ranked, num_iteration=1))


def test_early_stopping_stops_on_noise(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, _ = data
    noise = pd.Series(np.random.default_rng(1).standard_normal(len(frame)), index=frame.index)
    model = _model(n_estimators=300, early_stopping_rounds=10).fit(frame, noise)
    assert model.best_iteration_ < 300
    assert model.booster_.current_iteration() < 300


def test_without_validation_all_rounds_are_kept(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model(n_estimators=15, valid_fraction=0.0).fit(frame, label)
    assert model.best_iteration_ == 15
    assert model.valid_start_ is None
    assert model.n_valid_rows_ == 0


def test_informative_feature_has_the_most_gain(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model().fit(frame, label)
    gains = model.feature_importance()
    assert list(gains) == list(model.features_used_)
    assert max(gains, key=lambda name: gains[name]) == "realized_vol_20d"
    test = frame.index.get_level_values("date") >= model.valid_start_
    predicted = model.predict(frame[test])
    assert np.corrcoef(predicted, label[test].abs())[0, 1] > 0.2


def test_predict_keeps_index_and_name(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model().fit(frame, label)
    part = frame.iloc[::7]
    predicted = model.predict(part)
    assert predicted.name == "expected_move"
    assert predicted.index.equals(part.index)
    assert np.isfinite(predicted).all()


def test_text_round_trip_predicts_identically(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model(learning_rate=0.1, num_leaves=15, seed=3).fit(frame, label)
    loaded = VolatilityModel.from_text(model.to_text())
    np.testing.assert_array_equal(model.predict(frame).to_numpy(), loaded.predict(frame).to_numpy())
    assert loaded.features_used_ == model.features_used_
    assert loaded.best_iteration_ == model.best_iteration_
    assert (loaded.learning_rate, loaded.num_leaves, loaded.min_child_samples, loaded.seed) == (0.1, 15, 20, 3)
    assert loaded.to_text() == model.to_text()
    assert loaded.feature_importance() == model.feature_importance()


def test_from_text_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="from_text"):
        VolatilityModel.from_text("not a model")


def test_predict_requires_fitted_features(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = _model().fit(frame, label)
    with pytest.raises(ValueError, match="beta_60d"):
        model.predict(frame.drop(columns=["beta_60d"]))


def test_unfitted_model_refuses_to_predict(data: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(NotFittedError):
        _model().predict(data[0])


def test_flat_index_is_rejected(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    with pytest.raises(ValueError, match="'date' level"):
        _model().fit(frame.reset_index(drop=True), label.reset_index(drop=True))


@pytest.mark.parametrize("param", [{"valid_fraction": 1.0}, {"n_estimators": 0}, {"learning_rate": 0.0},
                                   {"purge": -1}])
def test_invalid_parameters_raise_in_fit(data: tuple[pd.DataFrame, pd.Series], param: dict[str, float]) -> None:
    model = _model(**param)  # the constructor only stores
    with pytest.raises(ValueError, match=next(iter(param))):
        model.fit(*data)
