"""One exit-code table for every command (``ExitCode``), documented in the CLI module and in
docs/cli.md; each row is checked by a command that exits with it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import alpha_engine.cli._common as common
from alpha_engine.cli import app
from alpha_engine.cli._common import ExitCode, signal_exit_code

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_TESTS = ROOT / "tests" / "pipeline"
DOCS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    monkeypatch.delenv("ALPHA_ENGINE_PREFLIGHT_ONLY", raising=False)
    return tmp_path / "ws"


def test_the_table_is_exactly_these_codes() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0, "FAILED": 1, "PREFLIGHT_FAILED": 2, "USAGE": 64, "BUSY": 75}
    assert common.USAGE_EXIT == 64 and common.BUSY_EXIT == 75
    assert signal_exit_code(signal.SIGINT) == 130 and signal_exit_code(signal.SIGTERM) == 143


def test_the_stage_runner_exits_with_codes_of_the_same_table() -> None:
    from alpha_engine.pipeline import ExitCode as StageExitCode

    assert {code.name: int(code) for code in StageExitCode} == {
        "OK": ExitCode.OK, "RUN_FAILED": ExitCode.FAILED, "PREFLIGHT_FAILED": ExitCode.PREFLIGHT_FAILED,
        "USAGE": ExitCode.USAGE}


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda c: c.name)
def test_every_code_is_documented_in_the_module_and_in_docs_cli(code: ExitCode) -> None:
    assert f"* {int(code)} ``{code.name}``:" in (common.__doc__ or "")
    assert re.search(rf"^\| {int(code)} \| `{code.name}` \| \S", DOCS, re.MULTILINE), code.name


def test_the_signal_row_is_documented() -> None:
    assert "128+N (:func:`signal_exit_code`): stopped by signal N" in (common.__doc__ or "")
    assert re.search(r"^\| 128\+N \| \| stopped by signal N", DOCS, re.MULTILINE)


def test_ok_is_0(workspace: Path) -> None:
    assert runner.invoke(app, ["stages"]).exit_code == ExitCode.OK


def test_a_failed_operation_is_1(workspace: Path) -> None:
    result = runner.invoke(app, ["data", "status"])  # no market store yet
    assert result.exit_code == ExitCode.FAILED and "is empty" in result.stderr


def test_a_failed_preflight_of_stage_run_is_2(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PIPELINE_TESTS))
    workspace.mkdir()
    (workspace / "config.toml").write_text('[pipeline]\napp = "pipeline_test_graph:APP"\n', encoding="utf-8")
    (workspace / "test-faults").mkdir()
    (workspace / "test-faults" / "alpha").write_text("preflight")
    result = runner.invoke(app, ["stage", "run", "alpha", "--run-date", "2026-11-21"])
    assert result.exit_code == ExitCode.PREFLIGHT_FAILED, result.output
    assert "injected preflight failure" in result.stderr


def test_a_failed_preflight_of_data_ingest_is_2(workspace: Path, tmp_path: Path) -> None:
    workspace.mkdir()
    (tmp_path / "source" / "macro").mkdir(parents=True)  # a files source without its market index
    (tmp_path / "source" / "AAA.csv").write_text("date,close\n2022-12-30,1.0\n", encoding="utf-8")
    (workspace / "config.toml").write_text(
        f'[data]\nprovider = "files"\nprovider_options = {{ root = "{tmp_path / "source"}" }}\n', encoding="utf-8")
    result = runner.invoke(app, ["data", "ingest", "--run-date", "2022-12-31"])
    assert result.exit_code == ExitCode.PREFLIGHT_FAILED, result.output
    assert "error: PreflightError: files: no file for the market index SPY" in result.stderr
    assert not (workspace / "arcticdb").exists()


@pytest.mark.parametrize("args", [
    ["stage", "run", "scanner"],  # click: missing --run-date (click alone exits 2, the preflight code)
    ["stage", "run"],  # click: missing argument
    ["stages", "--bogus"],  # click: no such option
    ["data", "status", "--as-of"],  # click: option needs a value
    ["nosuchcommand"],  # click: no such command
    ["stage", "run", "nosuchstage", "--run-date", "2022-12-31"],  # ours: unknown stage
    ["stage", "run", "scanner", "--run-date", "31/12/2022"],  # ours: bad date
    ["run", "--run-date", "2099-01-03"],  # ours: the run-date policy
], ids=lambda args: " ".join(args))
def test_usage_is_64_for_our_errors_and_for_clicks(workspace: Path, args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output


def test_busy_is_75_when_another_run_holds_the_workspace(workspace: Path) -> None:
    import json

    from alpha_engine.pipeline._workspace_lock import WorkspaceLock

    # flock locks belong to the open file description: one held here refuses the CLI in this process too.
    with WorkspaceLock(workspace, command="run", execution="saturday-2022-12-31-held"):
        result = runner.invoke(app, ["run", "--run-date", "2022-12-31", "--json"])
    assert result.exit_code == ExitCode.BUSY == 75, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "WorkspaceBusyError" and "saturday-2022-12-31-held" in error["message"]
    assert "another `run`, `resume` or `redrive` holds the workspace" in DOCS


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: signal.Signals(s).name)
def test_stopped_by_signal_n_is_128_plus_n(tmp_path: Path, signum: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALPHA_ENGINE_")}
    suicide = f"import os; os.kill(os.getpid(), {int(signum)})"
    done = subprocess.run(
        [sys.executable, "-m", "alpha_engine", "logcapture", "run", "--slug", "sig", "--workspace",
         str(tmp_path / "ws"), "--", sys.executable, "-c", suicide],
        env=env, cwd=tmp_path, capture_output=True, timeout=300)
    assert done.returncode == signal_exit_code(signum) == 128 + signum, done.stderr
