"""MarketStore's single-writer lock and read-only mode."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alpha_engine.store import MarketStoreError, MarketStoreLockedError, ReadOnlyMarketStoreError
from alpha_engine.store._market_store import MarketStore
from alpha_engine.store._writer_lock import LOCK_FILE_NAME, WriterLock

FEATURES = ("f_alpha",)

# Tries to take the writer lock from another process; prints the outcome.
CHILD = textwrap.dedent("""
    import sys
    from alpha_engine.store import MarketStoreLockedError
    from alpha_engine.store._market_store import MarketStore
    store = MarketStore(sys.argv[1])
    try:
        with store.writer():
            print("acquired")
    except MarketStoreLockedError as exc:
        print("locked:", exc)
""")


def frame(periods: int = 5) -> pd.DataFrame:
    index = pd.bdate_range("2022-01-03", periods=periods, name="date")
    return pd.DataFrame({"Close": np.linspace(10.0, 11.0, periods), "source": "polygon",
                         "f_alpha": np.float32(0.5)}, index=index)


def data_files(root: Path) -> dict[str, str]:
    # lock.mdb is LMDB's reader table (touched by every read); the rest is data
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock.mdb"}


def try_lock_in_child(uri: str) -> str:
    done = subprocess.run([sys.executable, "-c", CHILD, uri], capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stdout.strip()


@pytest.fixture()
def filled(tmp_path: Path) -> tuple[str, Path]:
    """A store with one ticker and one macro series; the writer lock released."""
    root = tmp_path / "arcticdb"
    store = MarketStore(f"lmdb://{root}", feature_columns=FEATURES)
    with store.writer():
        store.ensure_libraries()
        store.upsert("AAPL", frame())
        store.upsert_macro("SPY", frame()[["Close"]])
    return f"lmdb://{root}", root


WRITES: dict[str, Callable[[MarketStore], object]] = {
    "ensure_libraries": lambda s: s.ensure_libraries(),
    "upsert": lambda s: s.upsert("AAPL", frame()),
    "upsert_many": lambda s: s.upsert_many({"AAPL": frame()}),
    "upsert_macro": lambda s: s.upsert_macro("SPY", frame()),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_write_requires_the_writer_lock(filled: tuple[str, Path], write: str) -> None:
    store = MarketStore(filled[0], feature_columns=FEATURES)
    with pytest.raises(MarketStoreError, match="not holding the writer lock"):
        WRITES[write](store)


def test_the_lock_is_reentrant_and_released_at_the_outermost_exit(filled: tuple[str, Path]) -> None:
    store = MarketStore(filled[0], feature_columns=FEATURES)
    with store.writer():
        with store.writer():
            store.upsert("AAPL", frame(6))
        store.upsert("AAPL", frame(7))  # still held
    with pytest.raises(MarketStoreError, match="not holding the writer lock"):
        store.upsert("AAPL", frame(8))


def test_another_process_is_refused_while_the_lock_is_held(filled: tuple[str, Path]) -> None:
    uri, root = filled
    store = MarketStore(uri, feature_columns=FEATURES)
    with store.writer():
        outcome = try_lock_in_child(uri)
        assert outcome.startswith("locked:")
        assert str(root / LOCK_FILE_NAME) in outcome
        assert f"held by pid {os.getpid()}" in outcome
    assert try_lock_in_child(uri) == "acquired"


def test_a_second_store_object_in_this_process_is_refused(filled: tuple[str, Path]) -> None:
    first = MarketStore(filled[0], feature_columns=FEATURES)
    second = MarketStore(filled[0], feature_columns=FEATURES)
    with first.writer():
        with pytest.raises(MarketStoreLockedError, match=f"held by pid {os.getpid()}"):
            second.writer().__enter__()
    with second.writer():
        pass


def test_the_holder_pid_is_cleared_on_release(filled: tuple[str, Path]) -> None:
    uri, root = filled
    store = MarketStore(uri, feature_columns=FEATURES)
    with store.writer():
        assert (root / LOCK_FILE_NAME).read_text().strip() == str(os.getpid())
    assert (root / LOCK_FILE_NAME).read_text() == ""


def test_a_remote_store_lock_other_than_s3_is_process_local() -> None:
    # S3 stores take a lease object instead (test_market_store_s3.py).
    first, second = WriterLock("mem://t1", None), WriterLock("mem://t1", None)
    other = WriterLock("mem://t2", None)
    assert first.lease is None
    with first:
        with pytest.raises(MarketStoreLockedError, match="process-local"):
            second.acquire()
        with other:  # another store: its own lock
            pass
    with second:
        assert second.held


# -- read-only --------------------------------------------------------------------------------------

READ_ONLY_WRITES: dict[str, Callable[[MarketStore], object]] = {
    **WRITES,
    "writer": lambda s: s.writer(),
    "check_writable": lambda s: s.check_writable(),
}


@pytest.mark.parametrize("write", sorted(READ_ONLY_WRITES))
def test_a_read_only_store_refuses_writes_and_creates_nothing(tmp_path: Path, write: str) -> None:
    root = tmp_path / "never"
    store = MarketStore(f"lmdb://{root}", feature_columns=FEATURES, read_only=True)
    with pytest.raises(ReadOnlyMarketStoreError, match="read-only"):
        READ_ONLY_WRITES[write](store)
    assert store.libraries_present() is False
    with pytest.raises(MarketStoreError, match="no store"):
        store.tickers()
    assert not root.exists()


@pytest.mark.parametrize("write", sorted(READ_ONLY_WRITES))
def test_a_read_only_store_refuses_writes_on_an_existing_store(filled: tuple[str, Path], write: str) -> None:
    uri, root = filled
    before = data_files(root)
    store = MarketStore(uri, feature_columns=FEATURES, read_only=True)
    with pytest.raises(ReadOnlyMarketStoreError):
        READ_ONLY_WRITES[write](store)
    assert data_files(root) == before


READ_IN_CHILD = textwrap.dedent("""
    import sys
    from alpha_engine.store._market_store import MarketStore
    store = MarketStore(sys.argv[1], feature_columns=["f_alpha"], read_only=True)
    print(store.tickers(), len(store.read_many()["AAPL"]), store.last_dates(), sorted(store.read_macro()))
