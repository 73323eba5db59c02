"""A source scan for code that reads the wall clock or a random source directly.

Engine code must take time from a :class:`~alpha_engine.sfn.Clock` and entropy from an
:class:`~alpha_engine.sfn.IdSource`, so a seeded run on a fake clock repeats itself exactly. This
module finds the places that do not: it parses Python files (``ast``, so comments, strings and
docstrings never count) and reports every reference to a forbidden function, called or passed
along (``now=datetime.now`` is as much a wall-clock read as ``datetime.now()``).

Forbidden: ``datetime.now`` / ``utcnow`` / ``today``, ``date.today``, ``time.time`` /
``time_ns`` / ``monotonic`` / ``monotonic_ns`` / ``perf_counter`` / ``perf_counter_ns``,
``uuid.uuid1`` / ``uuid4``, ``os.urandom`` / ``getrandom``, every function of the ``random``
module (``random.random``, ``random.choice``...; ``random.Random(seed)`` with a seed is fine, an
unseeded ``random.Random()`` or ``random.SystemRandom`` is not) and everything in ``secrets``.
Imports are followed (``from time import time as now``, ``import datetime as dt``).

The few places that must touch the real sources (the system clock itself, the default seed of an
unseeded ``IdSource``, a real-time bound on a child process) are passed as an explicit allowlist
of ``(file, name)`` pairs, each with its reason next to it in the caller.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ._errors import NondeterminismError

__all__ = ["NondeterminismFinding", "check_determinism", "scan_for_nondeterminism"]

_FORBIDDEN: frozenset[str] = frozenset({
    "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
    "time.time", "time.time_ns", "time.monotonic", "time.monotonic_ns", "time.perf_counter",
    "time.perf_counter_ns",
    "uuid.uuid1", "uuid.uuid4",
    "os.urandom", "os.getrandom",
})
_FORBIDDEN_MODULES = frozenset({"secrets"})
# In ``random``, functions are forbidden; the generator classes are judged by how they are built.
_RANDOM_CLASSES = frozenset({"Random"})
_ALWAYS_UNSEEDED = frozenset({"random.SystemRandom"})


@dataclass(frozen=True, order=True)
class NondeterminismFinding:
    """One direct use of the wall clock or a random source: where, and which function."""

    path: Path
    line: int
    name: str  # the resolved dotted name, e.g. ``datetime.datetime.now``

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: {self.name} reads the wall clock or a random source "
                "(use the engine's Clock / IdSource)")

    def to_error(self) -> NondeterminismError:
        return NondeterminismError(str(self))


def scan_for_nondeterminism(paths: Iterable[str | Path], *,
                            allow: Collection[tuple[str, str]] = ()) -> list[NondeterminismFinding]:
    """Every forbidden reference in the Python files under ``paths`` (files or directories).

    ``allow`` holds ``(file, name)`` pairs that are not reported: ``file`` matches the end of the
    finding's path (``"sfn/_clock.py"``), ``name`` its resolved dotted name
    (``"datetime.datetime.now"``). Findings come back sorted by file and line.
    """
    findings: list[NondeterminismFinding] = []
    for file in sorted(_python_files(paths)):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for line, name in _forbidden_references(tree):
            if not any(file.as_posix().endswith(allowed_file) and name == allowed_name
                       for allowed_file, allowed_name in allow):
                findings.append(NondeterminismFinding(file, line, name))
    return sorted(findings)


def check_determinism(paths: Iterable[str | Path], *, allow: Collection[tuple[str, str]] = ()) -> None:
    """Raise :class:`NondeterminismError` naming every finding, if there is any."""
    findings = scan_for_nondeterminism(paths, allow=allow)
    if findings:
        raise NondeterminismError(f"{len(findings)} direct use(s) of the wall clock or a random source:\n"
                                  + "\n".join(f"  - {finding}" for finding in findings))


def _python_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            yield from path.rglob("*.py")
        elif path.suffix == ".py":
            yield path
        else:
            raise FileNotFoundError(f"not a Python file or a directory: {path}")


def _forbidden_references(tree: ast.Module) -> Iterator[tuple[int, str]]:
    aliases = _import_aliases(tree)
    calls = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
            continue
        name = _resolve(node, aliases)
        if name is None:
            continue
        module, _, attribute = name.rpartition(".")
        call = calls.get(id(node))
        if name in _FORBIDDEN or module in _FORBIDDEN_MODULES or name in _ALWAYS_UNSEEDED:
            yield node.lineno, name
        elif module == "random" and attribute not in _RANDOM_CLASSES and not attribute.startswith("_") \
                and attribute[:1].islower():
            yield node.lineno, name
        elif name == "random.Random" and call is not None and not call.args and not call.keywords:
            yield node.lineno, "random.Random()"


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it stands for, from every import in the file."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _resolve(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression refers to, or None if it does not start at an import."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(parts)])
