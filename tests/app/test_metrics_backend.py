"""pipeline.metrics_uri chooses the metrics back-end the composition root opens: the workspace's
metrics.db by default, CloudWatch (moto in-process, never the network) for cloudwatch://REGION."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from alpha_engine.app import SATURDAY
from alpha_engine.config import Settings
from alpha_engine.pipeline import METRICS
from alpha_engine.store import CloudWatchMetrics, ReadOnlyStoreError, SqliteMetrics


def _settings(tmp_path: Path, uri: str) -> Settings:
    return Settings(workspace=tmp_path, pipeline={"metrics_uri": uri})  # type: ignore[arg-type]


def test_the_default_is_the_workspace_file(tmp_path: Path) -> None:
    store = SATURDAY.open_resources(_settings(tmp_path, ""), read_only=False).get(METRICS)
    assert isinstance(store, SqliteMetrics)
    assert store.path == tmp_path / "metrics.db"


@pytest.mark.parametrize("uri", ["cloudwatch://", "cloudwatch://US-EAST-1", "sqlite:///x.db", "s3://b/metrics"])
def test_an_unknown_metrics_uri_is_refused_when_the_settings_load(tmp_path: Path, uri: str) -> None:
    with pytest.raises(ValidationError, match="metrics_uri"):
        _settings(tmp_path, uri)


def test_cloudwatch_region_is_opened_with_boto3_and_honours_read_only(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    moto = pytest.importorskip("moto")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    settings = _settings(tmp_path, "cloudwatch://eu-west-2")
    with moto.mock_aws():
        store = SATURDAY.open_resources(settings, read_only=False).get(METRICS)
        assert isinstance(store, CloudWatchMetrics)
        assert store.uri == "cloudwatch://eu-west-2"
        now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        store.emit("AlphaEngine", "Heartbeat", 1, {"Process": "evaluator"}, now, unit="Count")
        assert store.calls == 1
        assert store.metrics(namespace="AlphaEngine") == [("AlphaEngine", "Heartbeat", (("Process", "evaluator"),))]
        with pytest.raises(ReadOnlyStoreError):
            SATURDAY.open_resources(settings, read_only=True).get(METRICS).emit(
                "AlphaEngine", "Heartbeat", 1, None, now)
    assert not (tmp_path / "metrics.db").exists()
