"""The stage contract: what every unit of pipeline work declares and implements.

A stage is a class. Its declaration (class attributes) is what the composer, the runner and
the graph checks need:

* ``name`` (the state name, ``DataPhase1``), ``slug`` (``data-phase1``), ``failure_class``,
  ``compute``, ``timeout_seconds``, ``description``;
* its typed options: ``class Scanner(Stage[ScannerOptions])`` makes ``Scanner.Options`` the
  pydantic model of its ``[stages.scanner]`` config section (validated when the config loads);
  a stage with no options is a ``Stage[NoOptions]``;
* ``requires``: the external resources its preflight checks (:class:`Resource`);
* ``consumes``: artifacts of stages upstream in the graph (an :class:`Artifact`, or
  :func:`optional` of one when the stage works without it);
* ``produces``: its own artifacts, declared in its package, written by every successful run;
* ``updates``: artifacts it writes only when a decision calls for it (the configuration the
  Evaluator applies or rolls back, cross-week state), possibly declared in the package of the
  domain that owns their contents (``config/executor_params.json`` is the backtest domain's).
  Their contracts join the graph's table; no stage can consume them (they carry state from one
  week's run to the next, read by key), and the health check does not expect them every run;
* ``skip_family``: empty, or the slug of the family whose one skip flag covers this stage
  (``skip_family = "backtester"``: ``skip_backtester`` skips it); :meth:`Stage.skip_flag` names the
  flag either way;
* ``receives_execution_input``: True for a stage that needs the execution's input: its call
  carries ``$$.Execution.Input``, its context ``ctx.skipped`` (the stages the input skips,
  ``skip_<slug>``: the health check tells a skipped stage from one that failed or never ran) and
  ``ctx.execution_input`` (the input as given, for a control field of its own, such as the regime
  stages' ``regime_action``). It is the input the caller gave, before ``InitializeInput`` and
  ``ApplyShellRunDefaults`` merge their values into the state: a stage reads its field with its own
  default, and a shell run reaches it as ``ctx.preflight_only``.

Its two methods are what the stage runner calls:

* ``preflight(ctx)``: fast and read-only. Raises :class:`PreflightError` naming what is missing.
  Under a shell run it is the only thing that runs, with the resources opened read-only; a
  consumed artifact an upstream stage has not produced yet is then *pending*
  (``ctx.is_pending(artifact)``), and the preflight checks everything else.
* ``run(ctx)``: does the work and returns a :class:`StageOutcome` (or None).

A stage class is stateless: ``__init__`` takes nothing, options arrive typed in ``ctx.options``.

Stage modules stay light: they import the framework, pydantic and their own declarations at
module level and their domain's heavy code (pandas, ArcticDB, LightGBM) inside ``preflight`` and
``run``, so loading the graph never imports more than the stage that runs needs.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from alpha_engine.store import Artifact

from ._errors import PreflightError, StageDefinitionError
from ._resources import ARTIFACTS, Resource, Resources

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.store import ArtifactStore

    from ._graph import StageGraph

__all__ = [
    "Compute",
    "Consumption",
    "FailureClass",
    "NoOptions",
    "Stage",
    "StageContext",
    "StageOutcome",
    "check_stage_class",
    "optional",
]

_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
MAX_TIMEOUT_SECONDS = 24 * 3600

OptionsT = TypeVar("OptionsT", bound=BaseModel)
T = TypeVar("T")


class FailureClass(StrEnum):
    """What a failure of the stage does to the run."""

    HARD = "hard"  # the run notifies and fails
    SOFT = "soft"  # the error is recorded at $.<slug>_error and the run goes on


class Compute(StrEnum):
    """Where the stage runs on AWS (and which local binding runs it)."""

    LAMBDA = "lambda"  # light: arn:aws:states:::lambda:invoke
    BATCH = "batch"  # heavy: arn:aws:states:::batch:submitJob.sync


class NoOptions(BaseModel):
    """The options of a stage that has none: its config section, if any, must be empty."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Consumption:
    """An artifact a stage reads from an upstream stage; ``required=False`` if it works without."""

    artifact: Artifact
    required: bool = True


def optional(artifact: Artifact) -> Consumption:
    """Declare a consumed artifact the stage can do without (it reads it when present)."""
    return Consumption(artifact, required=False)


def consumption(item: Artifact | Consumption) -> Consumption:
    return item if isinstance(item, Consumption) else Consumption(item)


