"""RegimeSubstrate and RegimeRetrospectiveEval on the bundled sample: what they write, and when not."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from alpha_engine.app import SATURDAY
from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import MARKET, run_stage
from alpha_engine.regime import (
    LATEST_REGIME,
    REGIME_RETROSPECTIVE,
    REGIME_SUBSTRATE,
    STATE_LABELS,
    RegimeInputs,
    fit_regime_hmm,
    load_regime_inputs,
)
from alpha_engine.store import ArtifactStore

RUN_DATE = date(2022, 12, 31)
CONFIG = """\
[stages.regime-substrate]
n_init = 1
n_iter = 40
[stages.regime-retrospective-eval]
n_init = 1
n_iter = 40
n_bootstrap = 200
min_calls = 6
"""
SCHEMAS = Path(__file__).resolve().parents[2] / "src" / "alpha_engine" / "regime" / "schemas"


def _settings(workspace: Path) -> Settings:
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.toml").write_text(CONFIG, encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def _files(workspace: Path) -> dict[str, bytes]:
    """Every file's bytes, except LMDB's lock.mdb (its reader table changes on any read)."""
    return {str(p.relative_to(workspace)): p.read_bytes() for p in sorted(workspace.rglob("*"))
            if p.is_file() and p.name != "lock.mdb"}


def _regime_files(workspace: Path) -> dict[str, bytes]:
    return {k: v for k, v in _files(workspace).items() if k.startswith("artifacts/regime/")}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("regime") / "ws"
    report = run_stage("data-phase1", RUN_DATE, settings=_settings(workspace))
    assert report.status == "ok", report.error
    return workspace


def test_a_shell_run_on_an_empty_workspace_passes_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    for slug in ("regime-substrate", "regime-retrospective-eval"):
        report = run_stage(slug, RUN_DATE, settings=settings, preflight_only=True)
        assert report.status == "ok", report.error
        assert "market_data/weekly/2022-12-31/manifest.json from DataPhase1" in report.summary["would_consume"]
    assert _files(settings.workspace) == {"config.toml": CONFIG.encode()}


def test_a_shell_run_after_the_data_phase_passes_and_writes_nothing(ingested: Path) -> None:
    before = _files(ingested)
    for slug in ("regime-substrate", "regime-retrospective-eval"):
        report = run_stage(slug, RUN_DATE, settings=_settings(ingested), preflight_only=True)
        assert report.status == "ok", report.error
    assert _files(ingested) == before


def test_dry_run_computes_and_writes_no_regime_artifact(ingested: Path) -> None:
    before = _regime_files(ingested)
    for slug in ("regime-substrate", "regime-retrospective-eval"):
        report = run_stage(slug, RUN_DATE, settings=_settings(ingested), execution_input={"regime_action": "dry_run"})
        assert report.status == "ok", report.error
        assert report.summary["action"] == "dry_run" and report.summary["written"] is False
    assert _regime_files(ingested) == before


def test_a_history_shorter_than_min_weeks_fails_the_preflight(ingested: Path) -> None:
    settings = _settings(ingested)
    (ingested / "config.toml").write_text(CONFIG.replace("n_init = 1\nn_iter = 40\n[stages.regime-retro",
                                                          "min_weeks = 5000\n[stages.regime-retro"), encoding="utf-8")
    try:
        report = run_stage("regime-substrate", RUN_DATE, settings=load_settings(workspace=ingested, env={}),
                           preflight_only=True)
    finally:
        _settings(ingested)
    assert report.status == "preflight_failed"
    assert "weeks of history (2012-12-30 to 2022-12-30); the regime HMM needs at least 5000" in (report.error or "")
    assert settings.workspace == ingested


def test_an_unknown_regime_action_fails_the_preflight_naming_the_field(ingested: Path) -> None:
    report = run_stage("regime-substrate", RUN_DATE, settings=_settings(ingested),
                       execution_input={"regime_action": "publish"})
    assert report.status == "preflight_failed"
    assert "execution input regime_action must be one of produce, dry_run; got 'publish'" in (report.error or "")


def test_the_substrate_writes_a_valid_call_and_a_rerun_writes_the_same_bytes(ingested: Path) -> None:
    settings = _settings(ingested)
    report = run_stage("regime-substrate", RUN_DATE, settings=settings)
    assert report.status == "ok", report.error
    store = ArtifactStore(ingested / "artifacts")
    key = REGIME_SUBSTRATE.format(RUN_DATE)
    first = store.read_bytes(key)
    assert store.read_bytes(LATEST_REGIME.format()) == first
    document = json.loads(first)
    jsonschema.validate(document, json.loads((SCHEMAS / "substrate.schema.json").read_text()))
    assert document["market_symbol"] == "SP500" and document["label"] in STATE_LABELS
    assert document["hmm"]["n_weeks"] > 400 and document["as_of"] == "2022-12-30"
    assert [m["symbol"] for m in document["inputs"]["missing"]] == ["VIX", "TNX", "IRX"]
    assert any("VIX missing" in w for w in report.warnings)
    assert run_stage("regime-substrate", RUN_DATE, settings=settings).status == "ok"
    assert store.read_bytes(key) == first


def test_the_retrospective_reports_insufficient_history_then_scores_planted_calls(ingested: Path) -> None:
    settings = _settings(ingested)
    report = run_stage("regime-retrospective-eval", RUN_DATE, settings=settings)
    assert report.status == "ok", report.error
    store = ArtifactStore(ingested / "artifacts")
    key = REGIME_RETROSPECTIVE.format(RUN_DATE)
    early = store.read_json(key)
    assert early["status"] == "insufficient_history" and early["message"].startswith("insufficient history (0 calls)")

    # Plant ten earlier calls, 8 to 17 weeks old, equal to the smoother the stage will fit (same seed
    # and options): they must score perfectly.
    inputs = _inputs(settings)
    x = inputs.hmm_features().to_numpy()
    weeks = [w.date() for w in inputs.hmm_features().index]
    hindsight = fit_regime_hmm(x, seed=settings.seed, n_init=1, n_iter=40).smoothed(x).argmax(axis=1)
    assert run_stage("regime-substrate", RUN_DATE, settings=settings).status == "ok"
    template = store.read_json(REGIME_SUBSTRATE.format(RUN_DATE))
    for back in range(9, 19):
        week = weeks[-back]
        label = STATE_LABELS[hindsight[-back]]
        run_date = week + timedelta(days=1)
        doc = {**template, "date": run_date.isoformat(), "as_of": week.isoformat(), "week": week.isoformat(),
               "label": label, "probabilities": {s: float(s == label) for s in STATE_LABELS}}
        store.write_json(REGIME_SUBSTRATE.format(run_date), doc)
    corrupt = ingested / "artifacts" / "regime" / "2022-01-08" / "substrate.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"date": "2022-01-08"}', encoding="utf-8")  # fails its schema on read
    report = run_stage("regime-retrospective-eval", RUN_DATE, settings=settings)
    assert report.status == "ok", report.error
    assert "earlier regime call regime/2022-01-08/substrate.json is unreadable and was not scored" in report.warnings
    scored = store.read_json(key)
    assert scored["unreadable"] == ["regime/2022-01-08/substrate.json"]
    jsonschema.validate(scored, json.loads((SCHEMAS / "retrospective.schema.json").read_text()))
    assert scored["status"] == "scored" and scored["n_scorable"] == 10
    assert scored["metrics"]["weighted_accuracy"]["estimate"] == 1.0
    assert report.summary["weighted_accuracy"]["estimate"] == 1.0


def _inputs(settings: Settings) -> RegimeInputs:
    """The stage's inputs, read as the stage reads them."""
    resources = SATURDAY.open_resources(settings, read_only=True, stage=SATURDAY.graph.stage("regime-substrate"),
                                        fence=None)
    return load_regime_inputs(resources.get(MARKET), "SP500", date(2022, 12, 30))


@pytest.mark.parametrize(("change", "message"), [
    ({"label": "crash"}, "'crash' is not one of"),
    ({"probabilities": {"bear": 1.5, "neutral": 0.0, "bull": 0.0}}, "1.5 is greater than the maximum of 1"),
    ({"week": "2022/12/30"}, "does not match"),
])
def test_the_substrate_schema_refuses_a_malformed_call(change: dict[str, object], message: str) -> None:
    from alpha_engine.regime import RegimeSubstrateOptions, build_substrate, weekly_inputs

    days = pd.bdate_range("2018-01-01", "2020-12-31")
    close = pd.Series(range(100, 100 + len(days)), index=days, dtype=float)
    document = build_substrate(weekly_inputs("IDX", close, {}, date(2020, 12, 31)),
                               RegimeSubstrateOptions(n_init=1, n_iter=20), seed=0, run_date=date(2021, 1, 2))
    schema = json.loads((SCHEMAS / "substrate.schema.json").read_text())
    jsonschema.validate(document, schema)
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate({**document, **change}, schema)
