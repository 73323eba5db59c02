"""RAGIngestion's EDGAR source through the stage runner and the app's wiring (the real EDGAR client
over recorded responses, never the network): what is read, incremental re-runs that fetch no known
filing, SKIPPED without an identity, partial and total failures, determinism, the shell run."""

from __future__ import annotations

import functools
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from edgar_recorded import DOCUMENTS, IDENTITY, FakeClock, RecordedSec

from alpha_engine.app import RESOURCES, SATURDAY_GRAPH, open_edgar_filings, probe_edgar_filings
from alpha_engine.config import Settings, load_settings
from alpha_engine.data import CANDIDATES, WEEKLY_CONSTITUENTS
from alpha_engine.data.providers import HttpSettings, RetryPolicy
from alpha_engine.pipeline import PipelineApp, StageReport, Wiring, run_stage
from alpha_engine.rag import EDGAR_FILINGS, RAG_INGESTION_REPORT, RagIndex, WordLlamaEmbedder
from alpha_engine.store import ArtifactStore

DAY = date(2022, 12, 31)
UNIVERSE = ["AAPL", "BRK.A", "BRK.B", "MSFT", "ZZZZ"]
AAPL_10K = "/Archives/edgar/data/320193/000032019322000108/aapl-20220924.htm"
ALL_IDS = ["edgar:1067983:0000950170-22-024206", "edgar:320193:0000320193-22-000070",
           "edgar:320193:0000320193-22-000107", "edgar:320193:0000320193-22-000108",
           "edgar:789019:0000950170-22-020597", "edgar:789019:0000950170-22-020614"]


def _app(sec: RecordedSec) -> PipelineApp:
    clock = FakeClock()
    http = HttpSettings(transport=httpx.MockTransport(sec), retry=RetryPolicy(max_attempts=2), sleep=clock.sleep,
                        monotonic=clock.monotonic)
    wiring = {**RESOURCES, EDGAR_FILINGS: Wiring(open=functools.partial(open_edgar_filings, http=http),
                                                 probe=probe_edgar_filings)}
    return PipelineApp(graph=SATURDAY_GRAPH, resources=wiring)


def _workspace(root: Path, identity: str = IDENTITY, *, universe: list[str] | None = UNIVERSE,
               candidates: list[str] | None = None, **edgar: Any) -> Settings:
    env = {"ALPHA_ENGINE_EDGAR_IDENTITY": identity} if identity else {}
    settings = load_settings(workspace=root, env=env, stages={"rag-ingestion": {"edgar": edgar}} if edgar else {})
    store = ArtifactStore(settings.artifacts_uri, contracts=SATURDAY_GRAPH.contracts())
    if universe is not None:
        store.write_json(WEEKLY_CONSTITUENTS.format(DAY), {
            "run_date": DAY.isoformat(), "provider": "files", "tickers": universe, "count": len(universe),
            "sector_map": {}, "caveats": []})
    if candidates is not None:
        store.write_json(CANDIDATES.format(DAY), {
            "run_date": DAY.isoformat(), "as_of_session": "2022-12-30", "caveats": [],
            "config": {"min_avg_volume": 0, "min_momentum_20d": 0, "min_price_vs_ma50": 0, "min_price_vs_ma200": 0},
            "counts": {"scanned": 0, "passed": len(candidates)}, "gates_not_applied_for_some_tickers": [],
            "candidates": candidates, "tickers": []})
    return settings


def _run(settings: Settings, sec: RecordedSec, preflight_only: bool = False) -> StageReport:
    return run_stage("rag-ingestion", DAY, settings=settings, app=_app(sec), preflight_only=preflight_only)


def _report_path(settings: Settings) -> Path:
    return settings.workspace / "artifacts" / RAG_INGESTION_REPORT.format(DAY)


def _report(settings: Settings) -> Any:
    return json.loads(_report_path(settings).read_text())


def _indexed(settings: Settings) -> list[str]:
    with RagIndex(settings.workspace / "rag" / "index.sqlite", read_only=True) as index:
        return sorted(index.document_hashes())