@dataclass(frozen=True)
class StageOutcome:
    """What a run reports: a small JSON summary and human-readable warnings."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageContext(Generic[OptionsT]):
    """Everything a stage may depend on. Domain code takes time and randomness from here."""

    run_date: date
    options: OptionsT
    settings: Settings
    resources: Resources
    graph: StageGraph
    now: Callable[[], datetime]
    seed: int
    logger: logging.LoggerAdapter[logging.Logger]
    preflight_only: bool
    # Consumed artifacts an upstream stage has not produced yet (shell run only):
    # key pattern -> "<key> from <producer>".
    pending: Mapping[str, str] = field(default_factory=dict)
    # Slugs of the stages this execution's input skips (``skip_<slug>: true``, or the stage's family
    # flag, ``Stage.skip_flag``); known only to a stage
    # that declares ``receives_execution_input`` (empty otherwise, and when run outside an execution).
    skipped: frozenset[str] = frozenset()
    # The execution's input as the caller gave it, for a stage that declares
    # ``receives_execution_input`` (empty otherwise, and when run outside an execution).
    execution_input: Mapping[str, Any] = field(default_factory=dict)

    @property
    def artifacts(self) -> ArtifactStore:
        return self.resources.get(ARTIFACTS)

    def resource(self, resource: Resource[T]) -> T:
        """A resource this stage lists in ``requires`` (the artifact store is always there)."""
        return self.resources.get(resource)

    def key(self, artifact: Artifact, **fields: str) -> str:
        """The artifact's key for this run (``{date}`` is run_date)."""
        return artifact.format(self.run_date, **fields)

    def is_pending(self, artifact: Artifact) -> bool:
        """Whether ``artifact`` is consumed but not produced yet (a shell run ahead of a real one)."""
        return artifact.key in self.pending

    def input_flag(self, name: str) -> bool:
        """A true/false control field of the execution input, such as upstream's ``research_dry``
        (False when absent; only a stage that declares ``receives_execution_input`` sees the input).
        Any other value is a PreflightError naming the field."""
        value = self.execution_input.get(name, False)
        if not isinstance(value, bool):
            raise PreflightError(f"execution input {name} must be true or false, got {value!r}")
        return value


class Stage(ABC, Generic[OptionsT]):
    """Base class of every stage (see module docstring)."""

    name: ClassVar[str]  # state name, e.g. 'DataPhase1'
    slug: ClassVar[str]  # 'data-phase1': CLI, logs, health marker, skip flag skip_data_phase1 (see skip_flag)
    failure_class: ClassVar[FailureClass]
    compute: ClassVar[Compute]
    timeout_seconds: ClassVar[int]
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions
    requires: ClassVar[tuple[Resource[Any], ...]] = ()
    consumes: ClassVar[tuple[Artifact | Consumption, ...]] = ()
    produces: ClassVar[tuple[Artifact, ...]] = ()
    updates: ClassVar[tuple[Artifact, ...]] = ()
    receives_execution_input: ClassVar[bool] = False
    # The slug of a family of stages one skip flag covers (upstream's skip_backtester skips the whole
    # backtest family); empty: the stage's own skip_<slug>. A family's members are consecutive steps;
    # only the first has a skip gate, which skips the whole family.
    skip_family: ClassVar[str] = ""
    # The slug of a family whose flag skips this stage too, though it keeps its own flag and gate; it
    # directly follows the family (upstream's skip_backtester skips Parity as well).
    skipped_with: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Stage):  # Stage[X], PollingStage[X], ...
                (model,) = get_args(base)
                if isinstance(model, type) and issubclass(model, BaseModel):
                    cls.Options = model

    @classmethod
    def snake(cls) -> str:
        """The slug as an identifier: the suffix of ``skip_*``, ``*_error`` and ``*_result``."""
        return cls.slug.replace("-", "_")

    @classmethod
    def skip_flag(cls) -> str:
        """The execution input's flag that skips this stage: ``skip_<slug>``, or ``skip_<family>``
        for a stage of a family (``skip_family``), as an identifier (``-`` as ``_``)."""
        return "skip_" + (cls.skip_family or cls.slug).replace("-", "_")

    @classmethod
    def skip_flags(cls) -> tuple[str, ...]:
        """Every execution-input flag that skips this stage: :meth:`skip_flag`, and the flag of the
        family it is ``skipped_with``."""
        extra = ("skip_" + cls.skipped_with.replace("-", "_"),) if cls.skipped_with else ()
        return (cls.skip_flag(), *extra)

    @classmethod
    def consumptions(cls) -> tuple[Consumption, ...]:
        return tuple(consumption(item) for item in cls.consumes)

    @abstractmethod
    def preflight(self, ctx: StageContext[OptionsT]) -> None:
        """Check, read-only and fast, that ``run`` can work; raise PreflightError if not."""

    @abstractmethod
    def run(self, ctx: StageContext[OptionsT]) -> StageOutcome | None:
        """Do the stage's work."""


