"""Counterfactual: a planted depth-1 rule is found (match 1.0, flagged) and noise is not; n < 10
and a single class are skipped with a reason; other agents are UNSUPPORTED and never listed; the
per-agent cap bounds the decisions loaded (a planted scan that loads everything is caught by the
call counts); the deadline stops the run incomplete; same inputs give the same bytes; the dry path
touches nothing."""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import (
    COUNTERFACTUAL,
    COUNTERFACTUAL_LATEST,
    Counterfactual,
    CounterfactualOptions,
    day_prefix,
    fit_rule,
    load_decision,
    run_counterfactual,
)
from alpha_engine.pipeline import (
    ARTIFACTS,
    METRICS,
    PipelineApp,
    Resources,
    StageContext,
    StageGraph,
    Wiring,
    run_stage,
)
from alpha_engine.research import DecisionArtifact
from alpha_engine.store import ArtifactStore, Contracts, SqliteMetrics

DAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
APP = PipelineApp(graph=StageGraph("Saturday", (Counterfactual,)), resources=RESOURCES)


class CountingStore(ArtifactStore):
    """The artifact store, counting each call."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.calls: Counter[str] = Counter()

    def children(self, prefix: str = "") -> list[str]:
        self.calls["children"] += 1
        return super().children(prefix)

    def list(self, prefix: str = "") -> list[str]:
        self.calls["list"] += 1
        return super().list(prefix)

    def read_bytes(self, key: str) -> bytes:
        self.calls["read_bytes"] += 1
        return super().read_bytes(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        self.calls["write_bytes"] += 1
        super().write_bytes(key, data)

    def exists(self, key: str) -> bool:
        self.calls["exists"] += 1
        return super().exists(key)


def _decision(agent_id: str, run_id: str, snapshot: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    return DecisionArtifact(run_id=run_id, timestamp="2026-11-21T00:00:00Z", agent_id=agent_id, node_name="n",
                            backend="deterministic", rule_set="r1", input_data_snapshot=snapshot,
                            input_data_summary="s", input_data_truncated_at=None, truncated_fields=[],
                            agent_output=output, data_snapshot_id="d").model_dump(mode="json")


def _cio(scores: list[float], decide: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    picks = [{"ticker": f"T{i}", "team": "tech", "sector": "Tech", "quant": s, "qual": s, "macro_shift": 0.0,
              "final_score": s, "rating": "BUY", "factors": {}} for i, s in enumerate(scores)]
    decisions = [{"ticker": f"T{i}", "decision": decide(s, i), "rank": i + 1, "conviction": 50.0, "rationale": "r",
                  "rule_tags": []} for i, s in enumerate(scores)]
    return {"picks": picks, "population": []}, {"decisions": decisions, "rationale": "r"}


def plant(store: ArtifactStore, *, days: int = 6, runs_per_day: int = 1, rule: bool = True,
          others: tuple[str, ...] = ("sector_quant:tech",), macro: bool = True, seed: int = 0) -> None:
    """ic_cio decisions (4 per run) by a planted rule (ADVANCE iff composite > 60) or by coin flips;
    one macro run a day; a decision of each agent in ``others``."""
    rng = random.Random(seed)
    for back in range(days):
        day = DAY - timedelta(days=back)
        for r in range(runs_per_day):
            run_id = f"{day.isoformat()}-r{r:02d}"
            scores = [round(rng.uniform(0, 100), 2) for _ in range(4)]
            snap, out = _cio(scores, (lambda s, i: "ADVANCE" if s > 60 else "REJECT") if rule
                             else (lambda s, i: rng.choice(["ADVANCE", "REJECT"])))
            out["decisions"].append({"ticker": "F", "decision": "ADVANCE_FORCED", "rank": 9, "conviction": 1.0,
                                     "rationale": "forced", "rule_tags": []})
            store.write_json(f"{day_prefix(day)}ic_cio/{run_id}.json", _decision("ic_cio", run_id, snap, out))
            if macro:
                snap_m = {"regime_substrate": {"label": "bull", "probabilities": {"bull": 0.6, "neutral": 0.3,
                                                                                  "bear": 0.1}, "source": "x"},
                          "price_vs_ma200": {"A": 0.1, "B": -0.2}, "momentum_20d": {"A": 0.05, "B": None},
                          "sector_of": {}}
                store.write_json(f"{day_prefix(day)}macro_economist/{run_id}.json", _decision(
                    "macro_economist", run_id, snap_m, {"market_regime": "bull", "sector_modifiers": {},
                                                        "sector_ratings": {}, "rationale": "m"}))
            for agent in others:
                store.write_json(f"{day_prefix(day)}{agent}/{run_id}.json",
                                 _decision(agent, run_id, {}, {"team": "tech", "top": []}))


def _settings(tmp_path: Path, extra: str = "") -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "alpha-engine.toml"
    config.write_text(f"[stages.counterfactual]\n{extra}", encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


def _run(settings: Settings, **kwargs: Any) -> Any:
    return run_stage("counterfactual", DAY, settings=settings, app=APP, now=lambda: NOW, **kwargs)


def test_a_planted_depth1_rule_is_found_and_flagged_noise_is_not() -> None:
    rng = random.Random(1)
    rule = [({"composite_score": s, "noise": rng.random()}, "ADVANCE" if s > 60 else "REJECT")
            for s in (rng.uniform(0, 100) for _ in range(200))]
    fit = fit_rule("ic_cio", rule)
    assert fit.status == "FIT" and fit.match_rate == 1.0 and fit.flag and fit.n_classes == 2
    assert fit.importances["composite_score"] == 1.0 and "composite_score <=" in fit.tree
    noise = [({"composite_score": rng.uniform(0, 100)}, rng.choice(["ADVANCE", "REJECT"])) for _ in range(400)]
    unfit = fit_rule("ic_cio", noise)
    assert unfit.status == "FIT" and unfit.match_rate is not None and unfit.match_rate < 0.85 and not unfit.flag


def test_too_few_rows_and_a_single_class_are_skipped_with_a_reason() -> None:
    few = fit_rule("ic_cio", [({"x": float(i)}, "ADVANCE" if i % 2 else "REJECT") for i in range(9)])
    assert few.status == "SKIPPED" and few.reason.startswith("9 row(s), fewer than 10")
    assert fit_rule("ic_cio", [({"x": float(i)}, "A" if i % 2 else "B") for i in range(10)]).status == "FIT"
    single = fit_rule("macro_economist", [({"x": float(i)}, "bull") for i in range(30)])
    assert single.status == "SKIPPED" and single.reason.startswith("a single class (bull) in 30 row(s)")


def test_the_stage_writes_fits_emits_metrics_and_reports_unsupported_agents(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = APP.open_artifacts(settings, read_only=False)
    plant(store, days=6, others=("sector_quant:tech", "thesis_update:tech:AAA"))
    report = _run(settings)
    assert report.status == "ok", report.error
    s = report.summary
    assert s["status"] == "OK" and s["complete"] is True and s["fitted"] == ["ic_cio"] and s["flagged"] == ["ic_cio"]
    assert s["unsupported"] == ["sector_quant:tech", "thesis_update:tech:AAA"]
    assert s["skipped"] == {"macro_economist": "6 row(s), fewer than 10: too few to fit a rule"}
    assert s["decisions_loaded"] == 12  # 6 ic_cio + 6 macro; the unsupported agents' decisions never read
    doc = store.read_json(COUNTERFACTUAL.format(agent_id="ic_cio", run_id="2026-11-21"))
    COUNTERFACTUAL.validate(doc)
    assert doc == store.read_json(COUNTERFACTUAL_LATEST.format(agent_id="ic_cio"))
    assert doc["n"] == 24 and doc["match_rate"] == 1.0 and doc["flag"] is True  # ADVANCE_FORCED left out
    assert doc["window"] == ["2026-10-25", "2026-11-21"] and doc["per_agent_cap"] == 500
    scores = ("composite_score", "quant_score", "qual_score")  # equal in the plant: the tree splits on one
    assert sum(doc["importances"][f] for f in scores) == 1.0 and doc["feature_names"] == [
        "composite_score", "conviction", "held", "qual_score", "quant_score", "sector_modifier"]
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    dims = {"judged_agent_id": "ic_cio"}
    assert [p.value for p in metrics.datapoints("AlphaEngine/Eval", "agent_counterfactual_rule_fit", dims)] == [1.0]
    assert [p.value for p in metrics.datapoints("AlphaEngine/Eval", "agent_counterfactual_rule_fit_n_samples",
                                                dims)] == [24.0]
    assert "demotion candidate" in report.warnings[0]


def test_macro_rows_carry_the_market_indicators_of_our_snapshot(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    plant(store, days=1)
    (key,) = store.list("decision_artifacts/2026/11/21/macro_economist/")
    from alpha_engine.evals._counterfactual import macro_rows

    ((row, label),) = macro_rows(load_decision(store, key))
    assert label == "bull" and row == {"prior_label": "bull", "prior_p_bull": 0.6, "prior_p_neutral": 0.3,
                                       "prior_p_bear": 0.1, "breadth_above_ma200": 0.5,
                                       "median_price_vs_ma200": pytest.approx(-0.05), "median_momentum_20d": 0.05}


def test_the_same_corpus_gives_the_same_bytes(tmp_path: Path) -> None:
    bodies = []
    for name in ("one", "two"):
        settings = _settings(tmp_path / name)
        plant(APP.open_artifacts(settings, read_only=False), days=5, rule=False, seed=3)
        assert _run(settings).status == "ok"
        bodies.append(APP.open_artifacts(settings).read_bytes(COUNTERFACTUAL.format(agent_id="ic_cio",
                                                                                    run_id="2026-11-21")))
    assert bodies[0] == bodies[1]


def _naive(store: ArtifactStore, cap: int) -> int:
    """A planted flaw: list the whole window prefix, load everything, then keep the newest ``cap``."""
    keys = [k for k in store.list("decision_artifacts/2026/") if "/ic_cio/" in k or "/macro_economist/" in k]
    loaded = [load_decision(store, k) for k in keys]
    return len(loaded[-cap:])


def _bounded(calls: Counter[str], *, cap: int, supported: int, days: int) -> bool:
    """The cap held while listing: at most ``cap`` reads per supported agent, no recursive listing,
    and at most one listing per day plus one per agent-day."""
    return (calls["read_bytes"] <= cap * supported and calls["list"] == 0
            and calls["children"] <= days * (1 + supported))


def test_the_cap_bounds_the_work_while_listing_and_the_planted_full_load_is_caught(tmp_path: Path) -> None:
    store = CountingStore(str(tmp_path / "a"))
    plant(store, days=10, runs_per_day=5)  # 50 decisions per agent
    store.calls.clear()
    run = run_counterfactual(store, end=DAY, window_days=10, per_agent_cap=7)
    assert run.fits["ic_cio"].decisions == 7 and run.fits["macro_economist"].decisions == 7
    assert store.calls["read_bytes"] == 14 and _bounded(store.calls, cap=7, supported=2, days=10)
    assert store.calls["children"] == 10 + 2 * 2  # 10 days; each agent's folder on the 2 days that fill its cap
    store.calls.clear()
    assert _naive(store, 7) == 7
    assert not _bounded(store.calls, cap=7, supported=2, days=10)  # 100 reads and a recursive listing


def test_the_deadline_stops_the_run_incomplete(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    plant(store, days=10)
    ticks = iter(range(1000))
    run = run_counterfactual(store, end=DAY, window_days=10, deadline=lambda: next(ticks) >= 3)
    assert run.complete is False and run.scan["days_listed"] == 3 and run.scan["stopped_by_deadline"] is True
    assert run.fits == {"sector_quant:tech": run.fits["sector_quant:tech"]}  # stopped before any fit
    between = iter([False] * 10 + [False, True])  # the scan finishes, then stops between the two agents
    run = run_counterfactual(store, end=DAY, window_days=10, deadline=lambda: next(between))
    assert run.complete is False and "ic_cio" in run.fits and "macro_economist" not in run.fits


def test_an_empty_window_is_skipped_and_unreadable_decisions_are_counted(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    report = _run(settings)
    assert report.summary["status"] == "SKIPPED" and report.summary["reason"].startswith("no captured decisions")
    store = APP.open_artifacts(settings, read_only=False)
    store.write_bytes("decision_artifacts/2026/11/21/ic_cio/bad.json", b'{"agent_id": 1}')
    report = _run(settings)
    assert report.status == "failed" and "none of the 1 decision(s) of 2026-10-25..2026-11-21 could be read" \
        in report.error and "bad.json" in report.error
    plant(store, days=4)
    report = _run(settings)
    assert report.status == "ok" and report.summary["unreadable"] == 1 and report.summary["fitted"] == ["ic_cio"]


def test_the_dry_path_makes_zero_store_and_metrics_calls(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = CountingStore(str(tmp_path / "a"))
    plant(store, days=3)
    store.calls.clear()
    opened: list[str] = []

    def metrics(*_: Any) -> Any:
        opened.append("metrics")
        raise AssertionError("the dry path opened the metrics store")

    resources = Resources({ARTIFACTS: Wiring(open=lambda *_: store), METRICS: Wiring(open=metrics)}, settings,
                          Contracts(), read_only=False)
    for options, execution_input in ((CounterfactualOptions(), {"research_dry": True}),
                                     (CounterfactualOptions(dry_run_llm=True), {})):
        ctx = StageContext(run_date=DAY, options=options, settings=settings, resources=resources,
                           graph=APP.graph, now=lambda: NOW, seed=0,
                           logger=logging.LoggerAdapter(logging.getLogger("t"), {}), preflight_only=False,
                           execution_input=execution_input)
        Counterfactual().preflight(ctx)
        outcome = Counterfactual().run(ctx)
        assert outcome.summary["status"] == "SKIPPED" and outcome.summary["reason"] == "dry_run_llm"
        assert "sklearn.tree" in outcome.summary["imported"]
    assert sum(store.calls.values()) == 0 and opened == []
