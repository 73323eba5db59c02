"""Bad input is refused up front, in one line: a run_date whose session has not closed (nothing is
written), an unknown provider or ticker, a damaged market store; with --json the failure is one
JSON error object on stdout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner, Result

import alpha_engine.cli._common as common
from alpha_engine.app import default_run_date
from alpha_engine.cli import app
from alpha_engine.config import load_settings
from alpha_engine.data import FEATURE_ORDER
from alpha_engine.store import MarketStore
from damaged_store import make_damaged_market_store

runner = CliRunner()
FRIDAY_MORNING = datetime(2026, 12, 4, 11, 36, tzinfo=UTC)  # Thursday 2026-12-03 is the last closed session


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace that does not exist yet, on the shipped app and the bundled sample."""
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    monkeypatch.delenv("ALPHA_ENGINE_PREFLIGHT_ONLY", raising=False)
    return tmp_path / "ws"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# -- run_date -------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["run"], ["run", "--shell"], ["stage", "run", "data-phase1"],
                                     ["data", "ingest"]])
def test_a_future_run_date_is_refused_before_anything_is_written(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.setattr(common, "utc_now", lambda: FRIDAY_MORNING)
    result = invoke(*command, "--run-date", "2026-12-05")
    assert result.exit_code == 64, result.output
    assert error_lines(result) == [
        "error: run_date 2026-12-05 is in the future: the last closed XNYS session is 2026-12-03 "
        "(at 2026-12-04 11:36 UTC); pass --run-date 2026-11-28 (the latest Saturday whose sessions have all "
        "closed) or any date up to 2026-12-03"]
    assert "Traceback" not in result.output
    assert not workspace.exists()  # no market store, no artifacts, no execution record


def test_a_far_future_run_date_is_refused_on_the_wall_clock_too(workspace: Path) -> None:
    result = invoke("run", "--run-date", "2099-06-06")
    assert result.exit_code == 64 and "run_date 2099-06-06 is in the future" in result.stderr
    assert not workspace.exists()


def test_a_weekday_run_date_runs_with_one_warning_line(workspace: Path) -> None:
    result = invoke("stage", "run", "saturday-health-check", "--run-date", "2022-12-30", "--preflight-only")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: run_date 2022-12-30 is a Friday, not a Saturday: the weekly pipeline runs on "
                        "Saturdays; stages read the sessions closed by 2022-12-30 (pass a Saturday to silence this)"]


def test_run_help_states_the_default_run_date_the_app_gives(workspace: Path) -> None:
    run = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    (option,) = [p for p in run.params if p.name == "run_date"]
    assert "first Saturday after its last bar (the sample: 2022-12-31)" in option.help
    assert "for a live feed (yfinance, polygon) today, UTC" in option.help
    settings = load_settings(workspace=workspace, env={})
    assert str(default_run_date(settings, datetime(2030, 1, 1).date())) == "2022-12-31"
    live = settings.model_copy(update={"data": settings.data.model_copy(update={"provider": "yfinance"})})
    assert default_run_date(live, datetime(2030, 1, 1).date()) == datetime(2030, 1, 1).date()


# -- unknown provider or ticker ---------------------------------------------------------------------

def test_an_unknown_provider_is_one_line_naming_file_field_value_and_the_known_ones(workspace: Path) -> None:
    workspace.mkdir()
    (workspace / "config.toml").write_text('[data]\nprovider = "nope"\n', encoding="utf-8")
    result = invoke("data", "status")
    assert result.exit_code == 64
    assert result.stderr.splitlines() == [
        f"error: {workspace / 'config.toml'}: data.provider: unknown provider 'nope'; known: sample, files, "
        f"yfinance, polygon, synthetic"]


@pytest.fixture
def stored_two_tickers(workspace: Path) -> str:
    uri = f"lmdb://{workspace / 'arcticdb'}"
    store = MarketStore(uri, feature_columns=FEATURE_ORDER)
    frame = pd.DataFrame({"Close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2022-01-03", "2022-01-04"], name="date"))
    with store.writer():
        store.ensure_libraries()
        store.upsert_many({"BBB": frame, "AAA": frame})
    return uri


