"""The Postgres backend's own behaviour: its errors (bad or unreachable DSN, no pgvector, another
layout), read-only sessions, and the RAGIngestion stage on it (DSN from the environment, preflight
writes nothing, the write fence of the stage attempt)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pg_server import LocalPostgres
from rag_helpers import CORPUS

import alpha_engine.sfn as sfn
from alpha_engine.app import RESOURCES, SATURDAY_GRAPH
from alpha_engine.config import Settings, load_settings
from alpha_engine.pipeline import PipelineApp, StageReport, run_stage
from alpha_engine.rag import (
    DEFAULT_DSN_ENV,
    RAG_INGESTION_REPORT,
    FolderSource,
    HashingEmbedder,
    PostgresRagIndex,
    RagIndex,
    RagIndexError,
    open_retriever,
)
from alpha_engine.sfn import ExecutionRecord, SqliteStore
from conftest import fresh_database

DAY = date(2026, 11, 21)
APP = PipelineApp(graph=SATURDAY_GRAPH, resources=RESOURCES)
ARN = "arn:aws:states:us-east-1:111111111111:execution:StateMachine:run-1"


def _schemas(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as db:
        return {r[0] for r in db.execute("SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' "
                                         "AND nspname <> 'information_schema'")}


def _rows(dsn: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn) as db:
        return tuple(db.execute(f"SELECT * FROM rag.{table} ORDER BY 1".encode()).fetchall()
                     for table in ("meta", "documents", "chunks"))


# ------------------------------------------------------------------------------------ errors

def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    dsn = f"host={tmp_path / 'no-server'} dbname=alpha user=alpha password=hunter2"
    with pytest.raises(RagIndexError, match="cannot connect to the RAG Postgres server") as caught:
        PostgresRagIndex(dsn, connect_timeout=2)
    assert "no-server" in str(caught.value) and "hunter2" not in str(caught.value)
    assert "server is running" in str(caught.value)


def test_a_malformed_dsn_or_schema_name_is_refused_before_connecting() -> None:
    with pytest.raises(RagIndexError, match="DSN is not valid"):
        PostgresRagIndex("host=a password='unterminated")
    with pytest.raises(RagIndexError, match="plain lowercase identifier"):
        PostgresRagIndex("host=/nowhere", schema="rag; DROP SCHEMA public")


def test_a_server_without_pgvector_says_how_to_install_it(pg_server_without_pgvector: LocalPostgres) -> None:
    dsn = fresh_database(pg_server_without_pgvector)
    for read_only in (False, True):
        with pytest.raises(RagIndexError, match="no pgvector extension.*postgresql-17-pgvector"):
            PostgresRagIndex(dsn, read_only=read_only)
    assert _schemas(dsn) == {"public"}  # nothing was created


def test_another_layout_version_is_refused(pg_dsn: str) -> None:
    PostgresRagIndex(pg_dsn).close()
    with psycopg.connect(pg_dsn) as db:
        db.execute("UPDATE rag.meta SET value = '0' WHERE key = 'schema_version'")
    with pytest.raises(RagIndexError, match="layout version '0', this code reads '1'.*DROP SCHEMA rag"):
        PostgresRagIndex(pg_dsn, read_only=True)


def test_creating_the_layout_twice_is_harmless(pg_dsn: str) -> None:
    for _ in range(2):
        with PostgresRagIndex(pg_dsn) as index:
            assert index.meta() == {"schema_version": "1"}


def test_a_read_only_session_creates_nothing_and_cannot_write(pg_dsn: str) -> None:
    with PostgresRagIndex(pg_dsn, read_only=True) as index:
        assert not index.exists and index.count("chunks") == 0
        assert index.search("anything", HashingEmbedder(), k=3) == []
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            index._db.execute("CREATE TABLE written (x int)")
    assert _schemas(pg_dsn) == {"public"}


# ------------------------------------------------------------------------------------ the stage

@pytest.fixture
def workspace(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with one document, configured for the Postgres backend (DSN in the default variable)."""
    monkeypatch.setenv(DEFAULT_DSN_ENV, pg_dsn)
    docs = tmp_path / "ws" / "documents"
    docs.mkdir(parents=True)
    (docs / "constitution.txt").write_text(CORPUS.read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path / "ws"


def _settings(workspace: Path, **options: Any) -> Settings:
    return load_settings(workspace=workspace, env={}, stages={"rag-ingestion": {"backend": "postgres", **options}})


def _run(settings: Settings, preflight_only: bool = False) -> StageReport:
    return run_stage("rag-ingestion", DAY, settings=settings, app=APP, preflight_only=preflight_only)


def test_the_stage_ingests_into_postgres_and_the_retriever_reads_it(workspace: Path, pg_dsn: str) -> None:
    settings = _settings(workspace)
    report = _run(settings)
    assert report.status == "ok", report.error
    written = json.loads((workspace / "artifacts" / RAG_INGESTION_REPORT.format(DAY)).read_text())
    assert written["backend"] == "postgres" and written["documents"]["added"] == 1
    assert not (workspace / "rag").exists()  # no SQLite file
    again = _run(settings)
    assert again.summary["documents_unchanged"] == 1 and again.summary["chunks_embedded"] == 0
    retriever = open_retriever(settings)
    assert retriever is not None
    try:
        assert "Habeas Corpus" in retriever.search("writ of habeas corpus", 1)[0].text
    finally:
        retriever.close()


def test_a_shell_run_writes_nothing_to_postgres(workspace: Path, pg_dsn: str) -> None:
    settings = _settings(workspace)
    assert _run(settings, preflight_only=True).status == "ok"
    assert _schemas(pg_dsn) == {"public"}  # not even the schema
    assert open_retriever(settings) is None
    assert _run(settings).status == "ok"
    before = _rows(pg_dsn)
    (workspace / "documents" / "new.md").write_text("A new note on tariffs.", encoding="utf-8")
    assert _run(settings, preflight_only=True).status == "ok"
    assert _rows(pg_dsn) == before


def test_a_missing_dsn_variable_or_a_dead_server_fails_the_preflight_naming_it(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    report = _run(_settings(workspace, postgres_dsn_env="RAG_DSN_NOT_SET"), preflight_only=True)
    assert report.status == "preflight_failed"
    assert "environment variable RAG_DSN_NOT_SET, which is not set" in (report.error or "")
    monkeypatch.setenv("RAG_DEAD_DSN", f"host={tmp_path / 'gone'} dbname=x password=hunter2")
    report = _run(_settings(workspace, postgres_dsn_env="RAG_DEAD_DSN"), preflight_only=True)
    assert report.status == "preflight_failed"
    assert "cannot connect" in (report.error or "") and "$RAG_DEAD_DSN" in (report.error or "")
    assert "hunter2" not in (report.error or "")


def test_a_dsn_in_the_config_is_not_an_option(workspace: Path) -> None:
    from alpha_engine.config import ConfigError

    with pytest.raises(ConfigError, match="postgres_dsn_env"):
        APP.check_settings(_settings(workspace, postgres_dsn_env="host=db password=secret"))


# ------------------------------------------------------------------------------------ the fence

@pytest.fixture
def lost_lease(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage runs for a task attempt whose lease was superseded by a newer attempt."""
    store = SqliteStore(tmp_path / "sfn" / "executions.sqlite3")
    store.create(ExecutionRecord(arn=ARN, name="run-1", state_machine_arn="sm", state_machine_name="StateMachine",
                                 definition="{}", input="{}", status="RUNNING", start_date=0.0))
    store.begin_lease("t1", ARN, "/RAGIngestion#0", "RAGIngestion", 0.0)
    store.begin_lease("t2", ARN, "/RAGIngestion#0", "RAGIngestion", 1.0)
    monkeypatch.setenv(sfn.TASK_LEASE_ENV, "t1")
    monkeypatch.setenv(sfn.EXECUTION_STORE_ENV, str(store.path))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_attempt_that_lost_its_lease_commits_no_ingestion(workspace: Path, pg_dsn: str, backend: str,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             request: pytest.FixtureRequest) -> None:
    settings = load_settings(workspace=workspace, env={}, stages={"rag-ingestion": {"backend": backend}})
    assert _run(settings).status == "ok"
    before = _rows(pg_dsn) if backend == "postgres" else (workspace / "rag" / "index.sqlite").read_bytes()
    (workspace / "documents" / "new.md").write_text("A new note on tariffs.", encoding="utf-8")
    request.getfixturevalue("lost_lease")
    report = _run(settings)
    assert report.status == "failed"
    assert "FencedWriteError" in (report.error or "") and "RAG ingestion" in (report.error or "")
    assert "superseded" in (report.error or "")
    after = _rows(pg_dsn) if backend == "postgres" else (workspace / "rag" / "index.sqlite").read_bytes()
    assert after == before
    if backend == "sqlite":
        with RagIndex(workspace / "rag" / "index.sqlite") as index:  # (FTS5's check needs a writable open)
            index.check_integrity()
            assert "documents:new.md" not in index.document_hashes()


def test_ingesting_the_same_folder_into_both_backends_gives_the_same_chunks(pg_dsn: str, workspace: Path,
                                                                            tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    source = FolderSource(workspace / "documents")
    with RagIndex(tmp_path / "i.sqlite") as lite, PostgresRagIndex(pg_dsn) as pg:
        for index in (lite, pg):
            index.ingest([source], embedder, chunk_size=400, chunk_overlap=50)
        assert lite.chunk_ids() == pg.chunk_ids() and lite.document_hashes() == pg.document_hashes()
        assert lite.meta() | {"schema_version": "1"} == pg.meta()


def test_a_bulk_load_builds_the_hnsw_index_once_and_search_finds_the_planted_text(pg_dsn: str) -> None:
    from test_frequent_terms import Texts, corpus

    embedder = HashingEmbedder()
    with PostgresRagIndex(pg_dsn) as index:
        index.ingest([Texts(corpus(1200))], embedder, chunk_size=200, chunk_overlap=20)  # over _BULK new texts
        assert index.count("contents") == 1200
        (definition,) = index._db.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contents_hnsw'").fetchone()
        assert "hnsw" in definition and "vector_cosine_ops" in definition
        hits = index.search("serial125 delta", embedder, k=3)
        assert hits[0].source_id == "texts:0125" and hits[0].vector_rank == 1 and hits[0].lexical_rank == 1
        index.check_integrity()


def test_the_match_budget_keeps_the_rarest_words_in_query_order() -> None:
    from alpha_engine.rag._postgres import within_match_budget

    assert within_match_budget(["a", "b", "c"], [900, 50, 1200], 1000) == ["a", "b"]
    assert within_match_budget(["a", "b", "c"], [900, 50, 1200], 10) == ["b"]  # the rarest always stays
    assert within_match_budget(["a", "b"], [5, 5], 5) == ["a"]  # ties: the first
    assert within_match_budget(["a", "zzz"], [3000, 0], 2000) == ["zzz"]
    assert within_match_budget([], [], 10) == []


def test_a_postgres_index_ranks_at_most_the_budget_of_texts(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_frequent_terms import Texts, corpus

    from alpha_engine.rag import _index, _postgres

    monkeypatch.setattr(_index, "FREQUENT_MIN_DOCS", 10)
    with PostgresRagIndex(pg_dsn) as index:
        index.ingest([Texts(corpus())], HashingEmbedder(), chunk_size=200, chunk_overlap=20)
        assert index.lexical_terms("delta serial7 filler3") == ["delta", "serial7"]  # filler3: in 1/7 of texts
        monkeypatch.setattr(_postgres, "LEXICAL_MATCH_BUDGET", 1)
        assert index.lexical_terms("serial7 delta") == ["serial7"]
        assert index.lexical_search("serial7 delta", 10) == index.lexical_search("serial7", 10)
