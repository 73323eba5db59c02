"""The stage graph: which stages run, in which order, and which run side by side.

A graph is a sequence of steps; a step is a stage class or a :class:`ParallelGroup` of
branches, each branch a sequence of stage classes. Branches of a group must not depend on each
other's outputs: they run concurrently and never throw (see :mod:`._compose`).

Building a graph checks it: every stage declaration is valid, names and slugs are unique, and
every artifact a stage consumes is produced upstream of it (by an earlier step, or earlier in
the same branch; never by a sibling branch), or by the framework itself (health markers).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from alpha_engine.store import Artifact, Contracts

from ._artifacts import FRAMEWORK_ARTIFACTS
from ._errors import StageDefinitionError, UnknownStageError
from ._stage import Stage, check_stage_class

__all__ = ["Branch", "ParallelGroup", "StageGraph", "Step"]

_LABEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_FRAMEWORK = "the stage runner"


@dataclass(frozen=True)
class Branch:
    """One branch of a parallel group: a label (CamelCase) and its stages in order."""

    label: str
    stages: tuple[type[Stage[Any]], ...]


@dataclass(frozen=True)
class ParallelGroup:
    """Data-independent branches that run concurrently; ``name`` is the Parallel state's name."""

    name: str
    branches: tuple[Branch, ...]


Step = type[Stage[Any]] | ParallelGroup


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
        self._check_families(self.steps)
        for group in self.groups():
            for branch in group.branches:
                self._check_families(branch.stages)
        self._check_producers()
        self.contracts()  # two declarations of one key with different schemas fail here

    def _check_families(self, steps: tuple[Any, ...]) -> None:
        """A family's members are consecutive steps of one sequence (its one gate skips them all), and a
        stage ``skipped_with`` a family directly follows it (or another stage skipped with it)."""
        seen: dict[str, int] = {}
        for i, step in enumerate(steps):
            if isinstance(step, ParallelGroup):
                continue
            family = step.skip_family
            if family:
                if family in seen and seen[family] != i - 1:
                    raise StageDefinitionError(f"graph {self.title!r}: {step.name} is of family {family!r}, whose "
                                               "members must be consecutive steps (one skip gate covers them)")
                seen[family] = i
            if step.skipped_with:
                previous = steps[i - 1] if i > 0 else None
                if isinstance(previous, ParallelGroup) or previous is None or step.skipped_with not in (
                        previous.skip_family, previous.skipped_with):
                    raise StageDefinitionError(f"graph {self.title!r}: {step.name} is skipped_with family "
                                               f"{step.skipped_with!r} but does not directly follow it")

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

    def _check_producers(self) -> None:
        """Every consumed artifact comes from upstream (see module docstring)."""
        producers = self.producers()
        available = {artifact.key for artifact in FRAMEWORK_ARTIFACTS}

        def consume(stage: type[Stage[Any]], seen: set[str], sibling: set[str]) -> None:
            for item in stage.consumptions():
                key = item.artifact.key
                if key in seen:
                    continue
                producer = producers.get(key)
                if producer is None:
                    why = "no stage in the graph produces it"
                elif key in sibling:
                    why = f"{producer} produces it in a sibling parallel branch, which runs concurrently"
                else:
                    why = f"{producer} produces it, but runs after {stage.name}"
                raise StageDefinitionError(f"graph {self.title!r}: {stage.name} consumes {key!r}, but {why}")

        for step in self.steps:
            if isinstance(step, ParallelGroup):
                produced_here = {a.key for branch in step.branches for s in branch.stages for a in s.produces}
                added: set[str] = set()
                for branch in step.branches:
                    seen = set(available)
                    own = {a.key for s in branch.stages for a in s.produces}
                    for stage in branch.stages:
                        consume(stage, seen, produced_here - own)
                        seen |= {a.key for a in stage.produces}
                    added |= own
                available |= added
            else:
                consume(step, available, set())
                available |= {a.key for a in step.produces}

    def stages(self) -> list[type[Stage[Any]]]:
        """Every stage, in execution order (branches in declaration order)."""
        return list(self._walk())

    def _walk(self) -> Iterator[type[Stage[Any]]]:
        for step in self.steps:
            if isinstance(step, ParallelGroup):
                for branch in step.branches:
                    yield from branch.stages
            else:
                yield step

    def stage(self, slug: str) -> type[Stage[Any]]:
        """The stage with ``slug``; UnknownStageError listing the known slugs otherwise."""
        for stage in self._walk():
            if slug in (stage.slug, stage.name):
                return stage
        known = ", ".join(s.slug for s in self._walk()) or "(none)"
        raise UnknownStageError(f"no stage {slug!r} in the {self.title} pipeline; known stages: {known}")

    def groups(self) -> list[ParallelGroup]:
        return [step for step in self.steps if isinstance(step, ParallelGroup)]

    def producers(self) -> dict[str, str]:
        """Artifact key pattern -> the name of the stage that produces it (framework artifacts too)."""
        out = {artifact.key: _FRAMEWORK for artifact in FRAMEWORK_ARTIFACTS}
        for stage in self._walk():
            for artifact in (*stage.produces, *stage.updates):
                if artifact.key in out:
                    raise StageDefinitionError(
                        f"graph {self.title!r}: {stage.name} and {out[artifact.key]} both produce {artifact.key!r}")
                out[artifact.key] = stage.name
        return out

    def describe(self) -> list[dict[str, Any]]:
        """Each stage's declaration, in run order, as ``alpha-engine stages`` shows it."""
        producers = self.producers()
        rows = []
        for stage in self._walk():
            rows.append({
                "name": stage.name, "slug": stage.slug, "failure_class": stage.failure_class.value,
                "compute": stage.compute.value, "timeout_seconds": stage.timeout_seconds,
                "description": stage.description,
                "requires": [resource.name for resource in stage.requires],
                "consumes": [{"artifact": c.artifact.key, "from": producers[c.artifact.key], "required": c.required}
                             for c in stage.consumptions()],
                "produces": [artifact.key for artifact in stage.produces],
                **({"updates": [artifact.key for artifact in stage.updates]} if stage.updates else {}),
                "options": stage.Options.model_json_schema().get("properties", {}),
            })
        return rows

    def artifacts(self) -> list[Artifact]:
        """Every artifact the graph's runs write: the framework's, then each stage's (``produces``,
        then ``updates``), in order."""
        return [*FRAMEWORK_ARTIFACTS, *(a for stage in self._walk() for a in (*stage.produces, *stage.updates))]

    def contracts(self) -> Contracts:
        """The contract table an artifact store opened for this graph validates JSON against."""
        return Contracts(self.artifacts())
