"""Where a market store lives, and whether it looks usable: answered from the URI and the file
system, without importing ArcticDB (a light stage's preflight probes the store this way)."""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import MarketStoreError

__all__ = ["ARCTIC_CONFIG_DIR", "lmdb_directory", "probe_market_store"]

ARCTIC_CONFIG_DIR = "_arctic_cfg"  # what ArcticDB creates in an LMDB directory it owns


def lmdb_directory(uri: str) -> Path | None:
    """The directory of an ``lmdb://`` URI, parsed as ArcticDB does (None for any other scheme)."""
    if not uri.startswith("lmdb://"):
        return None
    return Path(os.path.abspath(uri[len("lmdb://"):].split("?", 1)[0]))


def probe_market_store(uri: str) -> None:
    """Raise :class:`MarketStoreError` if the store at ``uri`` cannot be what it claims.

    A local store that does not exist yet is fine (DataPhase1 creates it); one that exists must be
    a readable directory that ArcticDB owns (or an empty one). A remote store is not probed: that
    needs a connection, which the stage opens when it reads.
    """
    if "://" not in uri:
        raise MarketStoreError(f"market store {uri!r}: not an ArcticDB URI like 'lmdb:///abs/path'")
    directory = lmdb_directory(uri)
    if directory is None or not directory.exists():
        return
    if not directory.is_dir():
        raise MarketStoreError(f"market store {uri}: {directory} is not a directory")
    if not os.access(directory, os.R_OK | os.X_OK):
        raise MarketStoreError(f"market store {uri}: {directory} is not readable")
    if any(directory.iterdir()) and not (directory / ARCTIC_CONFIG_DIR).is_dir():
        raise MarketStoreError(f"market store {uri}: {directory} holds files but no ArcticDB store "
                               f"(no {ARCTIC_CONFIG_DIR}/): is data.market_store_uri pointing at the right place?")