def check_stage_class(stage: type[Stage[Any]]) -> None:
    """Raise StageDefinitionError if ``stage`` does not declare the contract fully and validly."""
    where = getattr(stage, "__qualname__", repr(stage))
    if not (isinstance(stage, type) and issubclass(stage, Stage)):
        raise StageDefinitionError(f"{where} is not a Stage subclass")
    for attribute in ("name", "slug", "failure_class", "compute", "timeout_seconds"):
        if not hasattr(stage, attribute):
            raise StageDefinitionError(f"stage {where} does not declare {attribute!r}")
    if not _NAME.match(stage.name):
        raise StageDefinitionError(f"stage {where}: name {stage.name!r} must be CamelCase letters and digits")
    if not _SLUG.match(stage.slug):
        raise StageDefinitionError(f"stage {where}: slug {stage.slug!r} must be lowercase words joined by '-'")
    if not isinstance(stage.failure_class, FailureClass):
        raise StageDefinitionError(f"stage {where}: failure_class must be a FailureClass")
    if not isinstance(stage.compute, Compute):
        raise StageDefinitionError(f"stage {where}: compute must be a Compute")
    timeout = stage.timeout_seconds
    if not (isinstance(timeout, int) and 0 < timeout <= MAX_TIMEOUT_SECONDS):
        raise StageDefinitionError(
            f"stage {where}: timeout_seconds must be an int in 1..{MAX_TIMEOUT_SECONDS}, got {timeout!r}"
        )
    options = stage.Options
    if not (isinstance(options, type) and issubclass(options, BaseModel)):
        raise StageDefinitionError(f"stage {where}: Options must be a pydantic model class")
    if options.model_config.get("extra") != "forbid":
        raise StageDefinitionError(f"stage {where}: Options must forbid unknown keys (extra='forbid')")
    if not (isinstance(stage.requires, tuple) and all(isinstance(r, Resource) for r in stage.requires)):
        raise StageDefinitionError(f"stage {where}: requires must be a tuple of Resource")
    if not (isinstance(stage.consumes, tuple)
            and all(isinstance(c, Artifact | Consumption) for c in stage.consumes)):
        raise StageDefinitionError(f"stage {where}: consumes must be a tuple of Artifact (or optional(Artifact))")
    if not (isinstance(stage.produces, tuple) and all(isinstance(a, Artifact) for a in stage.produces)):
        raise StageDefinitionError(f"stage {where}: produces must be a tuple of Artifact")
    if not (isinstance(stage.updates, tuple) and all(isinstance(a, Artifact) for a in stage.updates)):
        raise StageDefinitionError(f"stage {where}: updates must be a tuple of Artifact")
    if not (isinstance(stage.skip_family, str) and (stage.skip_family == "" or _SLUG.match(stage.skip_family))):
        raise StageDefinitionError(f"stage {where}: skip_family {stage.skip_family!r} must be '' or a slug "
                                   "(lowercase words joined by '-')")
    if not (isinstance(stage.skipped_with, str) and (stage.skipped_with == "" or _SLUG.match(stage.skipped_with))):
        raise StageDefinitionError(f"stage {where}: skipped_with {stage.skipped_with!r} must be '' or a slug "
                                   "(lowercase words joined by '-')")
    if stage.skipped_with and stage.skip_family:
        raise StageDefinitionError(f"stage {where}: a stage of family {stage.skip_family!r} cannot also be skipped_with "
                                   f"{stage.skipped_with!r}")
    if not isinstance(stage.receives_execution_input, bool):
        raise StageDefinitionError(f"stage {where}: receives_execution_input must be a bool")
    keys = [artifact.key for artifact in (*stage.produces, *stage.updates)]
    if len(set(keys)) != len(keys):
        raise StageDefinitionError(f"stage {where}: produces and updates list an artifact twice")
    if getattr(stage, "__abstractmethods__", None):
        missing = ", ".join(sorted(stage.__abstractmethods__))
        raise StageDefinitionError(f"stage {where} does not implement {missing}")
    from ._polling import PollingStage, PollLoop

    if issubclass(stage, PollingStage):
        if not isinstance(stage.poll_loop, PollLoop):
            raise StageDefinitionError(f"stage {where}: poll_loop must be a PollLoop")
        if stage.compute is not Compute.LAMBDA or stage.failure_class is not FailureClass.SOFT:
            raise StageDefinitionError(f"stage {where}: a polling stage is soft and lambda-class (a Batch job would "
                                       "hold a container through the whole wait; a hard one would need a failure "
                                       "route from every phase)")
