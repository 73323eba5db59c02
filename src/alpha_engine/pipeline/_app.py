"""A pipeline app: a stage graph with its resources wired, as the composition root builds it.

The framework knows no domain. The composition root (:mod:`alpha_engine.app`) imports every
domain, lays their stages out in a :class:`StageGraph`, says how each :class:`Resource` opens
from the settings, what run date a run gets when none is given and which run dates it refuses
(``PipelineApp.check_run_date``, asked before anything runs); that bundle is a
:class:`PipelineApp`. The settings name it as ``[pipeline] app = "module:attribute"``
(:func:`load_app`), so tests can run the framework on a graph of their own.

:meth:`PipelineApp.check_settings` is the load-time validation of everything the graph owns:
every ``[stages.<slug>]`` section against its stage's ``Options`` model (an unknown section or
key is an error naming the file and the field), then the app's own checks (data providers).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from alpha_engine.config import ConfigError, Settings

from ._errors import StageDefinitionError
from ._graph import StageGraph
from ._resources import ARTIFACTS, Resource, Resources, Wiring
from ._stage import Stage

if TYPE_CHECKING:
    from alpha_engine.store import ArtifactStore, WriteFence

__all__ = ["PipelineApp", "load_app"]


def _today(settings: Settings, today: date) -> date:
    return today


def _any_run_date(day: date, now: datetime) -> list[str]:
    return []


@dataclass(frozen=True)
class PipelineApp:
    """The graph, how its resources open, and the run-date policy.

    ``default_run_date(settings, today)`` is the run date of a run started without one.
    ``check_run_date(day, now)`` is the run-date policy, asked before a run or a stage starts:
    it returns warnings (one line each) and raises :class:`RunDateError` for a date it refuses;
    ``now`` is a timezone-aware instant, passed in so tests never read the wall clock. The
    default accepts every date.
    ``settings_checks`` validate the parts of the settings the app's domains own (each raises
    ConfigError naming the file and the field).
    """

    graph: StageGraph
    resources: Mapping[Resource[Any], Wiring]
    default_run_date: Callable[[Settings, date], date] = _today
    check_run_date: Callable[[date, datetime], list[str]] = _any_run_date
    settings_checks: tuple[Callable[[Settings], None], ...] = ()

    def __post_init__(self) -> None:
        if ARTIFACTS not in self.resources:
            raise StageDefinitionError("a pipeline app must wire the artifact store (ARTIFACTS)")
        for stage in self.graph.stages():
            missing = [r.name for r in stage.requires if r not in self.resources]
            if missing:
                raise StageDefinitionError(f"{stage.name} requires {', '.join(missing)}, which the app does not wire")

    # -- settings ----------------------------------------------------------------------------

    def check_settings(self, settings: Settings) -> None:
        """Validate the stage sections and the domains' settings (ConfigError naming file and field)."""
        where = str(settings.source) if settings.source is not None else "settings"
        slugs = {stage.slug for stage in self.graph.stages()}
        for section in settings.stages:
            if section not in slugs:
                raise ConfigError(f"{where}: stages.{section}: no stage {section!r} in the {self.graph.title} "
                                  f"pipeline; stages: {', '.join(sorted(slugs))}")
        for stage in self.graph.stages():
            self.stage_options(settings, stage)
        for check in self.settings_checks:
            check(settings)

    def stage_options(self, settings: Settings, stage: type[Stage[Any]]) -> BaseModel:
        """The stage's typed options from its ``[stages.<slug>]`` section (defaults when absent)."""
        try:
            return stage.Options.model_validate(settings.stage_options(stage.slug))
        except ValidationError as exc:
            where = str(settings.source) if settings.source is not None else "settings"
            problems = "; ".join(
                f"stages.{stage.slug}.{'.'.join(str(p) for p in error['loc']) or '(section)'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ConfigError(f"{where}: {problems}") from None

    # -- resources ---------------------------------------------------------------------------

    def open_resources(self, settings: Settings, *, read_only: bool,
                       stage: type[Stage[Any]] | None = None, fence: WriteFence | None = None) -> Resources:
        """The resources one process may open: those ``stage`` requires, or every wired one; each
        writable one honours ``fence``."""
        allowed: Iterable[Resource[Any]] | None = stage.requires if stage is not None else None
        owner = stage.name if stage is not None else ""
        return Resources(self.resources, settings, self.graph.contracts(), read_only=read_only,
                         allowed=allowed, owner=owner, fence=fence)

    def open_artifacts(self, settings: Settings, *, read_only: bool = True) -> ArtifactStore:
        """The artifact store, validating against this graph's contracts."""
        return self.open_resources(settings, read_only=read_only).get(ARTIFACTS)


def load_app(spec: str) -> PipelineApp:
    """Import ``module:attribute`` and check it is a PipelineApp."""
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StageDefinitionError(f"cannot import pipeline app module {module_name!r} ({spec}): {exc}") from exc
    app = getattr(module, attribute, None)
    if not isinstance(app, PipelineApp):
        raise StageDefinitionError(f"{spec} is not a PipelineApp (got {type(app).__name__})")
    return app
