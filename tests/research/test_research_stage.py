"""The Research stage on the bundled sample: outputs, reproducibility, dry run, shell run."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import run_stage
from alpha_engine.research import SIGNALS, ResearchDB

RUN_DATE = date(2022, 12, 31)


def _now() -> datetime:
    return datetime(2023, 1, 1, 6, tzinfo=UTC)


def _settings(workspace: Path, options: str = "") -> Settings:
    (workspace / "config.toml").write_text(f"[stages.research]\n{options}", encoding="utf-8")
    return load_settings(workspace=workspace, env={})


def _files(workspace: Path, under: str) -> dict[str, bytes]:
    root = workspace / under
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("ingested") / "ws"
    workspace.mkdir()
    settings = _settings(workspace)
    for slug in ("data-phase1", "scanner"):
        report = run_stage(slug, RUN_DATE, settings=settings)
        assert report.status == "ok", report.error
    return workspace


def _fresh(ingested: Path, where: Path, options: str = "") -> Settings:
    shutil.copytree(ingested, where)
    return _settings(where, options)


def test_the_stage_writes_valid_signals_decisions_and_the_db(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    report = run_stage("research", RUN_DATE, settings=settings, now=_now)
    assert report.status == "ok", report.error
    artifacts = settings.workspace / "artifacts"
    signals = SIGNALS  # read back through the contract
    from alpha_engine.store import ArtifactStore, Contracts
    store = ArtifactStore(artifacts, contracts=Contracts((signals,)))
    document = store.read_json(SIGNALS.format(RUN_DATE))
    assert document["regime_source"] == "no regime substrate: neutral prior"
    assert {e["signal"] for e in document["universe"]} <= {"ENTER", "EXIT", "REDUCE", "HOLD"}
    assert all(c["signal"] == "ENTER" for c in document["buy_candidates"])
    assert (artifacts / "signals/latest.json").read_bytes() == (artifacts / SIGNALS.format(RUN_DATE)).read_bytes()
    decisions = _files(settings.workspace, "artifacts/decision_artifacts/2022/12/31")
    agents = {k.split("/")[0] for k in decisions}
    assert {"macro_economist", "ic_cio", "sector_quant:healthcare", "sector_qual:defensives",
            "sector_peer_review:consumer"} <= agents
    db = ResearchDB(settings.workspace / "research/research.db")
    assert [h.ticker for h in db.prior_population("2023-01-07")] == document["population"]
    assert not (artifacts / "decision_artifacts/_cost_raw").exists()  # no model call, no cost telemetry


def test_two_fresh_runs_are_byte_identical_and_a_rerun_replaces_its_rows(ingested: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        settings = _fresh(ingested, tmp_path / name)
        assert run_stage("research", RUN_DATE, settings=settings, now=_now).status == "ok"
        outputs.append((_files(settings.workspace, "artifacts/signals"),
                        _files(settings.workspace, "artifacts/decision_artifacts"),
                        list(ResearchDB(settings.workspace / "research/research.db").dump())))
    assert outputs[0] == outputs[1]
    assert run_stage("research", RUN_DATE, settings=settings, now=_now).status == "ok"
    assert list(ResearchDB(settings.workspace / "research/research.db").dump()) == outputs[1][2]


def test_a_regime_substrate_is_read_when_present(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    regime = run_stage("regime-substrate", RUN_DATE, settings=settings, now=_now)
    assert regime.status == "ok", regime.error
    # The real substrate (it satisfies its contract), with the call set to a clear bear.
    substrate = settings.workspace / "artifacts/regime/2022-12-31/substrate.json"
    document = json.loads(substrate.read_text())
    document.update(label="bear", probabilities={"bull": 0.05, "neutral": 0.15, "bear": 0.8})
    substrate.write_text(json.dumps(document))
    report = run_stage("research", RUN_DATE, settings=settings, now=_now)
    assert report.status == "ok", report.error
    assert report.summary["market_regime"] == "bear"
    assert report.summary["regime_source"] == "regime/2022-12-31/substrate.json"


def test_a_dry_run_runs_the_stubs_and_the_quarantine_publishes_nothing(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws", "dry_run_llm = true\n")
    report = run_stage("research", RUN_DATE, settings=settings, now=_now)
    assert report.status == "ok", report.error
    assert report.summary["status"] == "dry_run" and "[DRY-RUN" in report.summary["quarantined"]
    assert report.summary["decisions_captured"] == 0
    artifacts = settings.workspace / "artifacts"
    assert not (artifacts / "signals").exists() and not (artifacts / "decision_artifacts").exists()
    assert not (settings.workspace / "research").exists()


def test_a_shell_run_writes_nothing(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    before = _files(settings.workspace, "artifacts")
    report = run_stage("research", RUN_DATE, settings=settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert _files(settings.workspace, "artifacts") == before and not (settings.workspace / "research").exists()


def test_the_research_dry_execution_input_runs_the_stubs_and_publishes_nothing(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    report = run_stage("research", RUN_DATE, settings=settings, now=_now, execution_input={"research_dry": True})
    assert report.status == "ok", report.error
    assert report.summary["status"] == "dry_run" and "[DRY-RUN" in report.summary["quarantined"]
    assert not (settings.workspace / "artifacts" / "signals").exists()


# Two documents naming sample tickers of the healthcare team's quant top 5 on the sample, one about their sector naming none: only the first two are evidence.
PLANTED = {
    "jnj-note.md": "Johnson & Johnson (JNJ) raised its pharmaceutical guidance; JNJ medtech sales recovered.",
    "mrk-note.txt": "Merck (MRK) reported Keytruda sales up 20 percent. Analysts expect MRK margins to hold.",
    "sector-note.txt": "Health Care spending slowed across the sector in the quarter.",
}


def _plant_index(workspace: Path) -> None:
    from alpha_engine.rag import FolderSource, RagIndex, WordLlamaEmbedder

    folder = workspace / "planted-docs"
    folder.mkdir()
    for name, text in PLANTED.items():
        (folder / name).write_text(text, encoding="utf-8")
    with RagIndex(workspace / "rag" / "index.sqlite") as index:  # RAGIngestion's default index_path
        assert index.ingest([FolderSource(folder, required=True)], WordLlamaEmbedder()).chunks_total == 3


def _qual_decisions(workspace: Path) -> dict[str, dict[str, object]]:
    root = workspace / "artifacts/decision_artifacts/2022/12/31"
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(root.glob("sector_qual:*/*.json"))}


def test_without_an_index_the_qual_analyst_retrieves_no_evidence(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    assert not (settings.workspace / "rag").exists()
    assert run_stage("research", RUN_DATE, settings=settings, now=_now).status == "ok"
    decisions = _qual_decisions(settings.workspace)
    assert sum(len(d["input_data_snapshot"]["quant_top5"]) for d in decisions.values()) > 0  # type: ignore[index, arg-type]
    for decision in decisions.values():
        snapshot, output = decision["input_data_snapshot"], decision["agent_output"]
        assert snapshot["evidence"] == {t: [] for t in snapshot["quant_top5"]}  # type: ignore[index]
        assert output["note"] == "no evidence retrieved"  # type: ignore[index]
        assert all(a["qual_score"] is None and a["evidence"] == [] for a in output["assessments"])  # type: ignore[index]


def test_a_planted_index_gives_the_qual_analyst_evidence(ingested: Path, tmp_path: Path) -> None:
    settings = _fresh(ingested, tmp_path / "ws")
    _plant_index(settings.workspace)
    report = run_stage("research", RUN_DATE, settings=settings, now=_now)
    assert report.status == "ok", report.error
    decisions = _qual_decisions(settings.workspace)
    snapshot: Any = decisions["sector_qual:healthcare"]["input_data_snapshot"]
    output: Any = decisions["sector_qual:healthcare"]["agent_output"]
    assert {"JNJ", "MRK"} <= set(snapshot["quant_top5"]) and snapshot["evidence_k"] == 5
    evidence = snapshot["evidence"]
    assert [e["source_id"] for e in evidence["JNJ"]] == ["documents:jnj-note.md"]
    assert [e["source_id"] for e in evidence["MRK"]] == ["documents:mrk-note.txt"]
    assert evidence["MRK"][0]["excerpt"].startswith("Merck (MRK) reported Keytruda")
    assert all(evidence[t] == [] for t in snapshot["quant_top5"] if t not in ("JNJ", "MRK"))  # sector note: no ticker
    quant_artifact = next((settings.workspace / "artifacts/decision_artifacts/2022/12/31/sector_quant:healthcare")
                          .glob("*.json"))
    quant = {p["ticker"]: p["quant_score"] for p in json.loads(quant_artifact.read_text())["agent_output"]["top"]}
    assessed = {a["ticker"]: a for a in output["assessments"]}
    for ticker in ("JNJ", "MRK"):
        a = assessed[ticker]
        assert a["qual_score"] == quant[ticker] and a["conviction"] == 25.0  # presence: confidence, not direction
        assert a["evidence"] == [f"{e['chunk_id']} | {e['source_id']} | {e['score']:.6f} | {e['excerpt']}"
                                 for e in evidence[ticker]]
    assert all(a["qual_score"] is None for t, a in assessed.items() if t not in ("JNJ", "MRK"))
    assert output["note"] == f"evidence retrieved for 2 of {len(assessed)}"
    # the index is opened read-only: the run leaves its bytes alone, and a second fresh run is byte-identical
    again = _fresh(ingested, tmp_path / "again")
    _plant_index(again.workspace)
    assert run_stage("research", RUN_DATE, settings=again, now=_now).status == "ok"
    assert _files(again.workspace, "artifacts/decision_artifacts") == _files(settings.workspace,
                                                                             "artifacts/decision_artifacts")
