"""A damaged market store for the tests of its one-line error (store and CLI tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_MAKE_MARKET_STORE = """
import sys
import pandas as pd
from alpha_engine.data import FEATURE_ORDER
from alpha_engine.store import MarketStore
store = MarketStore("lmdb://" + sys.argv[1], feature_columns=FEATURE_ORDER)
frame = pd.DataFrame({"Close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2022-01-03", "2022-01-04"], name="date"))
with store.writer():
    store.ensure_libraries()
    store.upsert_many({"AAA": frame, "BBB": frame})
"""


def make_damaged_market_store(directory: Path, damage: str) -> None:
    """A market store holding AAA and BBB, built in another process (so no LMDB environment of
    this process maps its files), then damaged as ``damage`` says: ``<library>:garbage`` overwrites
    that library's data.mdb with garbage, ``<library>:truncated`` cuts it to 100 bytes."""
    subprocess.run([sys.executable, "-c", _MAKE_MARKET_STORE, str(directory)], check=True, timeout=300)
    library, how = damage.split(":")
    data = directory / library / "data.mdb"
    data.write_bytes(b"not an LMDB file " * 4096 if how == "garbage" else data.read_bytes()[:100])
