"""The settings reach the S3-backed stores through the composition root: artifacts_uri with
artifacts_storage_options (the moto server, never the network), and an S3 market_store_uri probed
without a connection."""

from __future__ import annotations

from pathlib import Path

import pytest

import moto_server
from alpha_engine.app import SATURDAY
from alpha_engine.app._resources import probe_market
from alpha_engine.config import ConfigError, Settings, load_settings
from alpha_engine.pipeline import ARTIFACTS
from alpha_engine.store import ArtifactStore, MarketStoreError, StoreError


def test_the_artifact_store_opens_on_s3_with_the_storage_options(tmp_path: Path) -> None:
    bucket = moto_server.fresh_bucket("app")
    settings = Settings(workspace=tmp_path, artifacts_uri=f"s3://{bucket}/alpha-engine",
                        artifacts_storage_options=moto_server.s3fs_options())
    store = SATURDAY.open_resources(settings, read_only=False).get(ARTIFACTS)
    assert isinstance(store, ArtifactStore) and store.storage_options == moto_server.s3fs_options()
    store.write_json("notes/x.json", {"v": 1})
    listed = moto_server.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == ["alpha-engine/notes/x.json"]


def test_a_missing_bucket_is_named_through_the_composition_root(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path, artifacts_uri="s3://no-such-bucket-alpha-engine/x",
                        artifacts_storage_options=moto_server.s3fs_options())
    store = SATURDAY.open_resources(settings, read_only=True).get(ARTIFACTS)
    with pytest.raises(StoreError, match="bucket 'no-such-bucket-alpha-engine' does not exist"):
        store.list()


def test_storage_options_load_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('artifacts_uri = "s3://my-bucket/alpha-engine"\n'
                      '[artifacts_storage_options]\nclient_kwargs = { endpoint_url = "http://127.0.0.1:9000" }\n')
    settings = load_settings(config, env={})
    assert settings.artifacts_uri == "s3://my-bucket/alpha-engine"
    assert settings.artifacts_storage_options == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert load_settings(workspace=tmp_path / "w", env={}).artifacts_storage_options == {}
    config.write_text('artifacts_storage_options = "key=x"\n')
    with pytest.raises(ConfigError, match="artifacts_storage_options"):
        load_settings(config, env={})


def test_an_s3_market_store_uri_is_probed_without_a_connection(tmp_path: Path) -> None:
    good = Settings(workspace=tmp_path, data={  # type: ignore[arg-type]
        "market_store_uri": "s3s://s3.us-east-1.amazonaws.com:my-bucket?path_prefix=arcticdb&aws_auth=true"})
    probe_market(good)
    bad = Settings(workspace=tmp_path, data={"market_store_uri": "s3://my-bucket/arcticdb"})  # type: ignore[arg-type]
    with pytest.raises(MarketStoreError, match="not an ArcticDB S3 URI"):
        probe_market(bad)
