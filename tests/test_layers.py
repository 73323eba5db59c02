"""The import graph follows the layer table in docs/architecture.md (read from the doc itself).

Every ``import``/``from ... import`` in ``src/alpha_engine`` (relative imports resolved, imports
under ``TYPE_CHECKING`` included) is an edge from one top-level package to another. An edge
fails when the table does not allow it, when it reaches into another package's private module,
or when a domain imports from another domain anything but an ``Artifact`` constant.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from alpha_engine.store import Artifact

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "alpha_engine"
DOC = ROOT / "docs" / "architecture.md"


@dataclass(frozen=True)
class Layer:
    name: str
    packages: frozenset[str]
    allowed: frozenset[str]
    domain: bool  # may import another domain's artifact constants


def layer_table(text: str) -> list[Layer]:
    """The rows between the layers:begin/end markers of docs/architecture.md."""
    block = text.split("<!-- layers:begin", 1)[1].split("<!-- layers:end", 1)[0]
    layers = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        packages = frozenset(re.findall(r"`([a-z_]+)`", cells[1]))
        allowed = frozenset(re.findall(r"`([a-z_]+)`", cells[2]))
        layers.append(Layer(cells[0], packages, allowed, "another domain's artifact constants" in cells[2]))
    return layers


LAYERS = layer_table(DOC.read_text(encoding="utf-8"))
LAYER_OF = {package: layer for layer in LAYERS for package in layer.packages}


@dataclass(frozen=True)
class Edge:
    source: str  # file, relative to src/alpha_engine
    line: int
    target: str  # the imported module, absolute
    names: tuple[str, ...]  # for 'from X import a, b'

    def __str__(self) -> str:
        imported = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.source}:{self.line} imports {self.target}{imported}"


def _module_name(path: Path) -> str:
    parts = ["alpha_engine", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def edges(where: str, module: str, is_package: bool, text: str) -> list[Edge]:
    package = module if is_package else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [Edge(where, node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(Edge(where, node.lineno, target, tuple(alias.name for alias in node.names)))
    return [edge for edge in found if edge.target.startswith("alpha_engine.")]


def _top(module: str) -> str:
    return module.split(".")[1]


def _public_surface(module: str) -> bool:
    """``alpha_engine.x`` or a public subpackage of it (no segment after the package is private)."""
    return not any(part.startswith("_") for part in module.split(".")[2:])


def violations(where: str, module: str, is_package: bool, text: str) -> list[str]:
    """Layer violations of the module ``module`` whose source is ``text``."""
    if module.count(".") == 0 or (module.count(".") == 1 and not is_package):
        return []  # alpha_engine/__init__.py, __main__.py: the root may import the CLI
    source = _top(module)
    layer = LAYER_OF.get(source)
    if layer is None:
        return [f"{where}: package {source!r} is not in the layer table of {DOC.name}"]
    found = []
    for edge in edges(where, module, is_package, text):
        target = _top(edge.target)
        if target == source:
            continue
        if not _public_surface(edge.target):
            found.append(f"{edge}: reaches into a private module of {target!r}")
        elif target not in layer.allowed:
            target_layer = LAYER_OF.get(target)
            if layer.domain and target_layer is not None and target_layer.domain:
                module = importlib.import_module(edge.target)
                not_artifacts = [n for n in edge.names if not isinstance(getattr(module, n, None), Artifact)]
                if not_artifacts or not edge.names:
                    found.append(f"{edge}: a domain may import another domain's Artifact constants only, "
                                 f"not {', '.join(not_artifacts) or 'the module'}")
            else:
                found.append(f"{edge}: {layer.name} ({source}) may not import {target}")
    return found


SOURCES = sorted(p for p in SOURCE.rglob("*.py*") if p.suffix in (".py", ".pyi"))


def test_the_table_names_every_package_once() -> None:
    packages = sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert sorted(LAYER_OF) == packages
    assert sum(len(layer.packages) for layer in LAYERS) == len(LAYER_OF)


def test_the_framework_knows_no_domain_and_the_runtime_nothing_outside_itself() -> None:
    domains = {p for layer in LAYERS if layer.domain for p in layer.packages}
    assert not LAYER_OF["pipeline"].allowed & domains
    assert not LAYER_OF["sfn"].allowed and not LAYER_OF["store"].allowed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_imports_follow_the_layer_table(path: Path) -> None:
    where = str(path.relative_to(SOURCE))
    is_package = path.stem == "__init__"
    assert violations(where, _module_name(path), is_package, path.read_text(encoding="utf-8")) == []


# -- the check itself fails on planted flaws ------------------------------------------------------

def _planted(package: str, text: str) -> list[str]:
    """Violations of a module with source ``text`` as if it sat in ``package``."""
    return violations(f"{package}/_planted.py", f"alpha_engine.{package}._planted", False, text)


@pytest.mark.parametrize(("package", "text", "message"), [
    ("pipeline", "from alpha_engine.data import DataPhase1\n", "framework (pipeline) may not import data"),
    ("sfn", "from alpha_engine.config import Settings\n", "runtime (sfn) may not import config"),
    ("store", "from alpha_engine.pipeline import Stage\n", "stores (store) may not import pipeline"),
    ("cli", "from alpha_engine.pipeline._runner import run_stage\n", "private module of 'pipeline'"),
    ("predictor", "from alpha_engine.data import latest_cross_section\n", "Artifact constants only"),
    ("predictor", "import alpha_engine.data\n", "Artifact constants only"),
    ("data", "from ..predictor import ModelRegistry\n", "Artifact constants only"),
    ("health", "from alpha_engine.app import SATURDAY\n", "domains (health) may not import app"),
])
def test_a_forbidden_edge_is_reported(package: str, text: str, message: str) -> None:
    found = _planted(package, text)
    assert len(found) == 1 and message in found[0], found


def test_a_domain_may_import_another_domains_artifact() -> None:
    assert _planted("predictor", "from alpha_engine.data import WEEKLY_MANIFEST\n") == []
