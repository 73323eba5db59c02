"""RationaleClustering: templated rationales are flagged and varied ones are not; the 0.75 cosine
boundary links at 0.75 and not below; single linkage chains; thin families are skipped; digit runs
are one token; the analysis is written per family and ISO week with its metric, the same bytes for
the same corpus; the dry path touches nothing."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from alpha_engine.app import RESOURCES
from alpha_engine.config import Settings, load_settings
from alpha_engine.evals import (
    RATIONALE_ANALYSIS,
    RationaleClustering,
    RationaleClusteringOptions,
    cluster_rationales,
    day_prefix,
    iso_week,
    link_components,
    normalise_digits,
    rationales_of,
    run_rationale_clustering,
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
APP = PipelineApp(graph=StageGraph("Saturday", (RationaleClustering,)), resources=RESOURCES)

VARIED = [
    "Semiconductor demand is recovering faster than consensus after inventory digestion ended.",
    "Management guided margins lower because freight costs keep rising in Asia.",
    "A pending antitrust ruling could force the divestiture of the advertising unit.",
    "Dividend coverage looks thin; payout exceeds free cash flow for a second year.",
    "Hospital admissions trend favours device makers with elective procedure exposure.",
    "The balance sheet carries little debt, so higher rates barely touch earnings.",
    "Retail foot traffic data shows weakening discretionary spending in the Midwest.",
    "Oil majors benefit from disciplined capex while upstream supply stays tight.",
    "Cloud migration backlog provides multi-year visibility for the software segment.",
    "Regulators approved the merger, removing the overhang on the shares.",
    "Insider buying by three directors signals confidence ahead of the product cycle.",
    "Weather-related claims will pressure property insurers through the winter quarter.",
]


def _template(i: int) -> str:
    return f"Advanced T{i % 7}: final score {50 + i}.{i % 10} at or above the entry bar of 65; rank {i} of 40"


def _decision(agent_id: str, run_id: str, output: dict[str, Any]) -> dict[str, Any]:
    return DecisionArtifact(run_id=run_id, timestamp="2026-11-21T00:00:00Z", agent_id=agent_id, node_name="n",
                            backend="deterministic", rule_set="r1", input_data_snapshot={},
                            input_data_summary="s", input_data_truncated_at=None, truncated_fields=[],
                            agent_output=output, data_snapshot_id="d").model_dump(mode="json")


def plant(store: ArtifactStore) -> None:
    """ic_cio: 12 templated rationales over 6 days; sector_peer_review (two teams): 12 varied ones;
    thesis_update: 3 (thin); score_aggregator: no prose."""
    for back in range(6):
        day = DAY - timedelta(days=back)
        run_id = f"{day.isoformat()}-r00"
        decisions = [{"ticker": "X", "decision": "ADVANCE", "rank": 1, "conviction": 1.0,
                      "rationale": _template(2 * back + k), "rule_tags": []} for k in range(2)]
        store.write_json(f"{day_prefix(day)}ic_cio/{run_id}.json",
                         _decision("ic_cio", run_id, {"decisions": decisions, "rationale": ""}))
        for team, k in (("tech", 0), ("energy", 1)):
            agent = f"sector_peer_review:{team}"
            store.write_json(f"{day_prefix(day)}{agent}/{run_id}.json", _decision(
                agent, run_id, {"team": team, "picks": [], "rationale": VARIED[2 * back + k]}))
        if back < 3:
            agent = f"thesis_update:tech:T{back}"
            store.write_json(f"{day_prefix(day)}{agent}/{run_id}.json", _decision(
                agent, run_id, {"ticker": "T", "team": "tech", "triggers": [], "thesis_summary": VARIED[back],
                                "conviction": "stable"}))
        store.write_json(f"{day_prefix(day)}score_aggregator/{run_id}.json",
                         _decision("score_aggregator", run_id, {"scores": {}}))


def _settings(tmp_path: Path) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "alpha-engine.toml"
    config.write_text("[stages.rationale-clustering]\n", encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


def _run(settings: Settings, **kwargs: Any) -> Any:
    return run_stage("rationale-clustering", DAY, settings=settings, app=APP, now=lambda: NOW, **kwargs)


def test_digit_runs_become_one_token_so_numbers_alone_do_not_split_a_template(monkeypatch: Any) -> None:
    assert normalise_digits("score 71.25 on 2026-11-21, rank 3") == "score #.# on #-#-#, rank #"
    texts = [f"score {i * 7919} with momentum {i * 104729}.{i} over {i} days" for i in range(1, 9)]
    assert cluster_rationales(texts).concentration == 1.0 and len(cluster_rationales(texts).clusters) == 1
    # the planted flaw: without the normalisation the numbers split the template apart
    monkeypatch.setattr("alpha_engine.evals._rationale_clustering.normalise_digits", lambda text: text)
    assert not cluster_rationales(texts).flag


def test_the_threshold_links_at_exactly_075_and_not_below() -> None:
    sim = np.eye(4)
    sim[0, 1] = sim[1, 0] = 0.75
    sim[2, 3] = sim[3, 2] = 0.7499
    assert link_components(sim, 0.75) == [[0, 1], [2], [3]]
    chain = np.eye(3)
    chain[0, 1] = chain[1, 0] = chain[1, 2] = chain[2, 1] = 0.8  # 0 and 2 are not similar: single linkage chains
    assert link_components(chain, 0.75) == [[0, 1, 2]]


def test_templated_rationales_are_flagged_and_varied_ones_are_not() -> None:
    templated = cluster_rationales([_template(i) for i in range(12)])
    assert templated.flag and templated.concentration == 1.0
    varied = cluster_rationales(VARIED)
    assert not varied.flag and len(varied.clusters) == 12 and varied.concentration == 0.25
    assert not cluster_rationales(VARIED[:10] + [_template(1), _template(2)]).flag


def test_the_rationale_fields_of_each_family() -> None:
    macro = {"rationale": "m", "sector_ratings": {"b": {"rationale": "rb"}, "a": {"rationale": "ra"}}}
    assert rationales_of("macro_economist", macro) == ["m", "ra", "rb"]
    assert rationales_of("sector_qual", {"assessments": [{"note": "n1"}, {"note": " "}], "note": "q"}) == ["n1", "q"]
    assert rationales_of("score_aggregator", {"scores": {}}) == []


def test_the_stage_writes_per_family_and_week_flags_only_the_template_and_skips_thin(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = APP.open_artifacts(settings, read_only=False)
    plant(store)
    report = _run(settings)
    assert report.status == "ok", report.error
    s = report.summary
    assert s["status"] == "OK" and s["analysed"] == 2 and s["flagged"] == ["ic_cio"]
    assert s["thin"] == {"thesis_update": 3} and s["without_rationales"] == ["score_aggregator"]
    assert iso_week(DAY) == "2026-W47"
    cio = store.read_json(RATIONALE_ANALYSIS.format(agent_id="ic_cio", iso_week="2026-W47"))
    RATIONALE_ANALYSIS.validate(cio)
    assert cio["n"] == 12 and cio["flag"] is True and cio["clusters"][0]["exemplar"] == _template(0)
    assert cio["window"] == ["2026-09-27", "2026-11-21"] and cio["decisions"] == 6
    peers = store.read_json(RATIONALE_ANALYSIS.format(agent_id="sector_peer_review", iso_week="2026-W47"))
    assert peers["n"] == 12 and peers["flag"] is False and peers["n_clusters"] == 12
    assert not store.exists(RATIONALE_ANALYSIS.format(agent_id="thesis_update", iso_week="2026-W47"))
    metrics = SqliteMetrics(settings.workspace / "metrics.db", read_only=True)
    values = {a: [p.value for p in metrics.datapoints("AlphaEngine/Eval", "agent_rationale_template_concentration",
                                                      {"judged_agent_id": a})] for a in ("ic_cio", "sector_peer_review")}
    assert values == {"ic_cio": [1.0], "sector_peer_review": [0.25]}
    first = store.read_bytes(RATIONALE_ANALYSIS.format(agent_id="ic_cio", iso_week="2026-W47"))
    assert _run(settings).status == "ok"
    assert store.read_bytes(RATIONALE_ANALYSIS.format(agent_id="ic_cio", iso_week="2026-W47")) == first


def test_the_cap_takes_the_newest_rationales_and_loads_no_more_decisions(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    plant(store)
    run = run_rationale_clustering(store, end=DAY, cap=5)
    assert run.reports["ic_cio"].n == 5 and run.loaded_by_family["ic_cio"] == 3  # 2 rationales a decision
    assert run.reports["sector_peer_review"].n == 5
    assert run.scan["capped_agents"] == ["ic_cio", "sector_peer_review:energy", "sector_peer_review:tech"]


def test_an_empty_window_is_skipped_and_the_deadline_marks_incomplete(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    report = _run(settings)
    assert report.summary["status"] == "SKIPPED" and report.summary["reason"].startswith("no captured decisions")
    store = ArtifactStore(str(tmp_path / "a"))
    plant(store)
    ticks = iter(range(1000))
    run = run_rationale_clustering(store, end=DAY, deadline=lambda: next(ticks) >= 2)
    assert run.complete is False and run.reports == {} and run.scan["days_listed"] == 2


def test_the_dry_path_makes_zero_store_and_metrics_calls(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    calls: Counter[str] = Counter()

    class Counting(ArtifactStore):
        def children(self, prefix: str = "") -> list[str]:
            calls["children"] += 1
            return super().children(prefix)

        def read_bytes(self, key: str) -> bytes:
            calls["read_bytes"] += 1
            return super().read_bytes(key)

        def write_bytes(self, key: str, data: bytes) -> None:
            calls["write_bytes"] += 1
            super().write_bytes(key, data)

    store = Counting(str(tmp_path / "a"))
    plant(store)
    calls.clear()

    def metrics(*_: Any) -> Any:
        raise AssertionError("the dry path opened the metrics store")

    resources = Resources({ARTIFACTS: Wiring(open=lambda *_: store), METRICS: Wiring(open=metrics)}, settings,
                          Contracts(), read_only=False)
    for options, execution_input in ((RationaleClusteringOptions(), {"research_dry": True}),
                                     (RationaleClusteringOptions(dry_run_llm=True), {})):
        ctx = StageContext(run_date=DAY, options=options, settings=settings, resources=resources, graph=APP.graph,
                           now=lambda: NOW, seed=0, logger=logging.LoggerAdapter(logging.getLogger("t"), {}),
                           preflight_only=False, execution_input=execution_input)
        RationaleClustering().preflight(ctx)
        outcome = RationaleClustering().run(ctx)
        assert outcome.summary["status"] == "SKIPPED" and outcome.summary["reason"] == "dry_run_llm"
    assert sum(calls.values()) == 0
