"""A deployed stage's settings: the config file from an s3:// URL (fetched into the workspace),
against the local S3 endpoint (tests/moto_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import moto_server
from alpha_engine.config import ConfigError, load_settings


@pytest.fixture()
def s3_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", moto_server.REGION)
    return moto_server.fresh_bucket("config")


def test_a_config_file_at_an_s3_url_is_fetched_into_the_workspace_and_read(s3_env: str, tmp_path: Path) -> None:
    moto_server.client("s3").put_object(Bucket=s3_env, Key="config/config.toml",
                                        Body=b'seed = 7\n[stages.scanner]\nmax_candidates = 12\n')
    url = f"s3://{s3_env}/config/config.toml"
    settings = load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_CONFIG": url})
    assert settings.seed == 7 and settings.stages == {"scanner": {"max_candidates": 12}}
    assert settings.source == (tmp_path / "config-from-s3.toml").resolve()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    # a stage process started from these settings reads the same local copy
    assert settings.child_environment()["ALPHA_ENGINE_CONFIG"] == str(settings.source)


def test_a_missing_config_object_names_the_url_and_what_to_do(s3_env: str, tmp_path: Path) -> None:
    url = f"s3://{s3_env}/config/absent.toml"
    with pytest.raises(ConfigError, match=r"config file not found: s3://.*absent.toml \(upload it"):
        load_settings(workspace=tmp_path, env={"ALPHA_ENGINE_CONFIG": url})
