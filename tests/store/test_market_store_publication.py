"""Staged writes and publication: readers see only published generations, a failed or killed writer
leaves the previous one readable, the next writer discards what it left, and old versions stay bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from market_test_support import BACKENDS, expire_lease, market_uri, stored_state

from alpha_engine.store import MarketStoreLockedError
from alpha_engine.store._market_store import MarketStore
from alpha_engine.store._publication import PUBLISH_MARKER, SNAPSHOT_PREFIX, snapshot_name

FEATURES = ("f_alpha",)


def frame(periods: int = 5, *, level: float = 10.0) -> pd.DataFrame:
    index = pd.bdate_range("2022-01-03", periods=periods, name="date")
    return pd.DataFrame({"Close": np.linspace(level, level + 1.0, periods), "source": "polygon",
                         "f_alpha": np.float32(0.5)}, index=index)


def view(store: MarketStore) -> dict[str, object]:
    """Everything a reader sees."""
    return {"tickers": store.tickers(), "macro": store.macro_symbols(), "last": store.last_dates(),
            "macro_last": store.macro_last_dates(),
            "closes": {t: f["Close"].tolist() for t, f in store.read_many().items()},
            "macro_closes": {s: f["Close"].tolist() for s, f in store.read_macro().items()}}


@pytest.fixture(params=BACKENDS)
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store with AAPL, MSFT and SPY, published: in LMDB, and on S3 (the moto server)."""
    store = MarketStore(market_uri(request.param, tmp_path), feature_columns=FEATURES)
    with store.writer():
        store.ensure_libraries()
        store.upsert_many({"AAPL": frame(), "MSFT": frame(level=20.0)})
        store.upsert_macro("SPY", frame()[["Close"]])
    return store.uri


def reader(uri: str) -> MarketStore:
    return MarketStore(uri, feature_columns=FEATURES, read_only=True)


def test_readers_see_a_session_s_writes_only_once_it_ends(uri: str) -> None:
    before = view(reader(uri))
    writer = MarketStore(uri, feature_columns=FEATURES)
    with writer.writer():
        writer.upsert_many({"AAPL": frame(7), "NVDA": frame(level=30.0)})
        writer.upsert_macro("SPY", frame(6)[["Close"]])
        assert view(reader(uri)) == before  # staged: another reader sees the published generation
        assert writer.tickers() == ["AAPL", "MSFT", "NVDA"]  # the writer reads what it staged
    after = view(reader(uri))
    assert after["tickers"] == ["AAPL", "MSFT", "NVDA"] and after["last"]["AAPL"] == date(2022, 1, 11)
    assert after["macro_last"] == {"SPY": date(2022, 1, 10)}


def test_a_session_that_raises_publishes_nothing_and_the_next_discards_its_writes(uri: str) -> None:
    before = view(reader(uri))
    generation = reader(uri).published_generation()
    writer = MarketStore(uri, feature_columns=FEATURES)
    with pytest.raises(RuntimeError, match="halfway"), writer.writer():
        writer.upsert_many({"AAPL": frame(9), "NVDA": frame(level=30.0)})
        raise RuntimeError("halfway")
    assert view(reader(uri)) == before and reader(uri).published_generation() == generation
    with writer.writer():
        writer.upsert("MSFT", frame(6, level=20.0))  # the first write discards the failed session's
        assert writer.tickers() == ["AAPL", "MSFT"]
        assert writer.read("AAPL")["Close"].tolist() == frame()["Close"].tolist()
    after = view(reader(uri))
    assert after["tickers"] == ["AAPL", "MSFT"] and after["closes"]["AAPL"] == before["closes"]["AAPL"]  # type: ignore[index]
    assert after["last"]["MSFT"] == date(2022, 1, 10)  # type: ignore[index]


def test_a_session_that_changes_nothing_leaves_the_store_byte_identical(uri: str) -> None:
    before = stored_state(uri)
    writer = MarketStore(uri, feature_columns=FEATURES)
    with writer.writer():
        writer.ensure_libraries()
        assert {r.mode for r in writer.upsert_many({"AAPL": frame(), "MSFT": frame(level=20.0)})} == {"unchanged"}
    with writer.writer():
        pass
    assert stored_state(uri) == before


