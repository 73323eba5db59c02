"""``alpha-engine stage run``: exit codes, health markers, read-only preflight-only runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alpha_engine.cli import app
from alpha_engine.config import Settings
from alpha_engine.store import ArtifactStore
from conftest import counters, set_fault

runner = CliRunner()
DAY = "2026-11-21"


def stage_run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["stage", "run", *args])
    return result.exit_code, result.output


def test_ok_run_writes_a_health_marker_and_its_output(test_settings: Settings) -> None:
    code, output = stage_run("alpha", "--run-date", DAY)
    assert code == 0, output
    store = ArtifactStore(test_settings.artifacts_uri)
    marker = store.read_json("health/alpha.json")
    assert marker["module"] == "alpha" and marker["status"] == "ok" and marker["run_date"] == DAY
    assert marker["summary"] == {"wrote": 1} and marker["warnings"] == [] and marker["error"] is None
    assert marker["last_success"].endswith("Z") and marker["duration_seconds"] >= 0
    assert store.exists(f"test/{DAY}/alpha.json")


def test_run_failure_exits_1_and_keeps_the_last_success(test_settings: Settings) -> None:
    assert stage_run("alpha", "--run-date", DAY)[0] == 0
    store = ArtifactStore(test_settings.artifacts_uri)
    last_success = store.read_json("health/alpha.json")["last_success"]
    set_fault(test_settings, "alpha", "raise")
    code, output = stage_run("alpha", "--run-date", DAY)
    assert code == 1
    marker = store.read_json("health/alpha.json")
    assert marker["status"] == "failed" and marker["last_success"] == last_success
    assert marker["error"] == "RuntimeError: alpha: injected failure"


def test_preflight_failure_exits_2_and_does_not_run(test_settings: Settings) -> None:
    set_fault(test_settings, "alpha", "preflight")
    code, _ = stage_run("alpha", "--run-date", DAY)
    assert code == 2
    assert "alpha.run" not in counters(test_settings)
    assert ArtifactStore(test_settings.artifacts_uri).read_json("health/alpha.json")["status"] == "failed"


def test_preflight_only_runs_the_preflight_and_writes_nothing(test_settings: Settings) -> None:
    code, _ = stage_run("alpha", "--run-date", DAY, "--preflight-only")
    assert code == 0
    assert counters(test_settings) == {"alpha.preflight": 1}
    assert ArtifactStore(test_settings.artifacts_uri).list() == []


def test_preflight_only_comes_from_the_environment_as_batch_passes_it(
        test_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHA_ENGINE_PREFLIGHT_ONLY", "true")
    assert stage_run("alpha", "--run-date", DAY)[0] == 0
    assert "alpha.run" not in counters(test_settings)
    monkeypatch.setenv("ALPHA_ENGINE_PREFLIGHT_ONLY", "false")
    assert stage_run("alpha", "--run-date", DAY)[0] == 0
    assert counters(test_settings)["alpha.run"] == 1


def test_a_write_under_preflight_only_is_refused(test_settings: Settings) -> None:
    from pipeline_test_graph import APP

    from alpha_engine.pipeline import ARTIFACTS
    from alpha_engine.store import ReadOnlyStoreError

    resources = APP.open_resources(test_settings, read_only=True)
    with pytest.raises(ReadOnlyStoreError):
        resources.get(ARTIFACTS).write_json("health/x.json", {})


@pytest.mark.parametrize(("args", "message"), [
    (["nope", "--run-date", DAY], "no stage 'nope'"),
    (["alpha", "--run-date", "21/11/2026"], "--run-date must be YYYY-MM-DD"),
    (["alpha", "--run-date", DAY, "--execution-input", "{nope"], "--execution-input is not JSON"),
    (["alpha", "--run-date", DAY, "--execution-input", "[1]"], "--execution-input must be a JSON object"),
])
def test_usage_errors_exit_64_with_a_clear_message(test_settings: Settings, args: list[str], message: str) -> None:
    code, output = stage_run(*args)
    assert code == 64 and message in output


def test_a_bad_config_file_exits_64_naming_the_file_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[pipeline]\napp = "no-colon"\n')
    monkeypatch.setenv("ALPHA_ENGINE_CONFIG", str(config))
    code, output = stage_run("alpha", "--run-date", DAY)
    assert code == 64 and str(config) in output and "pipeline.app" in output


def test_the_stages_an_execution_skips_are_read_from_its_input() -> None:
    from pipeline_test_graph import GRAPH

    from alpha_engine.pipeline._lambda_handler import StageInvocationError, _parse
    from alpha_engine.pipeline._runner import skipped_stages

    given = {"skip_alpha": True, "skip_beta": False, "skip_gamma": "true", "skip_nope": True, "run_date": DAY}
    assert skipped_stages(GRAPH, given) == {"alpha"}  # as the skip gates test: a boolean true
    assert skipped_stages(GRAPH, None) == frozenset()
    event = {"stage": "omega", "run_date": DAY, "execution_input": given}
    assert _parse(event) == ("omega", DAY, False, "manual", "0.0", given)
    with pytest.raises(StageInvocationError, match="execution_input must be an object"):
        _parse({**event, "execution_input": "skip_alpha"})
