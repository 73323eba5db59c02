"""The stage image's own rules, checked on deploy/Dockerfile's text (no container builder needed).

hadolint (tests/deploy/test_image.py runs it when installed) checks general Dockerfile practice; these
rules check what this project needs of its one image, on Lambda and on Batch:

* ``base-pinned``: every base image carries an exact version tag (``3.11.14-slim-bookworm``, optionally
  with a digest), never ``latest``, no tag, or a bare major/minor such as ``3.11-slim``.
* ``non-root``: the final stage ends with a USER that is not root.
* ``no-entrypoint``: no stage sets an ENTRYPOINT: Batch replaces the command with
  ``alpha-engine logcapture run ... -- alpha-engine stage run SLUG`` and an ENTRYPOINT would prefix it.
* ``cmd-exec-form``: the default CMD is exec form (JSON) and runs ``alpha-engine``.
* ``awslambdaric``: a RUN installs ``awslambdaric==<exact version>`` (Lambda's runtime interface client).
* ``venv-only``: the final stage copies nothing but the venv a build stage created (``python -m venv``).
* ``apt-hygiene``: every ``apt-get install`` has ``--no-install-recommends`` and removes
  ``/var/lib/apt/lists`` in the same RUN.
* ``no-build-tools``: the final stage installs no compiler or build tool.
* ``pip-no-cache``: every ``pip install``/``pip wheel`` has ``--no-cache-dir``.
* ``runtime-env``: the final stage sets ``PYTHONDONTWRITEBYTECODE=1`` and an ``ALPHA_ENGINE_HOME`` under
  ``/tmp/`` (Lambda's only writable directory).

A small parser suffices: line continuations, comments, ``ARG`` defaults in ``FROM`` and stages.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

__all__ = ["RULES", "Instruction", "Stage", "check", "parse"]

RULES = ("base-pinned", "non-root", "no-entrypoint", "cmd-exec-form", "awslambdaric", "venv-only",
         "apt-hygiene", "no-build-tools", "pip-no-cache", "runtime-env")

_EXACT_TAG = re.compile(r"^\d+\.\d+\.\d+(?:[-.][A-Za-z0-9_.-]+)?$")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_BUILD_TOOLS = ("build-essential", "gcc", "g++", "clang", "make", "cmake", "autoconf", "automake", "libtool",
                "pkg-config")


@dataclass(frozen=True)
class Instruction:
    line: int  # 1-based line of the instruction's first line
    keyword: str  # upper case
    args: str  # continuation lines joined, comments dropped


@dataclass
class Stage:
    base: str  # the FROM image, global ARG defaults substituted
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)  # ARG defaults declared in the stage


def _instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue  # comment lines inside a continued instruction are dropped, as Docker does
        if not pending:
            start = number
        continued = stripped.endswith("\\")
        pending.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            joined = " ".join(part for part in pending if part)
            keyword, _, args = joined.partition(" ")
            out.append(Instruction(start, keyword.upper(), args.strip()))
            pending = []
    return out


def _substitute(value: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), value)


def _arg(args: str) -> tuple[str, str]:
    name, _, default = args.partition("=")
    return name.strip(), default.strip().strip('"')


def parse(text: str) -> list[Stage]:
    """The Dockerfile's stages, in order (ARGs before the first FROM fill ``${...}`` in FROM lines)."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in _instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(_substitute(words[0], global_args), name, instruction.line))
        elif not stages:
            if instruction.keyword == "ARG":
                name, default = _arg(instruction.args)
                global_args[name] = default
        else:
            stages[-1].instructions.append(instruction)
            if instruction.keyword == "ARG":
                name, default = _arg(instruction.args)
                stages[-1].args[name] = default
    return stages


def _env(instruction: Instruction) -> dict[str, str]:
    words = shlex.split(instruction.args)
    if words and "=" not in words[0]:  # the legacy form: ENV KEY value
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words if "=" in word)


def _image_problem(image: str, stage_names: set[str]) -> str | None:
    if image in stage_names:
        return None
    reference = image.split("@", 1)[0]
    repository, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
    if not tag:
        return f"{image!r} has no tag"
    if not _EXACT_TAG.match(tag):
        return f"{image!r}: tag {tag!r} is not an exact version (MAJOR.MINOR.PATCH[-variant])"
    return None


