"""DataPhase2 through the stage runner, on the hand-written SEC responses (no network): the
insider artifact, SKIPPED without an identity, the shell (dry) run, failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from edgar_support import IDENTITY, SecServer
from providers_support import FakeClock, Script

from alpha_engine.app import SATURDAY, SATURDAY_GRAPH
from alpha_engine.config import Settings, load_settings
from alpha_engine.data import INSIDER, DataPhase2, _alternative
from alpha_engine.pipeline import run_stage
from alpha_engine.store import ArtifactStore

RUN_DATE = date(2022, 12, 31)
SIGNALS_KEY = "signals/2022-12-31/signals.json"
INSIDER_KEY = "alternative_data/2022-12-31/insider.json"


def signals(tickers: list[str]) -> dict[str, Any]:
    """A valid signals document whose population (the promoted tickers DataPhase2 covers) is ``tickers``."""
    return {"date": "2022-12-31", "time": "2022-12-31T00:00:00Z", "architecture_version": "sector_teams",
            "market_regime": "neutral", "sector_ratings": {}, "sector_modifiers": {}, "universe": [],
            "buy_candidates": [], "signals": {}, "population": sorted(set(tickers))}


def workspace(tmp_path: Path, tickers: list[str] | None, identity: str = IDENTITY) -> Settings:
    env = {"ALPHA_ENGINE_EDGAR_IDENTITY": identity} if identity else {}
    settings = load_settings(workspace=tmp_path / "ws", env=env)
    if tickers is not None:
        store = ArtifactStore(settings.artifacts_uri, contracts=SATURDAY_GRAPH.contracts())
        store.write_json(SIGNALS_KEY, signals(tickers))
    return settings


@pytest.fixture
def sec(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], SecServer]:
    """``sec(handler)``: DataPhase2's EDGAR client goes to ``handler`` (a SecServer by default)."""

    def install(handler: Any = None) -> Any:
        handler = handler if handler is not None else SecServer()
        clock = FakeClock()
        real = _alternative.open_edgar_client

        def fake(data: Any, **_: Any) -> Any:
            return real(data, transport=httpx.MockTransport(handler), sleep=clock.sleep, monotonic=clock.monotonic)

        monkeypatch.setattr(_alternative, "open_edgar_client", fake)
        return handler

    return install


def read(settings: Settings, key: str) -> Any:
    return ArtifactStore(settings.artifacts_uri, read_only=True, contracts=SATURDAY_GRAPH.contracts()).read_json(key)


def test_the_insider_artifact_has_each_tickers_trades_and_facts(tmp_path: Path, sec: Any) -> None:
    server = sec()
    settings = workspace(tmp_path, ["AAPL", "MSFT", "ZZZZ"])
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert report.status == "ok", report.error
    assert report.summary == {"status": "OK", "provider": "sec-edgar", "requested": 3, "covered": 2,
                              "unresolved": 1, "failed": 0}
    assert report.warnings == ("not in SEC's ticker map: ZZZZ",)
    body = read(settings, INSIDER_KEY)  # validated against insider.schema.json on read
    assert (body["status"], body["reason"], body["unresolved"]) == ("ok", None, ["ZZZZ"])
    assert body["window"] == {"start": "2022-10-03", "end": "2022-12-31", "days": 90}
    aapl, msft = body["tickers"]
    assert (aapl["ticker"], aapl["cik"], aapl["company"], aapl["error"]) == ("AAPL", 320193, "Apple Inc.", None)
    insider = aapl["insider"]
    assert (insider["filings"], insider["insiders"], insider["net_shares"], insider["net_value"]) == (
        2, 3, -16500.0, -1690500.0)
    assert aapl["facts"]["shares_outstanding"]["value"] == 15908118000
    assert aapl["facts"]["revenue"]["value"] == 394328000000
    assert aapl["facts"]["net_income"]["period_end"] == "2022-09-24"
    assert msft["insider"]["filings"] == 0 and msft["facts"] is None  # no XBRL facts: HTTP 404
    # The 4/A, the Form 4 filed after the run date and the one before the window were not fetched.
    assert sum(p.startswith("/Archives/") for p in server.paths()) == 2


def test_a_rerun_writes_the_same_bytes(tmp_path: Path, sec: Any) -> None:
    sec()
    settings = workspace(tmp_path, ["MSFT", "AAPL"])
    path = Path(settings.artifacts_uri) / INSIDER_KEY
    run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    first = path.read_bytes()
    run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert path.read_bytes() == first


def test_without_an_identity_the_stage_is_skipped_and_says_how_to_configure_it(tmp_path: Path, sec: Any) -> None:
    server = sec()
    settings = workspace(tmp_path, ["AAPL"], identity="")
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert report.status == "ok", report.error
    assert report.summary["status"] == "SKIPPED"
    assert report.summary["reason"].startswith("no EDGAR identity configured: set [data] edgar_identity")
    assert "ALPHA_ENGINE_EDGAR_IDENTITY" in report.summary["reason"]
    assert report.warnings == (f"SKIPPED: {report.summary['reason']}",)
    assert server.requests == []
    body = read(settings, INSIDER_KEY)
    assert (body["status"], body["reason"], body["tickers"]) == ("skipped", report.summary["reason"], [])