def test_old_versions_and_generations_stay_bounded(uri: str) -> None:
    writer = MarketStore(uri, feature_columns=FEATURES)
    for week in range(6):
        with writer.writer():
            writer.upsert_many({"AAPL": frame(6 + week), "MSFT": frame(level=20.0 + week)})
            writer.upsert_macro("SPY", frame(6 + week)[["Close"]])
    for name in (MarketStore.UNIVERSE, MarketStore.MACRO):
        library = writer._library(name)
        published = [s for s in library.list_snapshots(load_metadata=False) if s.startswith(SNAPSHOT_PREFIX)]
        assert len(published) == 2  # the published generation and the one it superseded
        for symbol in library.list_symbols():
            assert len(library.list_versions(symbol)) <= 2, (name, symbol)
    assert reader(uri).read("MSFT")["Close"].iloc[0] == 25.0


def test_a_half_written_generation_is_not_published_and_is_discarded(uri: str) -> None:
    writer = MarketStore(uri, feature_columns=FEATURES)
    generation = writer.published_generation()
    assert generation is not None
    before = view(reader(uri))
    with writer.writer():  # a publish killed between its two snapshots: universe has the next one
        writer.upsert("AAPL", frame(8))
        writer._library(MarketStore.UNIVERSE).snapshot(snapshot_name(generation + 1))
        writer._staged = False  # ... and the process died before the macro snapshot
    assert view(reader(uri)) == before and reader(uri).published_generation() == generation
    with writer.writer():
        writer.upsert("MSFT", frame(level=20.0))  # unchanged, but the first write cleans up
    snapshots = [sorted(writer._library(name).list_snapshots(load_metadata=False))
                 for name in (MarketStore.UNIVERSE, MarketStore.MACRO)]
    assert snapshots[0] == snapshots[1]  # the half generation is gone; the next publish is whole
    assert view(reader(uri)) == before


def test_a_store_written_before_publication_is_read_live_and_adopted(tmp_path: Path) -> None:
    import arcticdb

    root = tmp_path / "legacy"
    library = arcticdb.Arctic(f"lmdb://{root}").get_library("universe", create_if_missing=True)
    arcticdb.Arctic(f"lmdb://{root}").get_library("macro", create_if_missing=True)
    store = MarketStore(f"lmdb://{root}", feature_columns=FEATURES)
    with store.writer():
        store.ensure_libraries()
    assert store.published_generation() == 1 and store.tickers() == []
    # an older store: symbols written without any snapshot
    library.write("AAPL", MarketStore(f"lmdb://{root}", feature_columns=FEATURES)._library("universe")
                  .read(PUBLISH_MARKER).data)
    for name in ("universe", "macro"):
        lib = store._library(name)
        for snap in lib.list_snapshots(load_metadata=False):
            lib.delete_snapshot(snap)
    assert store.published_generation() is None and store.tickers() == ["AAPL"]  # read live
    with store.writer():
        store.upsert("MSFT", frame())  # the first write publishes what is there first
        store.upsert("MSFT", frame())
    assert reader(store.uri).tickers() == ["AAPL", "MSFT"] and store.published_generation() == 2


# A writer process that stages one ticker at a time and, after two, reports and blocks: it is then
# SIGKILLed mid-write, as by the OOM killer or a stopped container.
KILLED_WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np, pandas as pd
    from alpha_engine.store._market_store import MarketStore
    uri, ready = sys.argv[1], sys.argv[2]
    store = MarketStore(uri, feature_columns=["f_alpha"])
    index = pd.bdate_range("2022-01-03", periods=9, name="date")
    with store.writer():
        for n, ticker in enumerate(["AAPL", "MSFT", "NVDA", "TSLA"]):
            store.upsert(ticker, pd.DataFrame({"Close": np.full(9, 99.0), "source": "x",
                                               "f_alpha": np.float32(1.0)}, index=index))
            if n == 1:
                open(ready, "w").close()
                time.sleep(600)
""")


def test_a_writer_killed_mid_write_leaves_the_previous_generation_readable(uri: str, tmp_path: Path) -> None:
    before = view(reader(uri))
    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, uri, str(ready)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the writer never got halfway"
            time.sleep(0.1)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert view(reader(uri)) == before
    writer = MarketStore(uri, feature_columns=FEATURES)
    if uri.startswith("s3://"):  # the dead writer's lease holds until it expires (flock dies with its holder)
        with pytest.raises(MarketStoreLockedError, match=f"pid {child.pid}, until"):
            writer.writer().__enter__()
        expire_lease(uri)
    with writer.writer():  # the next writer: its first write discards the killed one's
        writer.upsert("MSFT", frame(6, level=20.0))
    after = view(reader(uri))
    assert after["tickers"] == ["AAPL", "MSFT"] and after["closes"]["AAPL"] == before["closes"]["AAPL"]  # type: ignore[index]
