"""Fixtures of the deploy tests: AWS clients on the tests' moto server, a stack name no other test
uses, and the environment and options the CLI needs to reach the server."""

from __future__ import annotations

import uuid

import pytest

import moto_server
from alpha_engine.deploy import AwsClients


@pytest.fixture
def clients() -> AwsClients:
    return AwsClients(cloudformation=moto_server.client("cloudformation"), s3=moto_server.client("s3"),
                      region=moto_server.REGION)


@pytest.fixture
def stack_name() -> str:
    return f"ae-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def aws_cli(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fake credentials in the environment; returns the CLI options that reach the moto server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_server.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_server.SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return ["--region", moto_server.REGION, "--endpoint-url", moto_server.endpoint(), "--poll-interval", "0"]
