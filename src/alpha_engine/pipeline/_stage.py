"""The stage contract: what every unit of pipeline work declares and implements.

A stage is a class. Its declaration (class attributes) is what the composer needs to wire it
into the state machine; its two methods are what the stage runner calls:

* ``preflight(ctx)``: fast and read-only. Raises :class:`PreflightError` naming what is missing.
  Under a shell run it is the only thing that runs, with the stores opened read-only.
* ``run(ctx)``: does the work and returns a :class:`StageOutcome` (or None).

``__init__`` only stores the stage's options (its section of the config file); validation
belongs in ``preflight``/``run``.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from ._errors import StageDefinitionError

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.data import MarketStore
    from alpha_engine.store import ArtifactStore

__all__ = [
    "Compute",
    "FailureClass",
    "Stage",
    "StageContext",
    "StageOutcome",
    "Stores",
    "check_stage_class",
]

_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
MAX_TIMEOUT_SECONDS = 24 * 3600


class FailureClass(StrEnum):
    """What a failure of the stage does to the run."""

    HARD = "hard"  # the run notifies and fails
    SOFT = "soft"  # the error is recorded at $.<slug>_error and the run goes on


class Compute(StrEnum):
    """Where the stage runs on AWS (and which local binding runs it)."""

    LAMBDA = "lambda"  # light: arn:aws:states:::lambda:invoke
    BATCH = "batch"  # heavy: arn:aws:states:::batch:submitJob.sync


@dataclass(frozen=True)
class StageOutcome:
    """What a run reports: a small JSON summary and human-readable warnings."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


class Stores:
    """The stores a stage may use, opened lazily; all read-only under a preflight-only run."""

    def __init__(self, settings: Settings, *, read_only: bool) -> None:
        self.settings = settings
        self.read_only = read_only
        self._artifacts: ArtifactStore | None = None
        self._market: MarketStore | None = None

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from alpha_engine.store import ArtifactStore

            self._artifacts = ArtifactStore(self.settings.artifacts_uri, read_only=self.read_only)
        return self._artifacts

    @property
    def market(self) -> MarketStore:
        """The ArcticDB market store (universe + macro libraries), with the feature columns."""
        if self._market is None:
            from alpha_engine.data import FEATURE_ORDER, MarketStore

            self._market = MarketStore(self.settings.data.market_store_uri, feature_columns=FEATURE_ORDER,
                                       read_only=self.read_only)
        return self._market


@dataclass(frozen=True)
class StageContext:
    """Everything a stage may depend on. Domain code takes time and randomness from here."""

    run_date: date
    settings: Settings
    stores: Stores
    now: Callable[[], datetime]
    seed: int
    logger: logging.LoggerAdapter[logging.Logger]
    preflight_only: bool
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def artifacts(self) -> ArtifactStore:
        return self.stores.artifacts

    @property
    def market(self) -> MarketStore:
        return self.stores.market

    def key(self, pattern: str) -> str:
        """Fill an artifact key pattern: ``{date}`` is run_date (YYYY-MM-DD)."""
        return pattern.format(date=self.run_date.isoformat())


class Stage(ABC):
    """Base class of every stage (see module docstring)."""

    name: ClassVar[str]  # state name, e.g. 'DataPhase1'
    slug: ClassVar[str]  # 'data-phase1': CLI, logs, health marker, skip flag skip_data_phase1
    failure_class: ClassVar[FailureClass]
    compute: ClassVar[Compute]
    timeout_seconds: ClassVar[int]
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ()  # artifact key patterns read ({date} = run_date)
    outputs: ClassVar[tuple[str, ...]] = ()  # artifact key patterns written

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    @classmethod
    def snake(cls) -> str:
        """The slug as an identifier: the suffix of ``skip_*``, ``*_error`` and ``*_result``."""
        return cls.slug.replace("-", "_")

    @abstractmethod
    def preflight(self, ctx: StageContext) -> None:
        """Check, read-only and fast, that ``run`` can work; raise PreflightError if not."""

    @abstractmethod
    def run(self, ctx: StageContext) -> StageOutcome | None:
        """Do the stage's work."""


def check_stage_class(stage: type[Stage]) -> None:
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
    for kind in ("inputs", "outputs"):
        patterns = getattr(stage, kind)
        if not (isinstance(patterns, tuple) and all(isinstance(p, str) and p for p in patterns)):
            raise StageDefinitionError(f"stage {where}: {kind} must be a tuple of artifact key patterns")
    if getattr(stage, "__abstractmethods__", None):
        missing = ", ".join(sorted(stage.__abstractmethods__))
        raise StageDefinitionError(f"stage {where} does not implement {missing}")
