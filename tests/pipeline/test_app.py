"""PipelineApp: the settings it validates when they load, the resources it wires, load_app."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipeline_test_graph import APP, GRAPH
from typer.testing import CliRunner

from alpha_engine.app import RESOURCES
from alpha_engine.cli import app as cli_app
from alpha_engine.config import ConfigError, Settings, load_settings
from alpha_engine.pipeline import (
    ARTIFACTS,
    MARKET,
    PipelineApp,
    StageDefinitionError,
    load_app,
)


def _settings(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "config.toml"
    config.write_text(f'[pipeline]\napp = "pipeline_test_graph:APP"\n{text}', encoding="utf-8")
    return load_settings(config, workspace=tmp_path / "ws", env={})


@pytest.mark.parametrize(("text", "message"), [
    ("[stages.nope]\nx = 1\n", "stages.nope: no stage 'nope' in the Saturday pipeline; stages: alpha, beta, delta, gamma, omega"),
    ("[stages.alpha]\nx = 1\n", "stages.alpha.x: Extra inputs are not permitted"),
])
def test_an_unknown_stage_section_or_option_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    settings = _settings(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        APP.check_settings(settings)
    assert message in str(info.value) and str(tmp_path / "config.toml") in str(info.value)


def test_the_cli_refuses_a_bad_stage_section_with_exit_64(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    settings = _settings(tmp_path, "[stages.nope]\n")
    monkeypatch.setenv("ALPHA_ENGINE_CONFIG", str(settings.source))
    for command in (["stages"], ["stage", "run", "alpha", "--run-date", "2026-11-21"], ["run", "--shell"]):
        result = CliRunner().invoke(cli_app, [*command, "--workspace", str(tmp_path / "ws")])
        assert result.exit_code == 64 and "stages.nope: no stage 'nope'" in result.output, command


def test_the_app_checks_of_its_domains_run_when_the_settings_are_checked(tmp_path: Path) -> None:
    def refuse(settings: Settings) -> None:
        raise ConfigError("settings: data.provider: refused")

    checked = PipelineApp(graph=GRAPH, resources=RESOURCES, settings_checks=(refuse,))
    with pytest.raises(ConfigError, match="data.provider: refused"):
        checked.check_settings(_settings(tmp_path, ""))


def test_an_app_must_wire_the_artifact_store_and_every_required_resource() -> None:
    with pytest.raises(StageDefinitionError, match="must wire the artifact store"):
        PipelineApp(graph=GRAPH, resources={MARKET: RESOURCES[MARKET]})
    from alpha_engine.app import SATURDAY_GRAPH

    with pytest.raises(StageDefinitionError, match="MorningEnrich requires market, which the app does not wire"):
        PipelineApp(graph=SATURDAY_GRAPH, resources={ARTIFACTS: RESOURCES[ARTIFACTS]})


def test_a_stage_reaches_only_the_resources_it_requires(tmp_path: Path) -> None:
    resources = APP.open_resources(_settings(tmp_path, ""), read_only=True, stage=GRAPH.stage("alpha"))
    assert resources.get(ARTIFACTS).read_only
    with pytest.raises(StageDefinitionError, match="Alpha uses resource 'market' but does not list it in 'requires'"):
        resources.get(MARKET)


@pytest.mark.parametrize(("spec", "message"), [
    ("no_such_module:APP", "cannot import pipeline app module 'no_such_module'"),
    ("pipeline_test_graph:GRAPH", r"is not a PipelineApp \(got StageGraph\)"),
])
def test_load_app_names_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(StageDefinitionError, match=message):
        load_app(spec)


def test_the_runner_probes_every_required_resource_before_the_preflight(tmp_path: Path) -> None:
    from datetime import date

    from alpha_engine.app import SATURDAY
    from alpha_engine.pipeline import run_stage

    junk = tmp_path / "not-a-store"
    junk.mkdir()
    (junk / "notes.txt").write_text("x")
    settings = load_settings(workspace=tmp_path / "ws", env={}, data={"market_store_uri": f"lmdb://{junk}"})
    report = run_stage("scanner", date(2022, 12, 31), settings=settings, app=SATURDAY, preflight_only=True)
    assert report.status == "preflight_failed"
    assert "holds files but no ArcticDB store" in (report.error or "") and str(junk) in (report.error or "")