def test_the_recent_filings_of_the_universe_are_ingested_and_searchable(tmp_path: Path) -> None:
    sec = RecordedSec()
    settings = _workspace(tmp_path / "ws", candidates=["MSFT"])
    report = _run(settings, sec)
    assert report.status == "ok", report.error
    assert (report.summary["edgar"], report.summary["edgar_fetched"], report.summary["edgar_failed"]) == ("OK", 6, 0)
    assert report.warnings == ("EDGAR: not in SEC's ticker map: ZZZZ",)
    edgar = _report(settings)["edgar"]
    assert edgar["tickers_from"] == ("market_data/weekly/2022-12-31/constituents.json "
                                     "(candidates/2022-12-31/candidates.json first)")
    assert edgar["window"] == {"start": "2022-01-01", "end": "2022-12-31", "days": 365}
    assert edgar["counts"] == {"tickers": 5, "companies": 3, "unresolved": 1, "filings": 6, "known": 0, "fetched": 6,
                               "failed": 0, "unsupported": 0, "retained": 0}
    assert edgar["notes"] == ["BRK.B: same company as BRK.A (CIK 1067983), read once"]
    # The Scanner's candidate first; out-of-window filings, other forms and the second share class never fetched.
    assert sec.paths()[:2] == ["/files/company_tickers.json", "/submissions/CIK0000789019.json"]
    assert sec.documents_fetched() == DOCUMENTS
    assert all(r.headers["User-Agent"] == IDENTITY for r in sec.requests)
    assert _indexed(settings) == ALL_IDS
    with RagIndex(settings.workspace / "rag" / "index.sqlite", read_only=True) as index:
        hit = index.search("Azure cloud revenue Windows OEM", WordLlamaEmbedder(), k=1)[0]
        assert hit.source_id == "edgar:789019:0000950170-22-020614"
        top = index.search("outsourcing partners supply constraints", WordLlamaEmbedder(), k=1)[0]
        assert top.source_id == "edgar:320193:0000320193-22-000108" and "outsourcing partners" in top.text


def test_a_second_run_fetches_no_filing_the_index_holds(tmp_path: Path) -> None:
    settings = _workspace(tmp_path / "ws")
    assert _run(settings, RecordedSec()).status == "ok"
    again = RecordedSec()
    report = _run(settings, again)
    assert report.status == "ok", report.error
    assert again.documents_fetched() == []  # only the ticker map and the filing lists were asked for
    assert (report.summary["edgar_known"], report.summary["edgar_fetched"]) == (6, 0)
    assert report.summary["documents_unchanged"] == 6 and report.summary["chunks_embedded"] == 0
    assert _indexed(settings) == ALL_IDS


def test_without_an_identity_the_source_is_skipped_and_the_rest_goes_on(tmp_path: Path) -> None:
    sec = RecordedSec()
    settings = _workspace(tmp_path / "ws", identity="")
    (settings.workspace / "documents").mkdir(parents=True)
    (settings.workspace / "documents" / "memo.md").write_text("A memo on gross margin.", encoding="utf-8")
    report = _run(settings, sec)
    assert report.status == "ok", report.error
    assert report.summary["edgar"].startswith("SKIPPED: no EDGAR identity configured: set [data] edgar_identity")
    written = _report(settings)
    assert written["edgar"]["status"] == "skipped" and "ALPHA_ENGINE_EDGAR_IDENTITY" in written["edgar"]["reason"]
    assert written["sources"] == ["documents", "archive"] and written["documents"]["added"] == 1
    assert sec.requests == []


def test_the_source_can_be_turned_off_and_needs_a_universe(tmp_path: Path) -> None:
    sec = RecordedSec()
    off = _run(_workspace(tmp_path / "off", enabled=False), sec)
    assert off.summary["edgar"] == "SKIPPED: [stages.rag-ingestion.edgar] enabled is false"
    no_universe = _run(_workspace(tmp_path / "bare", universe=None), sec)
    assert no_universe.status == "ok", no_universe.error
    assert no_universe.summary["edgar"] == ("SKIPPED: no tickers: market_data/weekly/2022-12-31/constituents.json "
                                            "is absent (DataPhase1 failed or was skipped)")
    assert sec.requests == []


