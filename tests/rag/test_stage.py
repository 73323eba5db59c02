"""RAGIngestion: hard, batch-class, right after Scanner; ingests the documents folder and the
archive prefixes; a shell run checks sources, index and embedder and writes nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rag_helpers import CORPUS, tiny_pdf

from alpha_engine.app import RESOURCES, SATURDAY_GRAPH
from alpha_engine.config import ConfigError, Settings, load_settings
from alpha_engine.pipeline import Compute, FailureClass, PipelineApp, StageReport, run_stage
from alpha_engine.rag import RAG_INGESTION_REPORT, RagIndex, RAGIngestion, WordLlamaEmbedder

DAY = date(2026, 11, 21)
APP = PipelineApp(graph=SATURDAY_GRAPH, resources=RESOURCES)


def _settings(workspace: Path, **options: Any) -> Settings:
    return load_settings(workspace=workspace, env={}, stages={"rag-ingestion": options} if options else {})


def _run(settings: Settings, preflight_only: bool = False) -> StageReport:
    return run_stage("rag-ingestion", DAY, settings=settings, app=APP, preflight_only=preflight_only)


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "_logs" not in p.parts}


def _report(settings: Settings) -> Any:
    return json.loads((settings.workspace / "artifacts" / RAG_INGESTION_REPORT.format(DAY)).read_text())


def test_it_is_a_hard_batch_stage_right_after_the_scanner() -> None:
    assert (RAGIngestion.failure_class, RAGIngestion.compute, RAGIngestion.timeout_seconds) == (
        FailureClass.HARD, Compute.BATCH, 3600)
    names = [stage.name for stage in SATURDAY_GRAPH.stages()]
    assert names[names.index("Scanner") + 1] == "RAGIngestion"


def test_an_empty_workspace_ingests_nothing_and_warns(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    report = _run(settings)
    assert report.status == "ok", report.error
    assert report.summary["documents_seen"] == 0 and report.summary["chunks_total"] == 0
    assert any("corpus is empty" in w for w in report.warnings)
    assert _report(settings)["documents"]["total"] == 0


def test_a_small_folder_and_the_archive_are_ingested_then_searchable(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    docs = settings.workspace / "documents"
    docs.mkdir(parents=True)
    (docs / "constitution.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    (docs / "memo.pdf").write_bytes(tiny_pdf("Board approved a share buyback"))
    thesis = settings.workspace / "artifacts" / "research" / "theses" / "2026-11-14" / "ACME.md"
    thesis.parent.mkdir(parents=True)
    thesis.write_text("ACME thesis: pricing power in industrial lubricants.", encoding="utf-8")
    report = _run(settings)
    assert report.status == "ok", report.error
    assert report.summary["documents_added"] == 3 and report.warnings == ()
    written = _report(settings)
    assert written["documents"] == {"seen": 3, "added": 3, "changed": 0, "unchanged": 0, "removed": 0, "total": 3}
    assert written["embedder"]["semantic"] is True and written["embedder"]["name"] == "wordllama-l2-supercat-d256"
    with RagIndex(settings.workspace / "rag" / "index.sqlite", read_only=True) as index:
        hit = index.search("pricing power lubricants", WordLlamaEmbedder(), k=1)[0]
        assert hit.source_id == "archive:research/theses/2026-11-14/ACME.md"

    again = _run(settings)
    assert again.summary["documents_unchanged"] == 3 and again.summary["chunks_embedded"] == 0


def test_a_shell_run_checks_everything_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    (settings.workspace / "documents").mkdir(parents=True)
    (settings.workspace / "documents" / "a.md").write_text("# Notes\nRates are rising.", encoding="utf-8")
    before = _files(settings.workspace)
    report = _run(settings, preflight_only=True)
    assert report.status == "ok", report.error
    assert _files(settings.workspace) == before  # the index is not even created
    assert _run(settings).status == "ok"
    before = _files(settings.workspace)
    (settings.workspace / "documents" / "b.md").write_text("A new note.", encoding="utf-8")
    assert _run(settings, preflight_only=True).status == "ok"
    assert {k: v for k, v in _files(settings.workspace).items() if not k.startswith("documents/")} == {
        k: v for k, v in before.items() if not k.startswith("documents/")}


def test_a_configured_folder_that_does_not_exist_fails_the_preflight(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws", documents_dir=str(tmp_path / "nowhere"))
    report = _run(settings, preflight_only=True)
    assert report.status == "preflight_failed"
    assert "documents folder" in (report.error or "") and "nowhere" in (report.error or "")


def test_a_damaged_index_fails_the_preflight_naming_the_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "ws")
    index = settings.workspace / "rag" / "index.sqlite"
    index.parent.mkdir(parents=True)
    index.write_bytes(b"this is not sqlite" * 100)
    report = _run(settings, preflight_only=True)
    assert report.status == "preflight_failed" and str(index) in (report.error or "")


def test_options_are_validated_when_the_settings_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chunk_overlap_chars"):
        APP.check_settings(_settings(tmp_path, chunk_size_chars=400, chunk_overlap_chars=300))
    with pytest.raises(ConfigError, match="archive prefix"):
        APP.check_settings(_settings(tmp_path, archive_prefixes=["/etc/"]))


def test_two_workspaces_with_the_same_documents_write_identical_reports_and_indexes(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        settings = _settings(tmp_path / name)
        (settings.workspace / "documents").mkdir(parents=True)
        (settings.workspace / "documents" / "c.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
        assert _run(settings).status == "ok"
        digests.append({k: v for k, v in _files(settings.workspace).items() if k.startswith(("rag/", "artifacts/rag/"))})
    assert digests[0] == digests[1] and len(digests[0]) == 2
