"""Settings resolution: workspace and config file precedence, validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alpha_engine.config import ConfigError, load_settings


def test_defaults_run_offline_in_dot_alpha_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.workspace == tmp_path / ".alpha-engine"
    assert settings.artifacts_uri == str(tmp_path / ".alpha-engine" / "artifacts")
    assert settings.source is None
    assert settings.pipeline.app == "alpha_engine.app:SATURDAY"


def test_home_env_wins_over_the_file_workspace(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("workspace: from-file\nseed: 3\n")
    settings = load_settings(config, env={"ALPHA_ENGINE_HOME": str(tmp_path / "home")})
    assert settings.workspace == tmp_path / "home" and settings.seed == 3
    settings = load_settings(config, env={})
    assert settings.workspace == tmp_path / "from-file"


def test_config_in_the_workspace_is_found(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('artifacts_uri = "s3://bucket/prefix"\n[stages.scanner]\nmin_price = 5\n')
    settings = load_settings(env={"ALPHA_ENGINE_HOME": str(tmp_path)})
    assert settings.artifacts_uri == "s3://bucket/prefix"
    assert settings.stage_options("scanner") == {"min_price": 5}
    assert settings.child_environment() == {"ALPHA_ENGINE_HOME": str(tmp_path),
                                            "ALPHA_ENGINE_CONFIG": str(tmp_path / "config.toml")}


@pytest.mark.parametrize(("text", "message"), [
    ("seed = 'x'\n", "seed"),
    ("unknown = 1\n", "unknown: Extra inputs are not permitted"),
    ("[pipeline]\nterminate_grace_seconds = -1\n", "pipeline.terminate_grace_seconds"),
    ("seed = \n", "not valid TOML"),
])
def test_invalid_config_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(config, env={})
    assert str(config) in str(info.value)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", env={})
