"""The pipeline commands (run, status, logs, graph, stages, definition, redrive) via CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.config import Settings
from conftest import set_fault, write_config

runner = CliRunner()
DAY = "2026-11-21"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.output


def test_stages_lists_every_stage_with_its_declaration(test_settings: Settings) -> None:
    code, out, _ = invoke("stages", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["Alpha", "Beta", "Gamma", "Delta", "Omega"]
    assert rows[1] == {"name": "Beta", "slug": "beta", "failure_class": "soft", "compute": "batch",
                       "timeout_seconds": 120, "requires": [], "consumes": [], "produces": ["test/{date}/beta.json"],
                       "description": "", "options": {}}
    code, out, _ = invoke("stages")
    assert "Gamma (gamma): hard, batch, timeout 8s" in out


def test_definition_prints_the_composed_asl(test_settings: Settings) -> None:
    code, out, _ = invoke("definition")
    assert code == 0
    definition = json.loads(out)
    assert definition["StartAt"] == "InitializeInput" and "WorkParallel" in definition["States"]


def test_run_then_status_logs_and_graph_describe_the_execution(test_settings: Settings) -> None:
    code, out, output = invoke("run", "--run-date", DAY, "--skip", "beta,omega", "--json")
    assert code == 0, output
    report = json.loads(out)
    name = report["execution"]["name"]
    assert name.startswith(f"saturday-{DAY}-") and report["run_date"] == DAY
    statuses = {s["slug"]: s["status"] for s in report["stages"]}
    assert statuses == {"alpha": "SUCCEEDED", "beta": "SKIPPED", "gamma": "SUCCEEDED", "delta": "SUCCEEDED",
                        "omega": "SKIPPED"}
    assert report["notification"]["subject"] == "Alpha Engine Saturday Pipeline — SUCCESS"

    code, _, output = invoke("status")
    assert code == 0 and name in output and "skipped" in output
    code, out, _ = invoke("status", name, "--json")
    assert json.loads(out)["execution"]["status"] == "SUCCEEDED"

    code, out, _ = invoke("logs", name)
    assert code == 0 and f"Alpha: _logs/alpha/{DAY}/{name}/0.0-" in out and "Beta: (no log)" in out
    code, out, _ = invoke("logs", name, "Alpha")
    assert code == 0 and "alpha: running" in out
    code, _, output = invoke("logs", name, "Nope")
    assert code == 64 and "no stage 'Nope'" in output

    code, out, _ = invoke("graph", "--execution", name)
    assert code == 0 and "Alpha" in out and "WorkParallel" in out

    code, _, output = invoke("redrive", name)
    assert code == 1 and "nothing to redrive" in output


def test_failed_run_exits_1_and_redrive_completes_it(test_settings: Settings) -> None:
    set_fault(test_settings, "omega", "raise")  # soft: the run still succeeds
    set_fault(test_settings, "alpha", "raise")
    code, out, _ = invoke("run", "--run-date", DAY, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["execution"]["status"] == "FAILED"
    assert report["notification"]["subject"] == "Alpha Engine Saturday Pipeline — FAILED"
    set_fault(test_settings, "alpha", None)
    code, out, output = invoke("redrive", report["execution"]["name"], "--json")
    assert code == 0, output
    statuses = {s["slug"]: s["status"] for s in json.loads(out)["stages"]}
    assert statuses["alpha"] == "SUCCEEDED" and statuses["omega"] == "SOFT_FAILED"


def test_the_live_view_shows_a_failed_batch_stage_s_own_error(test_settings: Settings) -> None:
    set_fault(test_settings, "beta", "preflight")  # Beta: soft, batch
    code, _, output = invoke("run", "--run-date", DAY, "--skip", "gamma,delta,omega")
    assert code == 0, output
    assert "  !!    States.TaskFailed: PreflightError: beta: injected preflight failure (job FAILED, exit code 2)" in output
    assert '"JobArn"' not in output


def test_usage_errors_exit_64(test_settings: Settings) -> None:
    code, _, output = invoke("run", "--skip", "nope", "--json")
    assert code == 64 and "no stage 'nope'" in output
    code, _, output = invoke("run", "--run-date", "tomorrow")
    assert code == 64 and "--run-date must be YYYY-MM-DD" in output


def test_a_weekday_run_date_runs_with_a_warning_on_stderr_and_in_the_json_report(test_settings: Settings) -> None:
    write_config(test_settings.workspace, "pipeline_test_graph:POLICED_APP")
    result = runner.invoke(app, ["run", "--run-date", "2026-11-20", "--skip", "beta,omega", "--json"])
    assert result.exit_code == 0, result.output
    warning = ("run_date 2026-11-20 is a Friday, not a Saturday: the weekly pipeline runs on Saturdays; "
               "stages read the sessions closed by 2026-11-20 (pass a Saturday to silence this)")
    assert json.loads(result.stdout)["input_warnings"] == [warning]
    assert result.stderr.splitlines()[0] == f"warning: {warning}"


def test_a_run_date_the_policy_refuses_starts_no_execution(test_settings: Settings) -> None:
    write_config(test_settings.workspace, "pipeline_test_graph:POLICED_APP")
    code, out, output = invoke("run", "--run-date", "2099-01-03", "--json")
    assert code == 64 and json.loads(out)["error"]["type"] == "RunDateError"
    assert not (test_settings.workspace / "sfn").exists() and not (test_settings.workspace / "artifacts").exists()


def test_status_without_runs_says_so(test_settings: Settings) -> None:
    code, _, output = invoke("status")
    assert code == 1 and "no Saturday pipeline execution" in output


def test_the_live_view_shows_only_this_execution_s_lines(test_settings: Settings) -> None:
    code, _, first = invoke("run", "--run-date", DAY)
    assert code == 0, first
    assert "| alpha: running" in first  # the live view tails the stage's log
    # A shell run right after: its live view must not replay the real run's lines (it runs no stage).
    code, _, shell = invoke("run", "--run-date", DAY, "--shell")
    assert code == 0, shell
    assert "| alpha: preflight for" in shell
    assert "running" not in shell.replace("(shell run)", ""), shell


def test_logs_of_a_stage_are_that_execution_s_even_for_the_same_run_date(test_settings: Settings) -> None:
    names = []
    for extra in ([], ["--shell"]):
        code, out, output = invoke("run", "--run-date", DAY, "--skip", "beta,omega", "--json", *extra)
        assert code == 0, output
        names.append(json.loads(out)["execution"]["name"])
    real, shell = names
    code, out, _ = invoke("logs", real, "alpha")
    assert code == 0 and "alpha: running" in out and "preflight-only" not in out
    code, out, _ = invoke("logs", shell, "alpha")
    assert code == 0 and "alpha: running" not in out and "alpha: preflight for" in out
    code, out, _ = invoke("logs", shell)
    assert f"Alpha: _logs/alpha/{DAY}/{shell}/0.0-" in out and real not in out


def test_a_run_stopped_by_the_role_mutex_does_not_send_the_operator_to_redrive(test_settings: Settings) -> None:
    code, _, output = invoke("run", "--run-date", DAY, "--role", "weekly", "--skip", "alpha,beta,gamma,delta,omega")
    assert code == 0, output
    code, _, output = invoke("run", "--run-date", DAY, "--role", "weekly", "--skip", "alpha,beta,gamma,delta,omega")
    if "MutexConflict" not in output:  # the two starts fell in different minutes: no conflict to check
        pytest.skip("the two starts fell in different minutes")
    assert code == 1
    assert "another run of this state machine and role started in the same minute, so this one ran no stage" in output
    assert "alpha-engine redrive" not in output
