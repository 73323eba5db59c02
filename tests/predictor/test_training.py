"""train_predictor end to end on small synthetic panels: honest out-of-sample numbers,
determinism, and no skill from shuffled labels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from alpha_engine.data import compute_features
from alpha_engine.data._synthetic import synthetic_bars
from alpha_engine.predictor import TrainingConfig, build_dataset, render_report, train_predictor
from alpha_engine.store import panel_from_frames

CONFIG = TrainingConfig(min_train_dates=252, test_dates=63, meta_min_train_dates=126, n_boot=200,
                        vol_estimators=30, seed=7)


@pytest.fixture(scope="module")
def dataset() -> pd.DataFrame:
    bars, macro = synthetic_bars(30, 900, seed=3)
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    frames = {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}
    data, _ = build_dataset(frames, macro["SPY"]["Close"], horizon=21, label_clip=0.15)
    return data


def test_training_reports_out_of_sample_statistics_and_a_bundle(dataset: pd.DataFrame) -> None:
    result = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    validation = result.manifest["validation"]
    assert validation["cpcv"]["n_splits"] == 45
    ic = validation["meta_oos_ic"]
    assert ic["ci_low"] <= ic["mean"] <= ic["ci_high"] and ic["n_dates"] > 100
    assert {f.name for f in result.files} == {"volatility_model.txt", "meta_model.json", "calibrator.json",
                                              "feature_list.json", "drift_reference.json"}
    assert result.manifest["models"]["research_calibrator"]["used"] is False
    reference = json.loads(next(f.data for f in result.files if f.name == "drift_reference.json"))
    assert {"momentum_score", "realized_vol_20d"} <= set(reference) and not set(reference) & {"Close", "Volume"}
    code = result.manifest["code_version"]
    assert len(code["sources_sha256"]) == 64 and code["lightgbm"] and code["alpha_engine"]
    folds = result.manifest["walk_forward"]["folds"]
    # purge: each fold's training ends at least `horizon` dates before its test block starts
    for fold in folds:
        gap = len(pd.bdate_range(fold["train_end"], fold["test_start"])) - 2
        assert gap >= 21


def test_same_inputs_and_seed_give_identical_bundles(dataset: pd.DataFrame) -> None:
    first = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    second = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic"})
    assert [(f.name, f.data) for f in first.files] == [(f.name, f.data) for f in second.files]
    assert first.manifest == second.manifest


def test_shuffled_labels_give_an_ic_whose_interval_contains_zero(dataset: pd.DataFrame) -> None:
    shuffled = dataset.copy()
    rng = np.random.default_rng(0)
    labels = shuffled["label"].to_numpy().copy()
    known = np.flatnonzero(~np.isnan(labels))
    labels[known] = labels[rng.permutation(known)]
    shuffled["label"] = labels
    result = train_predictor(shuffled, CONFIG, data_vintage={"as_of": "synthetic"})
    ic = result.manifest["validation"]["meta_oos_ic"]
    assert ic["ci_low"] <= 0 <= ic["ci_high"]


def _frames(bars: dict[str, pd.DataFrame], macro: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    features = compute_features(panel_from_frames(bars), macro, market_symbol="SPY").by_ticker()
    return {t: pd.concat([bars[t][["Close"]], features[t].reindex(bars[t].index)], axis=1) for t in bars}


def test_a_model_trained_through_t_predicts_identically_for_dates_up_to_t_whatever_follows() -> None:
    from datetime import date

    from alpha_engine.predictor import ModelRegistry, load_champion, predict_cross_section
    from alpha_engine.store import ArtifactStore

    bars, macro = synthetic_bars(30, 700, seed=5)
    cut = bars["SYN0000"].index[600]
    changed = {t: f.copy() for t, f in bars.items()}
    rng = np.random.default_rng(1)
    for frame in changed.values():  # a different future after the cut
        after = frame.index > cut
        frame.loc[after, ["Open", "High", "Low", "Close", "VWAP"]] *= rng.uniform(0.7, 1.3, (after.sum(), 1))
    truncated = {t: f.loc[:cut] for t, f in _frames(bars, macro).items()}
    market = macro["SPY"]["Close"]
    through_t, _ = build_dataset(truncated, market.loc[:cut], horizon=21, label_clip=0.15)
    result = train_predictor(through_t, CONFIG, data_vintage={"as_of": str(cut.date())})
    registry = ModelRegistry(ArtifactStore(f"memory://through-t-{id(result)}"))
    registry.promote(registry.register(result.files, result.manifest, label="t", run_date="2020-01-01"),
                     reason="test")
    champion = load_champion(registry)
    assert champion is not None
    day = bars["SYN0000"].index[590].date()
    documents = []
    for source in (bars, changed):
        full, _ = build_dataset(_frames(source, macro), market, horizon=21, label_clip=0.15)
        documents.append(predict_cross_section(champion, full, as_of=day, run_date=date(2020, 1, 1),
                                               stale_days={}, caveats=["synthetic"]))
    assert documents[0] == documents[1] and documents[0]["n_predictions"] == 30


def test_the_report_opens_with_the_verdict_and_names_its_methods(dataset: pd.DataFrame) -> None:
    from alpha_engine.predictor import skill_gate

    result = train_predictor(dataset, CONFIG, data_vintage={"as_of": "synthetic", "tickers": 30})
    validation = result.manifest["validation"]
    gate = skill_gate(validation)
    decision = {"action": "promote_provisional", "champion_before": None, "champion_after": "predictor-x",
                "provisional_after": True, "reason": f"first model, provisional: {gate['reason']}",
                "challenger": "predictor-x", "challenger_gate": gate, "champion_revalidation": None,
                "paired_test": None, "comparison": None}
    report = render_report(result.manifest, version_id="predictor-x", caveats=[], decision=decision)["report.md"].decode()
    verdict = report[report.index("## Verdict"):report.index("## Out-of-sample skill")]
    expected = "**Skill detected**" if gate["passes"] else "**No detectable skill**"
    assert expected in verdict and gate["reason"] in verdict and "**promote_provisional**" in verdict
    for method in ("Newey-West HAC", "circular time shifts", "Deflated Sharpe ratio", "not used by the gate",
                   "cross-fitted"):
        assert method in report, method
    broken = {**validation, "ic_ci_low": 0.01, "dsr": 0.2}  # a planted pass: the verdict follows the figures
    assert "**Skill detected**" in render_report({**result.manifest, "validation": broken}, version_id="predictor-x",
                                                  caveats=[])["report.md"].decode()