""")


def test_a_read_only_store_opened_by_another_process_reads_without_writing(filled: tuple[str, Path]) -> None:
    uri, root = filled
    before = data_files(root)
    # Four readers at once: before MarketStore released its Arctic instances at exit, about one such
    # process in five died by SIGSEGV after its last line (ArcticDB finalizing on a worker thread).
    readers = [subprocess.Popen([sys.executable, "-c", READ_IN_CHILD, uri], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for reader in readers:
        stdout, stderr = reader.communicate(timeout=60)
        assert reader.returncode == 0, (reader.returncode, stdout, stderr)
        assert stdout.strip() == "['AAPL'] 5 {'AAPL': datetime.date(2022, 1, 7)} ['SPY']"
    assert data_files(root) == before


def test_a_read_only_store_reads_without_writing(filled: tuple[str, Path]) -> None:
    uri, root = filled
    before = data_files(root)
    store = MarketStore(uri, feature_columns=FEATURES, read_only=True)
    assert store.libraries_present()
    assert store.tickers() == ["AAPL"] and store.macro_symbols() == ["SPY"]
    assert store.read("AAPL", columns=["Close"])["Close"].tolist() == frame()["Close"].tolist()
    assert list(store.read_many()) == ["AAPL"]
    assert list(store.read_macro()) == ["SPY"]
    assert store.last_dates() == {"AAPL": date(2022, 1, 7)}
    assert store.macro_last_dates() == {"SPY": date(2022, 1, 7)}
    assert data_files(root) == before