def test_without_signals_the_stage_is_skipped(tmp_path: Path, sec: Any) -> None:
    server = sec()
    report = run_stage("data-phase2", RUN_DATE, settings=workspace(tmp_path, None), app=SATURDAY)
    assert report.status == "ok" and report.summary["status"] == "SKIPPED"
    assert report.summary["reason"] == f"no tickers: {SIGNALS_KEY} is absent (its stage failed or was skipped)"
    assert server.requests == []


def test_a_dry_run_fetches_and_writes_nothing(tmp_path: Path, sec: Any) -> None:
    server = sec()
    settings = workspace(tmp_path, ["AAPL"])
    root = Path(settings.artifacts_uri)
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY, preflight_only=True)
    assert report.status == "ok", report.error
    assert server.requests == []
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == before


def test_a_malformed_identity_fails_the_preflight(tmp_path: Path, sec: Any) -> None:
    sec()
    report = run_stage("data-phase2", RUN_DATE, settings=workspace(tmp_path, ["AAPL"], identity="alpha-engine"),
                       app=SATURDAY, preflight_only=True)
    assert report.status == "preflight_failed" and "is not 'Name email'" in (report.error or "")


def test_a_ticker_whose_requests_fail_is_recorded_and_the_others_go_on(tmp_path: Path, sec: Any) -> None:
    server = SecServer()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/submissions/CIK0000789019.json":
            return httpx.Response(500, text="Internal Server Error")
        return server(request)

    sec(handler)
    settings = workspace(tmp_path, ["AAPL", "MSFT"])
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert report.status == "ok", report.error
    assert (report.summary["covered"], report.summary["failed"]) == (1, 1)
    msft = read(settings, INSIDER_KEY)["tickers"][1]
    assert msft["insider"] is None and "CIK0000789019.json failed after 4 attempts" in msft["error"]
    assert "HTTP 500" in msft["error"]


def test_an_identity_sec_refuses_fails_the_stage(tmp_path: Path, sec: Any) -> None:
    sec(Script(httpx.Response(403, text="Undeclared Automated Tool"), repeat_last=True))
    settings = workspace(tmp_path, ["AAPL"])
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert report.status == "failed" and "HTTP 403" in (report.error or "")
    assert not (Path(settings.artifacts_uri) / INSIDER_KEY).exists()


def test_the_tickers_come_from_the_declared_source() -> None:
    from alpha_engine.data._stages import TICKERS_FROM
    from alpha_engine.research import SIGNALS

    assert TICKERS_FROM.artifact is SIGNALS and [c.artifact for c in DataPhase2.consumptions()] == [SIGNALS]
    assert DataPhase2.produces == (INSIDER,)
    assert TICKERS_FROM.tickers({"population": ["AAPL", {"ticker": "MSFT"}, "AAPL"]}, "k") == ["AAPL", "MSFT"]


def test_the_env_overrides_the_identity_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[data]\nedgar_identity = "File Person file@example.com"\n')
    assert load_settings(config, workspace=tmp_path, env={}).data.edgar_identity == "File Person file@example.com"
    env = {"ALPHA_ENGINE_EDGAR_IDENTITY": IDENTITY, "ALPHA_ENGINE_EDGAR_BASE_URL": "http://127.0.0.1:9"}
    data = load_settings(config, workspace=tmp_path, env=env).data
    assert (data.edgar_identity, data.edgar_base_url) == (IDENTITY, "http://127.0.0.1:9")


@pytest.fixture
def local_sec() -> Any:
    """A local HTTP server serving the SEC fixtures by path; yields (base URL, the requests' User-Agents)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from edgar_support import EDGAR_FIXTURES, ROUTES

    agents: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            agents.append(self.headers.get("User-Agent", ""))
            name = ROUTES.get(self.path)
            body = (EDGAR_FIXTURES / (name or "not_found.html")).read_bytes()
            self.send_response(200 if name else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", agents
    server.shutdown()
    server.server_close()


def test_the_base_url_setting_points_the_stage_at_a_local_server(tmp_path: Path, local_sec: Any) -> None:
    base_url, agents = local_sec
    settings = workspace(tmp_path, ["AAPL"])
    settings = settings.model_copy(update={"data": settings.data.model_copy(update={"edgar_base_url": base_url})})
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY)
    assert report.status == "ok", report.error
    assert report.summary["covered"] == 1
    assert read(settings, INSIDER_KEY)["tickers"][0]["insider"]["net_shares"] == -16500.0
    assert len(agents) == 5 and set(agents) == {IDENTITY}  # map, submissions, two Form 4s, facts


def test_the_data_phase2_dry_input_returns_before_any_fetch_or_write(tmp_path: Path) -> None:
    settings = workspace(tmp_path, ["AAPL"])
    before = sorted(p for p in Path(settings.artifacts_uri).rglob("*") if p.is_file() and "health" not in p.parts)
    report = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY,
                       execution_input={"data_phase2_dry": True})
    assert report.status == "ok" and report.summary["status"] == "ok_dry_run", report.error
    after = sorted(p for p in Path(settings.artifacts_uri).rglob("*") if p.is_file() and "health" not in p.parts)
    assert after == before  # no insider.json: nothing fetched (no transport is mocked here), nothing written
    bad = run_stage("data-phase2", RUN_DATE, settings=settings, app=SATURDAY,
                    execution_input={"data_phase2_dry": "yes"})
    assert bad.status == "preflight_failed" and "data_phase2_dry must be true or false" in (bad.error or "")
