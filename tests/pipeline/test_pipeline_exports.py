"""The public surface of alpha_engine.pipeline and alpha_engine.config is pinned."""

from __future__ import annotations

import alpha_engine.config as config
import alpha_engine.pipeline as pipeline


def _public(module: object) -> list[str]:
    return sorted(n for n in vars(module) if not n.startswith("_") and not isinstance(getattr(module, n), type(config)))


def test_pipeline_all_lists_exactly_its_public_names() -> None:
    assert sorted(pipeline.__all__) == [n for n in _public(pipeline) if n not in ("annotations", "compose")]


def test_config_all_lists_exactly_its_public_names() -> None:
    assert sorted(config.__all__) == [n for n in _public(config) if n != "annotations"]
