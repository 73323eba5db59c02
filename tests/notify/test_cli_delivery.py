"""Delivery at the end of ``alpha-engine run`` / ``redrive``, and ``alpha-engine notify deliver``.

The runs use the test-only stage graph of tests/pipeline (real stage processes); the channels are
real local webhooks. A failing channel is reported and never changes the run's exit code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from notify_servers import webhook_server
from typer.testing import CliRunner

from alpha_engine.cli import app

PIPELINE_TESTS = Path(__file__).resolve().parents[1] / "pipeline"
DAY = "2026-11-21"
SECRET = "xoxb-9f3a-never-shown"
runner = CliRunner()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "ws"
    home.mkdir()
    monkeypatch.syspath_prepend(str(PIPELINE_TESTS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PIPELINE_TESTS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(home))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    monkeypatch.delenv("ALPHA_ENGINE_PREFLIGHT_ONLY", raising=False)
    yield home


def configure(home: Path, good_url: str, bad_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOD_HOOK", good_url + "/" + SECRET)
    monkeypatch.setenv("BAD_HOOK", bad_url + "/" + SECRET)
    (home / "config.toml").write_text(
        '[pipeline]\napp = "pipeline_test_graph:APP"\nterminate_grace_seconds = 5\n\n'
        '[[notify.channels]]\nkind = "webhook"\nname = "good"\nurl_env = "GOOD_HOOK"\nstatus_notices = true\n\n'
        '[[notify.channels]]\nkind = "webhook"\nname = "bad"\nurl_env = "BAD_HOOK"\n', encoding="utf-8")


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_run_and_redrive_deliver_each_notice_once_and_a_failing_channel_never_fails_the_run(
        workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = []
    with webhook_server() as good, webhook_server() as bad:
        bad.status = 500
        configure(workspace, good.url, bad.url, monkeypatch)
        fault = workspace / "test-faults" / "alpha"
        fault.parent.mkdir(parents=True)
        fault.write_text("raise")
        code, out = invoke("run", "--run-date", DAY, "--json")
        outputs.append(out)
        assert code == 1
        report = json.loads(out)
        assert report["delivery"]["failed"] >= 1 and report["delivery"]["sent"] >= 1
        assert [item["channel"] for item in report["undelivered"]] == ["bad"] * report["delivery"]["failed"]
        assert any(body["text"].startswith("Alpha Engine Saturday Pipeline — FAILED") for body in good.bodies)
        # the status notice goes to the channel that asked for it, last, naming error: cause
        assert good.bodies[-1]["text"].startswith("Alpha Engine Saturday Pipeline — FAILED\nSaturday pipeline execution")
        assert "error: PipelineFailure" in good.bodies[-1]["text"]
        assert not any("pipeline execution" in body["text"] for body in bad.bodies)
        failed_notices = len(good.bodies) - 1

        fault.unlink()
        code, out = invoke("redrive", report["execution"]["name"])  # the text summary
        outputs.append(out)
        assert code == 0, out
        assert "delivered to channels:" in out and "undelivered:" in out and "HTTP 500" in out
        # only the new success notice and status notice went to the good channel: nothing was sent twice
        assert len(good.bodies) == failed_notices + 3
        assert good.bodies[-2]["text"].startswith("Alpha Engine Saturday Pipeline — SUCCESS")
        assert good.bodies[-1]["text"].startswith("Alpha Engine Saturday Pipeline — succeeded")
        assert "duration: " in good.bodies[-1]["text"]

        code, out = invoke("notify", "deliver", "--json")
        outputs.append(out)
        assert code == 1 and json.loads(out)["sent"] == 0
        bad.status = 200
        code, out = invoke("notify", "deliver")
        outputs.append(out)
        assert code == 0, out
        assert len(bad.bodies) >= 2 * (failed_notices + 1)  # retried until it took them
        outbox_texts = [b["text"] for b in good.bodies if "pipeline execution" not in b["text"]]
        assert [body["text"] for body in bad.bodies[-(failed_notices + 1):]] == outbox_texts
        code, out = invoke("notify", "deliver", "--json")
        assert code == 0 and json.loads(out)["deliveries"] == []
    for text in outputs:
        assert SECRET not in text
    for path in workspace.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the webhook secret leaked into {path}"
