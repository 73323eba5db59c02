"""Resources: the named, external things a stage uses (stores, the operator notifier, later databases
and indexes).

A :class:`Resource` is a typed name. The composition root wires each resource (:class:`Wiring`):
how it opens from the settings, and how to probe it cheaply (reachable, readable, without
opening it or importing its client library). A stage lists the resources its preflight checks in
``requires``: before the stage's own preflight the runner probes each one. For one stage process
the runner builds a :class:`Resources` registry: each resource opens lazily on first use,
read-only under a preflight-only run, and a stage can reach only the resources it declared (plus
the artifact store every stage writes its health marker to, and the metrics store the runner
writes its heartbeat to), so ``requires`` is always the truth.
A registry may carry a write fence (:class:`~alpha_engine.store.WriteFence`): every resource it
opens gets it, so a stage attempt that is no longer current cannot publish anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._errors import StageDefinitionError

if TYPE_CHECKING:
    from alpha_engine.config import Settings
    from alpha_engine.store import ArtifactStore, Contracts, MarketStore, MetricsStore, WriteFence

    from ._notifier import Notifier

__all__ = ["ARTIFACTS", "MARKET", "METRICS", "NOTIFICATIONS", "Opener", "Probe", "Resource", "Resources", "Wiring"]

T = TypeVar("T")


class Resource(Generic[T]):
    """A named resource of type ``T``; the name appears in errors and ``alpha-engine stages``."""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description

    def __repr__(self) -> str:
        return f"Resource({self.name!r})"


# How a resource opens: (settings, read_only, the graph's contract table, the write fence or None)
# -> the resource; a resource that can be written honours the fence.
Opener = Callable[["Settings", bool, "Contracts", "WriteFence | None"], Any]
# A cheap, read-only check that a resource is usable; raises an error naming what is wrong.
Probe = Callable[["Settings"], None]


@dataclass(frozen=True)
class Wiring:
    """How one resource opens, and how to probe it without opening it (None: nothing to probe)."""

    open: Opener
    probe: Probe | None = None

ARTIFACTS: Resource[ArtifactStore] = Resource(
    "artifacts", "the artifact store (settings.artifacts_uri): every stage's outputs and health marker")
MARKET: Resource[MarketStore] = Resource(
    "market", "the ArcticDB market store (settings.data.market_store_uri): daily bars and features")
NOTIFICATIONS: Resource[Notifier] = Resource(
    "notifications", "operator notifications to settings.pipeline.sns_topic_arn (locally: the workspace's outbox)")
METRICS: Resource[MetricsStore] = Resource(
    "metrics", "the metrics store (locally <workspace>/metrics.db): heartbeats and stage metrics")


class Resources:
    """The resources of one stage process, opened on first use and cached."""

    def __init__(self, wiring: Mapping[Resource[Any], Wiring], settings: Settings, contracts: Contracts, *,
                 read_only: bool, allowed: Iterable[Resource[Any]] | None = None, owner: str = "",
                 fence: WriteFence | None = None) -> None:
        self._wiring = dict(wiring)
        self._settings = settings
        self._contracts = contracts
        self.read_only = read_only
        self.fence = fence
        self._allowed = None if allowed is None else {ARTIFACTS, METRICS, *allowed}
        self._owner = owner
        self._open: dict[Resource[Any], Any] = {}

    def get(self, resource: Resource[T]) -> T:
        """The opened resource (StageDefinitionError if it is not wired or not declared)."""
        if resource in self._open:
            return cast(T, self._open[resource])
        value = self._wired(resource).open(self._settings, self.read_only, self._contracts, self.fence)
        self._open[resource] = value
        return cast(T, value)

    def wired(self, resource: Resource[Any]) -> bool:
        """Whether the pipeline app wires ``resource`` (the runner's heartbeat needs METRICS wired)."""
        return resource in self._wiring

    def probe(self, resource: Resource[Any]) -> None:
        """Run the resource's probe (cheap and read-only; raises naming what is wrong)."""
        probe = self._wired(resource).probe
        if probe is not None:
            probe(self._settings)

    def _wired(self, resource: Resource[Any]) -> Wiring:
        if self._allowed is not None and resource not in self._allowed:
            raise StageDefinitionError(
                f"{self._owner or 'this stage'} uses resource {resource.name!r} but does not list it in "
                "'requires'")
        wiring = self._wiring.get(resource)
        if wiring is None:
            raise StageDefinitionError(f"resource {resource.name!r} is not wired by the pipeline app "
                                       f"(wired: {', '.join(sorted(r.name for r in self._wiring)) or 'none'})")
        return wiring
