"""Resources: the named, external things a stage uses (stores, later databases and indexes).

A :class:`Resource` is a typed name. The composition root wires each resource to an
:data:`Opener` (how to open it from the settings); a stage lists the resources its preflight
checks in ``requires``. For one stage process the runner builds a :class:`Resources` registry:
each resource opens lazily on first use, read-only under a preflight-only run, and a stage can
reach only the resources it declared (plus the artifact store every stage writes its health
marker to), so ``requires`` is always the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._errors import StageDefinitionError

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.store import ArtifactStore, Contracts, MarketStore

__all__ = ["ARTIFACTS", "MARKET", "Opener", "Resource", "Resources"]

T = TypeVar("T")


class Resource(Generic[T]):
    """A named resource of type ``T``; the name appears in errors and ``alpha-engine stages``."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description

    def __repr__(self) -> str:
        return f"Resource({self.name!r})"


# How a resource opens: (settings, read_only, the graph's contract table) -> the resource.
Opener = Callable[["Settings", bool, "Contracts"], Any]

ARTIFACTS: Resource[ArtifactStore] = Resource(
    "artifacts", "the artifact store (settings.artifacts_uri): every stage's outputs and health marker")
MARKET: Resource[MarketStore] = Resource(
    "market", "the ArcticDB market store (settings.data.market_store_uri): daily bars and features")


class Resources:
    """The resources of one stage process, opened on first use and cached."""

    def __init__(self, openers: Mapping[Resource[Any], Opener], settings: Settings, contracts: Contracts, *,
                 read_only: bool, allowed: Iterable[Resource[Any]] | None = None, owner: str = "") -> None:
        self._openers = dict(openers)
        self._settings = settings
        self._contracts = contracts
        self.read_only = read_only
        self._allowed = None if allowed is None else {ARTIFACTS, *allowed}
        self._owner = owner
        self._open: dict[Resource[Any], Any] = {}

    def get(self, resource: Resource[T]) -> T:
        """The opened resource (StageDefinitionError if it is not wired or not declared)."""
        if resource in self._open:
            return cast(T, self._open[resource])
        if self._allowed is not None and resource not in self._allowed:
            raise StageDefinitionError(
                f"{self._owner or 'this stage'} uses resource {resource.name!r} but does not list it in "
                "'requires'")
        opener = self._openers.get(resource)
        if opener is None:
            raise StageDefinitionError(f"resource {resource.name!r} is not wired by the pipeline app "
                                       f"(wired: {', '.join(sorted(r.name for r in self._openers)) or 'none'})")
        value = opener(self._settings, self.read_only, self._contracts)
        self._open[resource] = value
        return cast(T, value)

    def opened(self) -> list[str]:
        """Names of the resources opened so far."""
        return [resource.name for resource in self._open]