@pytest.mark.parametrize("command", [["data", "validate"], ["data", "features"]])
def test_an_unknown_ticker_is_one_line_naming_the_store_and_what_it_holds(
        stored_two_tickers: str, command: list[str]) -> None:
    result = invoke(*command, "--ticker", "NOPE")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: ticker NOPE is not in the market store at {stored_two_tickers} (2 tickers stored, e.g. AAA, BBB)"]
    as_json = invoke(*command, "--ticker", "NOPE", "--json")
    assert json.loads(as_json.stdout) == {"error": {
        "type": "SymbolNotFoundError", "exit_code": 1,
        "message": f"ticker NOPE is not in the market store at {stored_two_tickers} (2 tickers stored, e.g. AAA, BBB)"}}


# -- a damaged market store -------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["universe:garbage", "universe:truncated", "_arctic_cfg:garbage"])
@pytest.mark.parametrize("command", [["data", "status"], ["data", "validate"], ["data", "validate", "-t", "AAA"]])
def test_a_damaged_store_is_one_line_with_the_recovery_step(
        workspace: Path, damage: str, command: list[str]) -> None:
    directory = workspace / "arcticdb"
    make_damaged_market_store(directory, damage)
    result = invoke(*command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [
        f"error: market store lmdb://{directory} is corrupt (MDB_INVALID in {directory / damage.split(':')[0]}): "
        f"move the directory aside (mv {directory} {directory}.corrupt), then rebuild it: "
        f"alpha-engine data ingest --workspace {workspace}"]


def test_a_run_on_a_damaged_store_fails_with_the_recovery_step_and_no_traceback(workspace: Path) -> None:
    directory = workspace / "arcticdb"
    make_damaged_market_store(directory, "universe:garbage")
    result = invoke("run", "--json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    report = json.loads(result.stdout)
    assert report["execution"]["status"] == "FAILED"
    first = next(s for s in report["stages"] if s["status"] == "FAILED")
    log = invoke("logs", report["execution"]["name"], first["name"])
    assert log.exit_code == 0
    assert f"is corrupt (MDB_INVALID in {directory / 'universe'}): move the directory aside" in log.stdout
    assert "Traceback" not in log.stdout


# -- --json failures --------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "error_type", "code", "message"), [
    (["run", "--run-date", "tomorrow", "--json"], "UsageError", 64, "--run-date must be YYYY-MM-DD, got 'tomorrow'"),
    (["run", "--run-date", "2099-06-06", "--json"], "RunDateError", 64, "run_date 2099-06-06 is in the future"),
    (["data", "status", "--json", "--as-of"], "BadOptionUsage", 64, "Option '--as-of' requires an argument."),
    (["status", "--bogus", "--json"], "NoSuchOption", 64, "No such option: --bogus"),
    (["data", "status", "--json"], "DataError", 1, "is empty: run 'alpha-engine data ingest'"),
])
def test_a_failing_json_command_prints_one_error_object_on_stdout(
        workspace: Path, args: list[str], error_type: str, code: int, message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == code, result.output
    report = json.loads(result.stdout)  # exactly one JSON document
    assert set(report) == {"error"} and set(report["error"]) == {"type", "message", "exit_code"}
    assert report["error"]["type"] == error_type and report["error"]["exit_code"] == code
    assert message in report["error"]["message"]
    assert result.stderr.strip(), "the human-readable line still goes to stderr"


def test_without_json_a_failure_prints_nothing_on_stdout(workspace: Path) -> None:
    result = invoke("data", "status")
    assert result.exit_code == 1 and result.stdout == ""
    assert error_lines(result) == [f"error: the market store lmdb://{workspace / 'arcticdb'} is empty: "
                                   f"run 'alpha-engine data ingest'"]