def check(text: str) -> list[str]:
    """Every rule the Dockerfile breaks, as ``rule: line N: what is wrong, and what to do``."""
    stages = parse(text)
    if not stages:
        return ["base-pinned: no FROM instruction"]
    findings: list[str] = []
    final = stages[-1]
    names: set[str] = set()
    for stage in stages:
        problem = _image_problem(stage.base, names)
        if problem:
            findings.append(f"base-pinned: line {stage.line}: {problem}; pin e.g. python:3.11.14-slim-bookworm")
        if stage.name:
            names.add(stage.name)

    users = [i for i in final.instructions if i.keyword == "USER"]
    if not users:
        findings.append(f"non-root: the final stage (line {final.line}) sets no USER; add a non-root USER")
    elif users[-1].args.split(":")[0] in ("root", "0"):
        findings.append(f"non-root: line {users[-1].line}: the final USER is root; switch to an unprivileged user")

    for stage in stages:
        for i in stage.instructions:
            if i.keyword == "ENTRYPOINT":
                findings.append(f"no-entrypoint: line {i.line}: ENTRYPOINT would prefix the Batch command "
                                "(alpha-engine logcapture run ...); use CMD, and set Lambda's in its ImageConfig")

    commands = [i for i in final.instructions if i.keyword == "CMD"]
    if not commands:
        findings.append("cmd-exec-form: the final stage has no CMD; add CMD [\"alpha-engine\", ...]")
    else:
        try:
            command = json.loads(commands[-1].args)
        except json.JSONDecodeError:
            command = None
        if not (isinstance(command, list) and command and command[0] == "alpha-engine"):
            findings.append(f"cmd-exec-form: line {commands[-1].line}: CMD must be exec form starting with "
                            f"\"alpha-engine\", got {commands[-1].args}")

    runs = [(stage, i) for stage in stages for i in stage.instructions if i.keyword == "RUN"]
    lambdaric = [_substitute(i.args, stage.args) for stage, i in runs if "awslambdaric" in i.args]
    if not any(re.search(r"awslambdaric==\d+(\.\d+)+\b", run) for run in lambdaric):
        findings.append("awslambdaric: no RUN installs awslambdaric==<exact version> (Lambda's runtime "
                        "interface client, the function's EntryPoint python -m awslambdaric)")

    venvs: dict[str | None, set[str]] = {}  # the venv directories each build stage creates
    for stage, i in runs:
        for m in re.finditer(r"-m venv\s+(?:--\S+\s+)*(\S+)", i.args):
            venvs.setdefault(stage.name, set()).add(m.group(1).rstrip("/"))
    for i in final.instructions:
        if i.keyword not in ("COPY", "ADD"):
            continue
        words = shlex.split(i.args)
        source_stage = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
        paths = [w for w in words if not w.startswith("--")]
        sources = [p.rstrip("/") for p in paths[:-1]]
        venv = venvs.get(source_stage, set()) if source_stage else set()
        if not sources or not venv or any(s not in venv for s in sources):
            findings.append(f"venv-only: line {i.line}: {i.keyword} {i.args} copies more than the venv "
                            f"into the final stage (only COPY --from=<build> <venv> is allowed)")

    for stage, i in runs:
        if re.search(r"apt-get\s+(?:-\S+\s+)*install", i.args):
            if "--no-install-recommends" not in i.args:
                findings.append(f"apt-hygiene: line {i.line}: apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in i.args:
                findings.append(f"apt-hygiene: line {i.line}: apt-get install without "
                                "rm -rf /var/lib/apt/lists/* in the same RUN")
            if stage is final:
                tools = [t for t in _BUILD_TOOLS if re.search(rf"(?<![\w.+-]){re.escape(t)}(?![\w.+-])", i.args)]
                tools += re.findall(r"\b\S+-dev\b", i.args)
                if tools:
                    findings.append(f"no-build-tools: line {i.line}: the final stage installs {', '.join(tools)}; "
                                    "build in the build stage and copy only the venv")
        for m in re.finditer(r"pip\s+(install|wheel)\b[^&;|]*", i.args):
            if "--no-cache-dir" not in m.group(0):
                findings.append(f"pip-no-cache: line {i.line}: pip {m.group(1)} without --no-cache-dir")

    env: dict[str, str] = {}
    for i in final.instructions:
        if i.keyword == "ENV":
            env.update(_env(i))
    if env.get("PYTHONDONTWRITEBYTECODE") != "1":
        findings.append("runtime-env: the final stage does not set PYTHONDONTWRITEBYTECODE=1 "
                        "(Lambda's file system is read-only outside /tmp)")
    if not env.get("ALPHA_ENGINE_HOME", "").startswith("/tmp/"):
        findings.append("runtime-env: the final stage's ALPHA_ENGINE_HOME is not under /tmp/ "
                        "(Lambda's only writable directory), got "
                        f"{env.get('ALPHA_ENGINE_HOME')!r}")
    return findings
