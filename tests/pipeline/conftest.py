"""Fixtures for pipeline tests: a workspace wired to the test-only stage graph."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpha_engine.config import Settings, load_settings

HERE = Path(__file__).resolve().parent


def write_config(workspace: Path, app: str = "pipeline_test_graph:APP") -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / "config.toml"
    path.write_text(f'[pipeline]\napp = "{app}"\nterminate_grace_seconds = 5\n', encoding="utf-8")
    return path


@pytest.fixture
def test_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings for a fresh workspace whose app is tests/pipeline/pipeline_test_graph.py."""
    workspace = tmp_path / "ws"
    write_config(workspace)
    # Stage processes import the test graph too: put this directory on their path.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("ALPHA_ENGINE_HOME", str(workspace))
    monkeypatch.delenv("ALPHA_ENGINE_CONFIG", raising=False)
    monkeypatch.delenv("ALPHA_ENGINE_PREFLIGHT_ONLY", raising=False)
    yield load_settings(workspace=workspace)


def set_fault(settings: Settings, slug: str, kind: str | None) -> None:
    path = settings.workspace / "test-faults" / slug
    if kind is None:
        path.unlink(missing_ok=True)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kind)


def counters(settings: Settings) -> dict[str, int]:
    folder = settings.workspace / "test-counters"
    return {p.name: int(p.read_text()) for p in sorted(folder.glob("*"))} if folder.exists() else {}


def runs(settings: Settings) -> dict[str, int]:
    return {k.removesuffix(".run"): v for k, v in counters(settings).items() if k.endswith(".run")}
