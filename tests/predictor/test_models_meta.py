import json

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import BayesianRidge

from alpha_engine.predictor._meta import MetaModel, _fit_bayesian_ridge

FEATURES = ["momentum_score", "expected_move", "macro_vix_level"]


def _dataset(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_arrays([pd.bdate_range("2021-01-01", periods=n), [f"T{i % 7}" for i in range(n)]],
                                      names=["date", "ticker"])
    frame = pd.DataFrame({
        "momentum_score": rng.normal(0.0, 0.05, n),
        "expected_move": rng.uniform(0.02, 0.2, n),
        "macro_vix_level": rng.normal(20.0, 5.0, n),
        "other": rng.normal(size=n),
    }, index=index)
    label = 0.5 * frame["momentum_score"] - 0.002 * (frame["macro_vix_level"] - 20.0) + rng.normal(0, 0.02, n)
    return frame, label.rename("label")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return _dataset()


def _row(model: MetaModel, z: float) -> pd.DataFrame:
    """One row z training standard deviations above the training mean on every feature."""
    return pd.DataFrame([model.means_ + z * model.stds_], columns=FEATURES)


def test_fit_recovers_the_signs(data: tuple[pd.DataFrame, pd.Series]) -> None:
    model = MetaModel(features=FEATURES).fit(*data)
    assert model.coef_[0] > 0 and model.coef_[2] < 0
    assert abs(model.coef_[1]) < abs(model.coef_[0])
    assert list(model.feature_names_in_) == FEATURES
    assert model.n_features_in_ == 3


def test_coefficients_are_on_standardized_inputs(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = MetaModel(features=FEATURES, winsor=None).fit(frame, label)
    np.testing.assert_allclose(model.means_, frame[FEATURES].mean().to_numpy())
    np.testing.assert_allclose(model.stds_, frame[FEATURES].std(ddof=0).to_numpy())
    raw = BayesianRidge().fit(frame[FEATURES].to_numpy(), label.to_numpy())
    # The ridge prior is not scale-invariant, so the two agree only approximately.
    np.testing.assert_allclose(model.coef_ / model.stds_, raw.coef_, rtol=2e-2)


def test_posterior_std_is_positive_and_grows_away_from_the_data(data: tuple[pd.DataFrame, pd.Series]) -> None:
    model = MetaModel(features=FEATURES, winsor=None).fit(*data)
    stds = [float(model.predict(_row(model, z), return_std=True)[1].iloc[0]) for z in (0.0, 1.0, 2.5, 10.0)]
    assert stds[0] > 0
    assert stds == sorted(stds) and len(set(stds)) == 4
    assert stds[0] == pytest.approx(np.sqrt(1.0 / model.model_.alpha_), rel=1e-3)


@pytest.mark.parametrize("constant_column", [False, True])
def test_the_sufficient_statistics_fit_equals_sklearns_fit_on_every_row(constant_column: bool) -> None:
    rng = np.random.default_rng(11)
    inputs = rng.normal(size=(5000, 4)) * [1.0, 2.0, 0.5, 3.0] + [0.1, -0.2, 0.0, 1.0]
    if constant_column:
        inputs[:, 2] = 0.7
    target = inputs @ [0.02, -0.01, 0.0, 0.005] + rng.normal(0, 0.05, 5000)
    ours = _fit_bayesian_ridge(inputs, target)
    direct = BayesianRidge(fit_intercept=True, compute_score=True).fit(inputs, target)
    for name in ("coef_", "intercept_", "sigma_", "alpha_", "lambda_", "X_offset_"):
        np.testing.assert_allclose(getattr(ours, name), getattr(direct, name), rtol=1e-8, atol=1e-12, err_msg=name)
    probe = rng.normal(size=(20, 4))
    for a, b in zip(ours.predict(probe, return_std=True), direct.predict(probe, return_std=True), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8)


def test_fit_arrays_and_predict_arrays_match_the_frame_api(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    by_frame = MetaModel(features=FEATURES).fit(frame, label)
    by_arrays = MetaModel(features=FEATURES).fit_arrays(frame[FEATURES].to_numpy(), label.to_numpy())
    assert by_frame.to_json() == by_arrays.to_json()
    np.testing.assert_array_equal(by_arrays.predict_arrays(frame[FEATURES].to_numpy()),
                                  by_frame.predict(frame).to_numpy())
    with pytest.raises(ValueError, match="do not match 3 features"):
        MetaModel(features=FEATURES).fit_arrays(frame[FEATURES[:2]].to_numpy(), label.to_numpy())


def test_winsorization_caps_inputs_at_winsor_sigmas(data: tuple[pd.DataFrame, pd.Series]) -> None:
    capped = MetaModel(features=FEATURES, winsor=3.0).fit(*data)
    assert capped.predict(_row(capped, 8.0)).iloc[0] == capped.predict(_row(capped, 3.5)).iloc[0]
    free = MetaModel(features=FEATURES, winsor=None).fit(*data)
    assert free.predict(_row(free, 8.0)).iloc[0] != free.predict(_row(free, 3.0)).iloc[0]


def test_missing_features_take_the_training_median(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    holes = frame.copy()
    holes.iloc[::5, 0] = np.nan
    model = MetaModel(features=FEATURES).fit(holes, label)
    assert model.medians_[0] == np.nanmedian(holes["momentum_score"])
    query = frame[FEATURES].iloc[:3].copy()
    query.iloc[1, 0] = np.nan
    filled = query.fillna({"momentum_score": model.medians_[0]})
    np.testing.assert_array_equal(model.predict(query).to_numpy(), model.predict(filled).to_numpy())
    assert np.isfinite(model.predict(query)).all()


def test_rows_without_label_are_dropped(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    extra = frame.iloc[:50].copy()
    extra.index = pd.MultiIndex.from_arrays([extra.index.get_level_values("date"), ["NEW"] * 50],
                                            names=["date", "ticker"])
    extra["momentum_score"] = 9.0  # would move medians/means if it were used
    padded = pd.concat([frame, extra])
    padded_label = pd.concat([label, pd.Series(np.nan, index=extra.index)])
    with_nan = MetaModel(features=FEATURES).fit(padded, padded_label)
    without = MetaModel(features=FEATURES).fit(frame, label)
    assert with_nan.to_json() == without.to_json()
    assert with_nan.n_train_ == len(frame)


def test_label_is_aligned_by_index(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    shuffled = label.sample(frac=1.0, random_state=0)
    assert MetaModel(features=FEATURES).fit(frame, shuffled).to_json() == \
        MetaModel(features=FEATURES).fit(frame, label).to_json()


def test_too_few_labelled_rows_raise(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    sparse = label.copy()
    sparse.iloc[99:] = np.nan
    with pytest.raises(ValueError, match="99 row"):
        MetaModel(features=FEATURES).fit(frame, sparse)
    sparse.iloc[99] = 0.0
    MetaModel(features=FEATURES).fit(frame, sparse)


def test_json_round_trip_predicts_identically(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    holes = frame.copy()
    holes.iloc[::4, 1] = np.nan
    model = MetaModel(features=FEATURES).fit(holes, label)
    text = json.dumps(model.to_json(), allow_nan=False)
    loaded = MetaModel.from_json(json.loads(text))
    for a, b in zip(model.predict(holes, return_std=True), loaded.predict(holes, return_std=True), strict=True):
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    assert loaded.to_json() == model.to_json()
    assert MetaModel.from_json(text).to_json() == model.to_json()


def test_from_json_rejects_other_documents() -> None:
    with pytest.raises(ValueError, match="kind"):
        MetaModel.from_json({"kind": "alpha_calibrator", "version": 1})


def test_from_json_rejects_malformed_state(data: tuple[pd.DataFrame, pd.Series]) -> None:
    doc = MetaModel(features=FEATURES).fit(*data).to_json()
    doc["coef"] = doc["coef"][:2]
    with pytest.raises(ValueError, match="coef"):
        MetaModel.from_json(doc)


def test_without_standardization_the_scaler_is_identity(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = MetaModel(features=FEATURES, standardize=False).fit(frame, label)
    np.testing.assert_array_equal(model.means_, np.zeros(3))
    np.testing.assert_array_equal(model.stds_, np.ones(3))
    raw = BayesianRidge(compute_score=True).fit(frame[FEATURES].to_numpy(), label.to_numpy())
    np.testing.assert_allclose(model.coef_, raw.coef_, rtol=1e-10)


def test_predict_keeps_index_and_names(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    model = MetaModel(features=FEATURES).fit(frame, label)
    mean, std = model.predict(frame.iloc[:10], return_std=True)
    assert (mean.name, std.name) == ("predicted_alpha", "predicted_alpha_std")
    assert mean.index.equals(frame.index[:10]) and std.index.equals(frame.index[:10])
    pd.testing.assert_series_equal(model.predict(frame.iloc[:10]), mean)


def test_missing_feature_column_is_named(data: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, label = data
    with pytest.raises(ValueError, match="macro_vix_level"):
        MetaModel(features=FEATURES).fit(frame.drop(columns=["macro_vix_level"]), label)


def test_unfitted_model_refuses_to_predict(data: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(NotFittedError):
        MetaModel(features=FEATURES).predict(data[0])


@pytest.mark.parametrize("params, match", [({"features": []}, "empty"), ({"features": ["a", "a"]}, "duplicates"),
                                           ({"features": FEATURES, "winsor": 0.0}, "winsor")])
def test_invalid_parameters_raise_in_fit(data: tuple[pd.DataFrame, pd.Series], params: dict[str, object],
                                         match: str) -> None:
    model = MetaModel(**params)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        model.fit(*data)
