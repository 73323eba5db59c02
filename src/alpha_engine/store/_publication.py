"""Staged writes and their publication, by ArcticDB snapshots: what readers of the market store see.

A **generation** is one snapshot per library (``universe`` and ``macro``) named
``alpha-engine-published-{N:010d}``. The **published** generation is the highest N whose
snapshot exists in *both* libraries. Readers read ``as_of`` that snapshot, so they see exactly the
symbol versions it names, whatever a writer is doing meanwhile.

A writer writes new live versions of its symbols (they are *staged*: no reader sees them), then
:func:`publish` snapshots the live versions as generation N+1 in each library. Writing the
second snapshot is the commit point: a snapshot is one reference key that ArcticDB writes
atomically, and until both exist the published generation is still N. After the commit every
generation but the new one and the previous one is deleted (a reader that resolved the previous
generation a moment earlier can still finish its read); ArcticDB then drops every version that no
remaining snapshot and no live symbol references, so old versions stay bounded at about two per
symbol.

**Crash safety.** A writer killed at any point before the commit point leaves generation N
published and readable; its staged versions (and a generation N+1 snapshot written to one library
only) are garbage that :func:`discard_unpublished` removes at the start of the next writer session,
before that session's first write: every symbol whose live version differs from the published one
is restored to it (``restore_version``: a new version pointing at the published data, no copy), a
symbol the generation lacks is deleted, and snapshots newer than N are deleted. A writer killed
after the commit point but before pruning leaves extra old generations, which the next publish
prunes.

**Why snapshots.** They are ArcticDB's own consistent multi-symbol view, and every read path takes
``as_of``. Rolling back with ``delete_version`` after a failure needs the failing process alive
to do it (a SIGKILL would leave half a write visible to readers of the latest version); a publish
pointer kept in a symbol of our own would re-implement a snapshot with more moving parts.

ArcticDB refuses a snapshot of a library with no symbol, so each library holds a marker symbol
(:data:`PUBLISH_MARKER`) that every generation includes: an empty store has a published
generation too, and a first run killed halfway leaves an empty store, not half a universe.

A store with no generation at all was written before publication existed (or is being created
right now): readers see its live versions, and the first writer session publishes them as its first
generation before it writes anything (:func:`adopt_live`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from arcticdb.version_store.library import Library

from ._errors import MarketStoreError

__all__ = [
    "PUBLISH_MARKER",
    "SNAPSHOT_PREFIX",
    "adopt_live",
    "discard_unpublished",
    "generations",
    "publish",
    "published_generation",
    "snapshot_name",
]

SNAPSHOT_PREFIX = "alpha-engine-published-"
PUBLISH_MARKER = "__alpha_engine_published__"


def snapshot_name(generation: int) -> str:
    return f"{SNAPSHOT_PREFIX}{generation:010d}"


def generations(library: Library) -> list[int]:
    """The generations with a snapshot in ``library``, ascending (other snapshots are ignored)."""
    names = library.list_snapshots(load_metadata=False)
    found = [name[len(SNAPSHOT_PREFIX):] for name in names if name.startswith(SNAPSHOT_PREFIX)]
    return sorted(int(suffix) for suffix in found if suffix.isdigit())


def published_generation(libraries: Sequence[Library]) -> int | None:
    """The highest generation every library has a snapshot of; None if there is none."""
    common: set[int] | None = None
    for library in libraries:
        found = set(generations(library))
        common = found if common is None else common & found
    return max(common) if common else None


def _live_versions(library: Library) -> dict[str, int]:
    """Symbol -> its latest live version, from the version references.

    ``list_versions(latest_only=True)`` and a snapshot without explicit versions go through ArcticDB's
    symbol-list cache, whose first compaction in a library waits a second for its storage lock;
    listing the version references and reading the versions' metadata does not."""
    symbols = list(library._nvs.list_symbols(use_symbol_list=False))
    items = library.read_metadata_batch(symbols)
    failed = [s for s, item in zip(symbols, items, strict=True) if hasattr(item, "error_code")]
    if failed:
        raise MarketStoreError(f"library '{library.name}': cannot read the latest version of {failed[:5]}")
    return {s: int(item.version) for s, item in zip(symbols, items, strict=True)}


def _marker_frame() -> pd.DataFrame:
    return pd.DataFrame({"published": [1.0]}, index=pd.DatetimeIndex(["2000-01-03"], name="date"))


def _snapshot_all(libraries: Sequence[Library], generation: int, skip: Sequence[str]) -> None:
    for library in libraries:
        if not library.has_symbol(PUBLISH_MARKER):
            library.write(PUBLISH_MARKER, _marker_frame(), prune_previous_versions=True)
    for library in libraries:  # the last of these writes is the commit point
        versions = {s: v for s, v in _live_versions(library).items() if s not in skip}
        library.snapshot(snapshot_name(generation), metadata={"generation": generation}, versions=versions)


def _next_generation(libraries: Sequence[Library]) -> int:
    return max((g for library in libraries for g in generations(library)), default=0) + 1


def adopt_live(libraries: Sequence[Library], *, skip: Sequence[str] = ()) -> int:
    """Publish the live versions as they are (a store with no generation yet); return the generation."""
    generation = _next_generation(libraries)
    _snapshot_all(libraries, generation, skip)
    return generation


def publish(libraries: Sequence[Library], current: int, *, skip: Sequence[str] = ()) -> int:
    """Publish the live versions as the next generation, then delete every generation but it and
    ``current`` (the one it supersedes); return the new generation."""
    generation = _next_generation(libraries)
    _snapshot_all(libraries, generation, skip)
    for library in libraries:
        for old in generations(library):
            if old not in (generation, current):
                library.delete_snapshot(snapshot_name(old))
    return generation


def discard_unpublished(libraries: Sequence[Library], generation: int) -> list[str]:
    """Make the live versions those of ``generation`` again and delete newer snapshots; return the
    ``library/symbol`` names changed (empty when nothing was staged since the publish)."""
    name = snapshot_name(generation)
    changed: list[str] = []
    for library in libraries:
        published = {key.symbol: key.version for key in library.list_versions(snapshot=name)}
        live = _live_versions(library)
        for symbol in sorted(set(published) | set(live)):
            if published.get(symbol) == live.get(symbol):
                continue
            if symbol in published:
                library._nvs.restore_version(symbol, as_of=name)  # no public Library API yet; no data copy
                library.prune_previous_versions(symbol)
            else:
                library.delete(symbol)
            changed.append(f"{library.name}/{symbol}")
        for newer in generations(library):
            if newer > generation:
                library.delete_snapshot(snapshot_name(newer))
    return changed