def test_a_failed_filing_is_reported_the_rest_ingested_and_it_is_fetched_next_time(tmp_path: Path) -> None:
    settings = _workspace(tmp_path / "ws")
    report = _run(settings, RecordedSec(failing={AAPL_10K}))
    assert report.status == "ok", report.error
    failure = {"ticker": "AAPL", "cik": 320193, "accession_number": "0000320193-22-000108", "form": "10-K"}
    [written] = _report(settings)["edgar"]["failures"]
    assert {k: written[k] for k in failure} == failure and "HTTP 500" in written["error"], written
    assert report.summary["edgar_failed"] == 1 and report.summary["edgar_fetched"] == 5
    assert any(w.startswith("EDGAR AAPL: 10-K 0000320193-22-000108: ") for w in report.warnings)
    assert "edgar:320193:0000320193-22-000108" not in _indexed(settings) and len(_indexed(settings)) == 5

    healthy = RecordedSec()
    assert _run(settings, healthy).status == "ok"
    assert healthy.documents_fetched() == [AAPL_10K]
    assert _indexed(settings) == ALL_IDS


def test_a_failed_filing_list_keeps_the_filings_the_index_holds_for_that_company(tmp_path: Path) -> None:
    settings = _workspace(tmp_path / "ws")
    assert _run(settings, RecordedSec()).status == "ok"
    report = _run(settings, RecordedSec(failing={"/submissions/CIK0000789019.json"}))
    assert report.status == "ok", report.error
    edgar = _report(settings)["edgar"]
    assert edgar["counts"]["retained"] == 2 and edgar["failures"][0]["accession_number"] is None
    assert report.summary["documents_removed"] == 0 and _indexed(settings) == ALL_IDS


def test_every_download_failing_fails_the_stage_and_ingests_nothing(tmp_path: Path) -> None:
    settings = _workspace(tmp_path / "ws")
    (settings.workspace / "documents").mkdir(parents=True)
    (settings.workspace / "documents" / "memo.md").write_text("A memo.", encoding="utf-8")
    report = _run(settings, RecordedSec(failing=set(DOCUMENTS)))
    assert report.status == "failed"
    assert "EDGAR: every filing download failed (6); nothing was ingested" in (report.error or "")
    assert "enabled = false" in (report.error or "")
    assert not _report_path(settings).exists() and _indexed(settings) == []


def test_every_filing_list_failing_fails_the_stage(tmp_path: Path) -> None:
    lists = {"/submissions/CIK0000320193.json", "/submissions/CIK0000789019.json", "/submissions/CIK0001067983.json"}
    report = _run(_workspace(tmp_path / "ws"), RecordedSec(failing=lists))
    assert report.status == "failed" and "EDGAR: every filing list failed (3 companies)" in (report.error or "")


def test_sec_refusing_the_identity_fails_the_stage_at_the_first_request(tmp_path: Path) -> None:
    sec = RecordedSec(failing={"/files/company_tickers.json"}, status=403)
    report = _run(_workspace(tmp_path / "ws"), sec)
    assert report.status == "failed" and "check the identity" in (report.error or "")
    assert len(sec.requests) == 1


def test_two_fresh_runs_write_identical_reports_and_indexes(tmp_path: Path) -> None:
    first, second = _workspace(tmp_path / "a"), _workspace(tmp_path / "b")
    assert _run(first, RecordedSec()).status == "ok" and _run(second, RecordedSec()).status == "ok"
    assert _report_path(first).read_bytes() == _report_path(second).read_bytes()
    index = Path("rag") / "index.sqlite"
    assert (first.workspace / index).read_bytes() == (second.workspace / index).read_bytes()


def test_a_shell_run_checks_the_configuration_and_makes_no_request(tmp_path: Path) -> None:
    sec = RecordedSec()
    settings = _workspace(tmp_path / "ws")
    report = _run(settings, sec, preflight_only=True)
    assert report.status == "ok", report.error
    assert sec.requests == [] and not _report_path(settings).exists()


def test_a_malformed_identity_fails_the_preflight(tmp_path: Path) -> None:
    report = _run(_workspace(tmp_path / "ws", identity="nobody"), RecordedSec(), preflight_only=True)
    assert report.status == "preflight_failed" and "is not 'Name email'" in (report.error or "")
