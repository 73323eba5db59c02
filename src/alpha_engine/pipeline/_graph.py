"""The stage graph: which stages run, in which order, and which run side by side.

A graph is a sequence of steps; a step is a stage class or a :class:`ParallelGroup` of
branches, each branch a sequence of stage classes. Branches of a group must not depend on each
other's outputs: they run concurrently and never throw (see :mod:`.compose`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ._errors import StageDefinitionError, UnknownStageError
from ._stage import Stage, check_stage_class

__all__ = ["Branch", "ParallelGroup", "StageGraph", "Step", "load_graph", "parallel"]

_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class Branch:
    """One branch of a parallel group: a label (CamelCase) and its stages in order."""

    label: str
    stages: tuple[type[Stage], ...]


@dataclass(frozen=True)
class ParallelGroup:
    """Data-independent branches that run concurrently; ``name`` is the Parallel state's name."""

    name: str
    branches: tuple[Branch, ...]


Step = type[Stage] | ParallelGroup


@dataclass(frozen=True)
class StageGraph:
    """A named pipeline: ``title`` appears in notifications ("Alpha Engine Saturday Pipeline")."""

    title: str
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        names: set[str] = set()
        slugs: set[str] = set()
        for stage in self.stages():
            check_stage_class(stage)
            if stage.name in names:
                raise StageDefinitionError(f"graph {self.title!r}: two stages are named {stage.name!r}")
            if stage.slug in slugs:
                raise StageDefinitionError(f"graph {self.title!r}: two stages have slug {stage.slug!r}")
            names.add(stage.name)
            slugs.add(stage.slug)
        for step in self.steps:
            if isinstance(step, ParallelGroup):
                self._check_group(step, names)

    def _check_group(self, group: ParallelGroup, stage_names: set[str]) -> None:
        where = f"graph {self.title!r}, parallel group {group.name!r}"
        if not _LABEL.match(group.name) or group.name in stage_names:
            raise StageDefinitionError(f"{where}: the name must be CamelCase and not a stage's name")
        if not group.branches:
            raise StageDefinitionError(f"{where}: has no branches")
        labels = [branch.label for branch in group.branches]
        if len(set(labels)) != len(labels):
            raise StageDefinitionError(f"{where}: branch labels must be unique, got {labels}")
        for branch in group.branches:
            if not _LABEL.match(branch.label):
                raise StageDefinitionError(f"{where}: branch label {branch.label!r} must be CamelCase")
            if not branch.stages:
                raise StageDefinitionError(f"{where}: branch {branch.label!r} has no stages")

    def stages(self) -> list[type[Stage]]:
        """Every stage, in execution order (branches in declaration order)."""
        return list(self._walk())

    def _walk(self) -> Iterator[type[Stage]]:
        for step in self.steps:
            if isinstance(step, ParallelGroup):
                for branch in step.branches:
                    yield from branch.stages
            else:
                yield step

    def stage(self, slug: str) -> type[Stage]:
        """The stage with ``slug``; UnknownStageError listing the known slugs otherwise."""
        for stage in self._walk():
            if stage.slug == slug:
                return stage
        known = ", ".join(s.slug for s in self._walk()) or "(none)"
        raise UnknownStageError(f"no stage {slug!r} in the {self.title} pipeline; known stages: {known}")

    def groups(self) -> list[ParallelGroup]:
        return [step for step in self.steps if isinstance(step, ParallelGroup)]


def parallel(name: str, *branches: Branch) -> ParallelGroup | None:
    """A group of the non-empty branches, or None when no branch has a stage yet."""
    kept = tuple(branch for branch in branches if branch.stages)
    return ParallelGroup(name, kept) if kept else None


def load_graph(spec: str) -> StageGraph:
    """Import ``module:attribute`` and check it is a StageGraph."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StageDefinitionError(f"cannot import stage graph module {module_name!r} ({spec}): {exc}") from exc
    graph = getattr(module, attribute, None)
    if not isinstance(graph, StageGraph):
        raise StageDefinitionError(f"{spec} is not a StageGraph (got {type(graph).__name__})")
    return graph
